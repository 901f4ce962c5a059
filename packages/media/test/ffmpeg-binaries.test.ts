import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../src/ffmpeg/binaries.js';

const BINARIES = fileURLToPath(new URL('../src/ffmpeg/binaries.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'a2i-ffmpeg-path-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** describeFfmpeg() in a fresh process (the choice is cached per process) with the given environment. */
function describeIn(env: Record<string, string>): { source: string; ffmpeg: string; ffprobe: string; version: string; outdated: boolean } {
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

  it("prefers the system's ffmpeg on PATH over the npm build, and says which and its version", () => {
    const system = join(tmp, 'system');
    execFileSync('mkdir', ['-p', system]);
    const ffmpeg = fakeTool(system, 'ffmpeg', 'ffmpeg version 7.1-test');
    const ffprobe = fakeTool(system, 'ffprobe', 'ffprobe version 7.1-test');
    expect(describeIn({ PATH: `${system}${delimiter}/bin` })).toEqual({ source: 'system', ffmpeg, ffprobe, version: 'ffmpeg version 7.1-test', outdated: false });
  });

  it('falls back to the npm build (marked outdated) with no ffmpeg on PATH; FFMPEG_PATH / FFPROBE_PATH win over both', () => {
    const empty = join(tmp, 'empty');
    execFileSync('mkdir', ['-p', empty]);
    const fallback = describeIn({ PATH: empty });
    expect([fallback.source, fallback.outdated]).toEqual(['npm', true]);
    expect(fallback.ffmpeg).toMatch(/@ffmpeg-installer/);
    const chosen = join(tmp, 'chosen');
    execFileSync('mkdir', ['-p', chosen]);
    const ffmpeg = fakeTool(chosen, 'my-ffmpeg', 'ffmpeg version chosen');
    const ffprobe = fakeTool(chosen, 'my-ffprobe', 'ffprobe version chosen');
    expect(describeIn({ PATH: empty, FFMPEG_PATH: ffmpeg, FFPROBE_PATH: ffprobe })).toMatchObject({ source: 'env', version: 'ffmpeg version chosen', outdated: false });
  });
});
