import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../api/test/harness.js';
import { probeMp4, steppedToneWav } from '../../../test/support/video-checks.js';
import { parseCommandLine, videoOutputOf } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ran = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
const outputOf = (args: string[]) => {
  const invocation = parseCommandLine(['video', ...args]);
  if (invocation.kind !== 'run') throw new Error('expected a run');
  return videoOutputOf(invocation.values);
};

describe('a2i video: its flags', () => {
  it('a video of the sound by default, a morph with --morph --duration; --frames asks for the frames', () => {
    expect(outputOf(['--audio', 'a.wav'])).toEqual({ type: 'video', frames: false });
    expect(outputOf(['--audio', 'a.wav', '--fps', '12', '--window', '1', '--hop', '0.25', '--smoothing', '0', '--frames', 'f'])).toEqual({ type: 'video', fps: 12, window: 1, hop: 0.25, smoothing: 0, frames: true });
    expect(outputOf(['--text', 'a', '--text', 'b', '--morph', '--duration', '3'])).toEqual({ type: 'morph', duration: 3, frames: false });
  });

  it('refuses what does not go together, with the usage (exit 2)', async () => {
    expect(() => outputOf(['--text', 'a', '--morph'])).toThrow(/--duration SECONDS with --morph/);
    expect(() => outputOf(['--text', 'a', '--morph', '--duration', '2', '--hop', '1'])).toThrow(/no --hop with --morph/);
    expect(() => outputOf(['--audio', 'a.wav', '--duration', '2'])).toThrow(/--duration only with --morph/);
    const local = await ran(['video', '--audio', 'a.wav', '--local']);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/^a2i: unknown option --local\n\nUsage: a2i video/);
    const help = await ran(['video', '--help']);
    expect(help.stdout).toMatch(/^Usage: a2i video --audio FILE/);
    for (const flag of ['--fps', '--window', '--hop', '--smoothing', '--frames DIR', '--morph', '--out FILE']) expect(help.stdout).toContain(flag);
  });
});

describe('a2i video against a server', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    stack = await startStack({ env: { A2I_SYNTHETIC_STEP_MS: '1' } });
    dir = await mkdtemp(join(tmpdir(), 'a2i-cli-video-'));
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('saves the MP4 (with the sound) and the frames, and prints their paths', async () => {
    const sound = join(dir, 'x.wav');
    await writeFile(sound, steppedToneWav([{ seconds: 1, amplitude: 0.2 }, { seconds: 1, amplitude: 0.5 }]));
    const out = join(dir, 'x.mp4');
    const { code, stdout, stderr } = await ran(['video', '--server', stack.urls[0]!, '--audio', sound, '--text', 'rain@0.3', '--fps', '4', '--steps', '3', '--frames', join(dir, 'frames'), '--out', out]);
    expect([code, stderr]).toEqual([0, '']);
    const saved = stdout.trim().split('\n');
    expect(saved[0]).toBe(out);
    expect(saved).toHaveLength(9);
    expect((await readdir(join(dir, 'frames'))).sort()).toEqual(['0.png', '1.png', '2.png', '3.png', '4.png', '5.png', '6.png', '7.png']);
    const facts = await probeMp4(out);
    expect(facts.video).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', frames: 8 });
    expect(facts.audio?.codec).toBe('aac');
  });

  it('a refused video exits 1 with the server\'s code', async () => {
    const refused = await ran(['video', '--server', stack.urls[0]!, '--text', 'rain', '--out', join(dir, 'none.mp4')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^a2i: VIDEO_NEEDS_AUDIO: /);
  });
});
