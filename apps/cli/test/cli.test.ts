import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, useStack, type Stack } from '../../api/test/harness.js';
import { buildRequest, parseCommandLine, parseInputFlag, parseNeighbors, requestOptionsOf, UsageError } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, A2I_SYNTHETIC_STEP_MS: '1', ...env } });
/** Exit code and output, whether it succeeded or not. */
const ran = (args: string[], env: Record<string, string> = {}) =>
  run(args, env).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

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

describe('cli command line', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await ran(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it("generate --help lists generate's flags, not the other commands'", async () => {
    const help = await ran(['generate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: a2i generate/);
    for (const flag of ['--noise-level', '--preview-every', '--priority', '--scheduler', '--webhook URL', '--webhook-events', '--neighbors', '--local']) expect(help.stdout).toContain(flag);
    expect(help.stdout).not.toContain('--labels');
    expect((await ran(['index', '--help'])).stdout).toMatch(/a2i index add NAME FILE_OR_DIR/);
  });

  it('an unknown flag: "unknown option", the command\'s usage, exit 2, no stack trace', async () => {
    const unknown = await ran(['generate', '--text', 'x', '--foo']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^a2i: unknown option --foo\n\nUsage: a2i generate/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    // a flag of another command is unknown here too; a bad value names the flag
    expect((await ran(['search', 'demo', '--steps', '3'])).stderr).toMatch(/^a2i: unknown option --steps\n\nUsage: a2i search/);
    const bad = await ran(['generate', '--text', 'x', '--priority', 'urgent']);
    expect([bad.code, bad.stderr]).toEqual([2, 'a2i: Expected one of high, normal, low for --priority but received "urgent"\n\na2i generate --help lists the options and their values\n']);
    expect((await ran(['paint'])).stderr).toMatch(/^a2i: unknown command paint\n/);
  });

  it('parses every request option flag into the request', () => {
    const invocation = parseCommandLine(['generate', '--text', 'x', '--webhook', 'https://example.org/hook', '--webhook-events', 'start,completed', '--neighbors', 'birds:8@0.5', '--guidance', '3.5', '--prior', 'off', '--format', 'jpeg']);
    if (invocation.kind !== 'run') throw new Error(`Expected a run but received ${invocation.kind}`);
    expect(requestOptionsOf(invocation.values)).toEqual({
      webhook: { url: 'https://example.org/hook', events: ['start', 'completed'] },
      neighbors: { collection: 'birds', k: 8, weight: 0.5 },
      guidance: 3.5,
      prior: 'off',
      format: 'jpeg',
    });
    expect(parseNeighbors('birds')).toEqual({ collection: 'birds', k: 4, weight: 1 });
    expect(() => parseNeighbors('birds:x')).toThrow(UsageError);
    expect(() => parseCommandLine(['generate', '--steps'])).toThrow(/option --steps <value> needs a value/);
  });

  it('embed --local embeds in this process: no server is asked', async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const { stdout } = await run(['embed', '--local', '--text', 'moss', '--text', 'rain@0.5'], { A2I_SERVER: nowhere });
    const answer = JSON.parse(stdout) as { dim: number; vectors: number[][]; combined: number[] };
    expect(answer.vectors).toHaveLength(2);
    expect(answer.combined).toHaveLength(answer.dim);
    // the weighted sum of the two (the pack may rescale it: compared by direction)
    const sum = answer.vectors[0]!.map((value, i) => value + 0.5 * answer.vectors[1]![i]!);
    const dot = (a: number[], b: number[]) => a.reduce((total, value, i) => total + value * b[i]!, 0);
    expect(dot(sum, answer.combined) / Math.sqrt(dot(sum, sum) * dot(answer.combined, answer.combined))).toBeCloseTo(1, 5);
    // without --local the same command names the server it could not reach
    const away = await ran(['embed', '--text', 'moss'], { A2I_SERVER: nowhere });
    expect([away.code, away.stderr]).toEqual([1, `a2i: cannot reach the server at ${nowhere} (ECONNREFUSED); is it running? Start it with \`npm start\`, or point --server or $A2I_SERVER at it\n`]);
  }, 60_000);

  it('the bin: `npx a2i --help` from the repository root', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'a2i', '--help'], { cwd: ROOT });
    expect(stdout).toMatch(/^Usage: a2i <command>/);
  }, 60_000);
});

describe('cli request options reach the job', () => {
  const api = useStack({ env: { A2I_API_KEYS: 'cli-key' } });

  it('--scheduler euler --noise-level 2 --priority low are in the job', async () => {
    const out = await mkdtemp(join(tmpdir(), 'a2i-cli-flags-'));
    try {
      const { stdout } = await run(['generate', '--server', api.url, '--api-key', 'cli-key', '--text', 'moss', '--steps', '2', '--scheduler', 'euler', '--noise-level', '2', '--priority', 'low', '--out', out]);
      const id = /([\w-]+)-0\.png$/.exec(stdout.trim())?.[1];
      const status = (await (await fetch(`${api.url}/v1/generations/${id}`, { headers: { authorization: 'Bearer cli-key' } })).json()) as { status: string; request: Record<string, unknown> };
      expect(status.status).toBe('succeeded');
      expect(status.request).toMatchObject({ scheduler: 'euler', noiseLevel: 2, priority: 'low' });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
