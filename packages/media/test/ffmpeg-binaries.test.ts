import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../src/ffmpeg/binaries.js';

const BINARIES = fileURLToPath(new URL('../src/ffmpeg/binaries.ts', import.meta.url));
const INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'a2i-ffmpeg-path-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** describeFfmpeg() in a fresh process (the choice is cached per process) with the given environment. */
function describeIn(env: Record<string, string>): Record<string, unknown> {
  const script = `import { describeFfmpeg } from ${JSON.stringify(BINARIES)}; console.log(JSON.stringify(describeFfmpeg()));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { HOME: process.env.HOME ?? '/tmp', NODE_PATH: process.env.NODE_PATH ?? '', ...env },
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** A fake executable that prints `line` for -version. */
function fakeTool(dir: string, name: string, line: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "${line}"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('which ffmpeg the decoders run', () => {
  it('findOnPath: the first executable of that name on PATH, not a file that cannot run', () => {
    const first = join(tmp, 'first');
    const second = join(tmp, 'second');
    for (const dir of [first, second]) execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(first, 'tool'), 'not executable');
    const runnable = fakeTool(second, 'tool', 'tool 1');
    expect(findOnPath('tool', [first, second].join(delimiter))).toBe(runnable);
    expect(findOnPath('missing', [first, second].join(delimiter))).toBeUndefined();
  });

  it("uses the system's ffmpeg on PATH, and says which and its version", () => {
    const system = join(tmp, 'system');
    execFileSync('mkdir', ['-p', system]);
    const ffmpeg = fakeTool(system, 'ffmpeg', 'ffmpeg version 7.1-test');
    const ffprobe = fakeTool(system, 'ffprobe', 'ffprobe version 7.1-test');
    expect(describeIn({ PATH: `${system}${delimiter}/bin` })).toEqual({ available: true, source: 'system', ffmpeg, ffprobe, version: 'ffmpeg version 7.1-test' });
  });

  it('FFMPEG_PATH / FFPROBE_PATH win over PATH', () => {
    const system = join(tmp, 'system');
    const chosen = join(tmp, 'chosen');
    execFileSync('mkdir', ['-p', chosen]);
    const ffmpeg = fakeTool(chosen, 'my-ffmpeg', 'ffmpeg version chosen');
    const ffprobe = fakeTool(chosen, 'my-ffprobe', 'ffprobe version chosen');
    expect(describeIn({ PATH: `${system}${delimiter}/bin`, FFMPEG_PATH: ffmpeg, FFPROBE_PATH: ffprobe }))
      .toEqual({ available: true, source: 'env', ffmpeg, ffprobe, version: 'ffmpeg version chosen' });
  });

  it('with no ffmpeg there is no fallback: the start log says why, a video upload is refused with MEDIA_NEEDS_FFMPEG and audio still decodes', () => {
    const empty = join(tmp, 'empty');
    execFileSync('mkdir', ['-p', empty]);
    expect(describeIn({ PATH: empty })).toEqual({ available: false, source: 'none', reason: expect.stringMatching(/no ffmpeg.*install ffmpeg.*FFMPEG_PATH/) });
    // an MP4's first box (ftyp isom) is enough for the sniffer; ffprobe is never reached
    const mp4 = [0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')];
    const limits = { maxUploadBytes: 1 << 20, maxAudioSeconds: 60, maxPixels: 1 << 20 };
    const script = `import { inspectUpload } from ${JSON.stringify(INDEX)};
      const results = [];
      for (const [bytes, modality] of [[new Uint8Array(${JSON.stringify(mp4)}), 'video'], [new Uint8Array(${JSON.stringify(mp4)}), 'audio'], [new Uint8Array(${JSON.stringify([...wav()])}), 'audio']]) {
        try { const r = await inspectUpload(bytes, modality, ${JSON.stringify(limits)}); results.push(r.format); }
        catch (error) { results.push(error.code); }
      }
      console.log(JSON.stringify(results));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', env: { HOME: process.env.HOME ?? '/tmp', NODE_PATH: process.env.NODE_PATH ?? '', PATH: empty }, timeout: 60_000,
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual(['MEDIA_NEEDS_FFMPEG', 'MEDIA_NEEDS_FFMPEG', 'wav']);
  });
});

/** 0.1 s of silence as a 16 kHz mono 16-bit WAV. */
function wav(): Buffer {
  const samples = 1600;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + 2 * samples, 4); header.write('WAVE', 8);
  header.write('fmt ', 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24); header.writeUInt32LE(32000, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(2 * samples, 40);
  return Buffer.concat([header, Buffer.alloc(2 * samples)]);
}
