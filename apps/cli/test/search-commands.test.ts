import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStack } from '../../api/test/harness.js';
import { formatTable, parseKeyValues } from '../src/index.js';

// `a2i index | search | classify` against a real api + worker running the REAL demo pack.
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const SAMPLES = join(DEMO, 'samples');
const NAMES = ['sea-bell', 'meadow-boop', 'desert-buzz', 'night-chirp', 'meadow-sparkle'];
const PLACE_LABELS: Record<string, string> = { sea: 'in the sea', meadow: 'on the meadow', desert: 'in the desert', night: 'under the night sky' };

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
const run = (args: string[]): Promise<Ran> =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
/** The id column of a printed table (after the header and the rule). */
const idsOf = (table: string) =>
  table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.split(/\s{2,}/));

describe('cli helpers', () => {
  it('reads k=v pairs: booleans, plain decimals as numbers, the rest as strings', () => {
    expect(parseKeyValues(['a=1', 'b=-2.5', 'c=007', 'd=true', 'e=x=y', 'f='], 'metadata')).toEqual({ a: 1, b: -2.5, c: '007', d: true, e: 'x=y', f: '' });
    expect(() => parseKeyValues(['nokey'], 'filter')).toThrow(/key=value for --filter/);
    expect(formatTable(['id', 'score'], [['a', '1.0000'], ['longer', '0.5']])).toBe('id      score\n------  ------\na       1.0000\nlonger  0.5');
  });
});

describe('a2i index, search and classify on the demo pack', () => {
  // 4 files per request: the 10 samples go in 3 ingest jobs
  const api = useStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false', A2I_MAX_UPLOAD_FILES: '4' } });
  let tmp: string;
  let dir: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-cli-index-'));
    dir = join(tmp, 'samples');
    await mkdir(dir);
    for (const name of NAMES) {
      await copyFile(join(SAMPLES, `${name}.wav`), join(dir, `${name}.wav`));
      await copyFile(join(SAMPLES, `${name}.png`), join(dir, `${name}.png`));
    }
    // a caption: text, left out without --text-files
    await copyFile(join(SAMPLES, 'sea-bell.txt'), join(dir, 'sea-bell.txt'));
  }, 60_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('index create, add a folder (batched), add it again (all skipped), resume after a loss, list', async () => {
    const created = await run(['index', 'create', 'demo-samples', '--description', 'the demo samples', '--server', api.url]);
    expect(created).toMatchObject({ code: 0, stdout: 'created demo-samples (demo, 128-d)\n' });

    const first = await run(['index', 'add', 'demo-samples', dir, '--metadata', 'source=demo', '--server', api.url]);
    expect(first.stdout).toBe('demo-samples: stored 10, already there 0, failed 0, left out 1 (not media)\n');
    expect(first.stderr).toMatch(/skipping .*sea-bell\.txt: a text file \(--text-files/);
    expect(first.code).toBe(0);
    const item = (await (await fetch(`${api.url}/v1/collections/demo-samples/items/sea-bell.png`)).json()) as { modality: string; metadata: unknown };
    expect(item).toMatchObject({ modality: 'image', metadata: { source: 'demo' } });
    expect(((await (await fetch(`${api.url}/v1/collections/demo-samples/items/sea-bell.wav`)).json()) as { modality: string }).modality).toBe('audio');

    const again = await run(['index', 'add', 'demo-samples', dir, '--server', api.url, '--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as { skipped: string[]; stored: string[]; failed: unknown[] };
    expect(report.stored).toEqual([]);
    expect(report.skipped.sort()).toEqual(NAMES.flatMap((n) => [`${n}.png`, `${n}.wav`]).sort());

    // an item lost (as after an interrupted run): only it is sent again
    expect((await fetch(`${api.url}/v1/collections/demo-samples/items/night-chirp.wav`, { method: 'DELETE' })).status).toBe(204);
    const resumed = await run(['index', 'add', 'demo-samples', dir, '--metadata', 'source=demo', '--server', api.url]);
    expect(resumed.stdout).toBe('demo-samples: stored 1, already there 9, failed 0, left out 1 (not media)\n');

    const listed = await run(['index', 'list', '--server', api.url, '--json']);
    expect((JSON.parse(listed.stdout) as { collections: Array<{ name: string; count: number }> }).collections).toContainEqual(
      expect.objectContaining({ name: 'demo-samples', count: 10, description: 'the demo samples' }),
    );
    const table = await run(['index', 'list', '--server', api.url]);
    expect(idsOf(table.stdout).find((row) => row[0] === 'demo-samples')?.[1]).toBe('10');
  }, 120_000);

  it('index add: an item that does not decode fails alone (exit 1, named), the others are stored', async () => {
    const broken = join(tmp, 'broken');
    await mkdir(broken);
    await copyFile(join(SAMPLES, 'sea-bell.png'), join(broken, 'good.png'));
    // a PNG whose header is whole but whose pixels are cut off: refused by the worker, per item
    await writeFile(join(broken, 'cut.png'), (await readFile(join(SAMPLES, 'sea-bell.png'))).subarray(0, 120));
    // a WAV header over noise: refused by the api before queueing, for the whole request
    const wav = await readFile(join(SAMPLES, 'sea-bell.wav'));
    await writeFile(join(broken, 'noise.wav'), Buffer.concat([wav.subarray(0, 12), Buffer.alloc(64, 7)]));
    expect((await run(['index', 'create', 'broken', '--server', api.url])).code).toBe(0);
    const added = await run(['index', 'add', 'broken', broken, '--server', api.url]);
    expect(added.code).toBe(1);
    expect(added.stdout).toBe('broken: stored 1, already there 0, failed 2, left out 0 (not media)\n');
    expect(added.stderr).toMatch(new RegExp(`failed ${join(broken, 'cut.png')}: (IMAGE|MEDIA)_`));
    expect(added.stderr).toMatch(new RegExp(`failed ${join(broken, 'noise.wav')}: \\w+: .*items\\.\\d`));
    expect((await run(['index', 'rm', 'broken', '--server', api.url])).code).toBe(0);
  }, 60_000);

  it("search by a sample sound prints its own image first (table and --json)", async () => {
    for (const name of NAMES) {
      const { stdout, code } = await run(['search', 'demo-samples', '--audio', join(SAMPLES, `${name}.wav`), '--modality', 'image', '-k', '3', '--server', api.url]);
      expect(code).toBe(0);
      expect(stdout.split('\n')[0]).toMatch(/^#\s+id\s+score\s+modality\s+metadata$/);
      const rows = idsOf(stdout);
      expect(rows).toHaveLength(3);
      expect([name, rows[0]![1], rows[0]![3], rows[0]![4]]).toEqual([name, `${name}.png`, 'image', 'source=demo']);
    }
    const json = await run(['search', 'demo-samples', '--audio', join(SAMPLES, 'sea-bell.wav'), '--filter', 'source=demo', '-k', '10', '--json', '--server', api.url]);
    const answer = JSON.parse(json.stdout) as { results: Array<{ id: string; score: number; media?: string }> };
    expect(answer.results).toHaveLength(10);
    // the sound itself is stored too: it is its own nearest item
    expect(answer.results[0]!.id).toBe('sea-bell.wav');
    expect(answer.results.find((r) => r.id === 'sea-bell.png')?.media).toBe('/v1/collections/demo-samples/items/sea-bell.png/media');
    const scores = answer.results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  }, 120_000);

  it("classify prints the sound's place first, probabilities summing to 1 (--json)", async () => {
    const index = JSON.parse(await readFile(join(SAMPLES, 'index.json'), 'utf8')) as Array<{ name: string; scene: { place: string } }>;
    const labels = Object.values(PLACE_LABELS).join(',');
    for (const name of ['sea-bell', 'desert-buzz']) {
      const place = index.find((s) => s.name === name)!.scene.place;
      const table = await run(['classify', '--audio', join(SAMPLES, `${name}.wav`), '--labels', labels, '--server', api.url]);
      expect(table.code).toBe(0);
      const rows = idsOf(table.stdout);
      expect([name, rows[0]![0]]).toEqual([name, PLACE_LABELS[place]]);
      expect(rows[0]![1]).toMatch(/^\d+\.\d%$/);
    }
    const json = await run(['classify', '--audio', join(SAMPLES, 'night-chirp.wav'), '--labels', labels, '--json', '--server', api.url]);
    const answer = JSON.parse(json.stdout) as { labels: Array<{ label: string; probability: number }>; logitScaleSource: string };
    expect(answer.labels[0]!.label).toBe(PLACE_LABELS.night);
    expect(answer.labels.reduce((sum, l) => sum + l.probability, 0)).toBeCloseTo(1, 6);
    expect(answer.logitScaleSource).toBe('text-postprocess');
  }, 120_000);

  it('errors a person can act on: the unreachable URL, the missing path, the unknown collection; index rm', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const away = await run(['index', 'list', '--server', `http://127.0.0.1:${port}`]);
    expect(away.code).toBe(1);
    expect(away.stderr).toBe(`a2i: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED); is it running? Start it with \`npm start\`, or point --server or $A2I_SERVER at it\n`);
    const missing = await run(['search', 'demo-samples', '--audio', join(tmp, 'nope.wav'), '--server', api.url]);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, `a2i: No such file for --audio: ${join(tmp, 'nope.wav')}`]);
    const missingDir = await run(['index', 'add', 'demo-samples', join(tmp, 'nowhere'), '--server', api.url]);
    expect([missingDir.code, missingDir.stderr.trim()]).toEqual([1, `a2i: No such file or directory: ${join(tmp, 'nowhere')}`]);
    const unknown = await run(['index', 'add', 'nope', dir, '--server', api.url]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/COLLECTION_NOT_FOUND/)]);
    const removed = await run(['index', 'rm', 'demo-samples', '--server', api.url]);
    expect([removed.code, removed.stdout]).toEqual([0, 'removed demo-samples\n']);
    expect((await fetch(`${api.url}/v1/collections/demo-samples`)).status).toBe(404);
  }, 60_000);
});
