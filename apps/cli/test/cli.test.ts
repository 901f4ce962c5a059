import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../api/test/harness.js';
import { buildRequest, parseInputFlag } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, A2I_SYNTHETIC_STEP_MS: '1', ...env } });

describe('cli request building', () => {
  it('reads weights after @ and names file parts by modality and order', () => {
    expect(parseInputFlag('audio', 'dog.wav@0.7')).toEqual({ modality: 'audio', value: 'dog.wav', weight: 0.7 });
    expect(parseInputFlag('text', 'mail@home')).toEqual({ modality: 'text', value: 'mail@home', weight: 1 });
    expect(() => parseInputFlag('smell', 'x')).toThrow(/modality/);
    const built = buildRequest(
      [parseInputFlag('audio', '/a/dog.wav'), parseInputFlag('text', 'rain@-0.5'), parseInputFlag('embedding', 'v.json@2')],
      { steps: 5 },
      () => [1, 2],
    );
    expect(built.request).toEqual({
      steps: 5,
      inputs: [
        { modality: 'audio', file: 'audio-0', weight: 1 },
        { modality: 'text', text: 'rain', weight: -0.5 },
        { modality: 'embedding', vector: [1, 2], weight: 2 },
      ],
    });
    expect(built.files).toEqual([{ part: 'audio-0', path: '/a/dog.wav', filename: 'dog.wav' }]);
  });
});

describe('cli against a server and locally', () => {
  let stack: Stack;
  let out: string;
  beforeAll(async () => {
    stack = await startStack();
    out = await mkdtemp(join(tmpdir(), 'a2i-cli-test-'));
  });
  afterAll(async () => {
    await stack?.close();
    await rm(out, { recursive: true, force: true });
  });

  it('generate: uploads a file, follows the job, saves the image', async () => {
    const photo = join(out, 'photo.png');
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3a7' } }).png().toFile(photo);
    const { stdout } = await run(['generate', '--server', stack.urls[0]!, '--image', `${photo}@0.8`, '--text', 'moss@0.2', '--steps', '4', '--out', out]);
    const saved = stdout.trim().split('\n');
    expect(saved).toHaveLength(1);
    expect((await sharp(saved[0]!).metadata()).format).toBe('png');
  });

  it('generate --local: the same pipeline in-process, no server', async () => {
    const { stdout } = await run(['generate', '--local', '--text', 'moss', '--steps', '3', '--seed', '4', '--format', 'webp', '--out', out]);
    expect(stdout.trim()).toBe(join(out, 'local-4-0.webp'));
    expect((await sharp(stdout.trim()).metadata()).format).toBe('webp');
  });

  it('embed prints the vectors; a refused request exits 1 with its code', async () => {
    const vector = join(out, 'v.json');
    await writeFile(vector, JSON.stringify(Array.from({ length: 128 }, (_, i) => (i === 5 ? 1 : 0))));
    const { stdout } = await run(['embed', '--server', stack.urls[0]!, '--embedding', `${vector}@3`]);
    expect(JSON.parse(stdout).combined[5]).toBe(3);
    const failed = await run(['generate', '--server', stack.urls[0]!, '--text', 'x', '--steps', '100000']).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/LIMIT_EXCEEDED/);
  });
});
