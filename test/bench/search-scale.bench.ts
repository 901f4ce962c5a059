/**
 * Search at scale (issue #13), side by side in one run:
 *
 *   npx tsx test/bench/search-scale.bench.ts [--rows 100000[,1000000]] [--dim 1024] [--queries 50]
 *                                           [--http-rows 100000] [--http-runs 100] [--skip-http] [--json PATH]
 *
 * 1. Scale, per `--rows` (default 100,000 and 1,000,000: about 12 minutes on an idle 2-core
 *    machine, most of it the 80 exact scans of 5 s at 1M; a size whose vectors would not fit
 *    the free disk of the temp dir, or the free memory, is skipped with a note). `dim`-d unit vectors from
 *    test/bench/planted-vectors.ts: iid random directions with planted groups of 10
 *    near-duplicates (cos ~0.90 to their query), so a planted query's true top-10 is known.
 *    Through @a2i/collections as the server uses it: ingest (upsert, rows/s, vector
 *    generation not counted), ensureIndex (the store's default ANN index, build time), then
 *    `--queries` planted and `--queries` random queries at k = 10, each searched with the
 *    ANN index and with LanceDB's exact scan (`exact: true`) of the same table, alternating:
 *    p50 / p99 of both and their ratio; recall@10 of the ANN result against the planted group
 *    (planted) and against the exact scan (random, reported apart: iid random directions
 *    have no neighbourhood structure, the worst case for any ANN index). Disk (bytes under
 *    the store's directory) after ingest and with the index; this process's RSS and peak RSS.
 * 2. End to end over HTTP: an api and a worker process (as `npm start` runs them) on a real
 *    Redis (A2I_REDIS_URL) under a fresh key prefix; the collection is created through the api
 *    (so owner and space are the api's), filled with `--http-rows` vectors of the pack's dim
 *    directly through the store at the api's A2I_COLLECTIONS_URI (fast), indexed with
 *    ensureIndex (what a worker does after an ingest). Then POST /v1/collections/:name/search,
 *    p50 / p99 and the split (mean per phase, and its share of the mean) read from the response's Server-Timing header (embed, search,
 *    total = the api's handler): a query given as an `embedding` input (summed in the api, no
 *    worker) and a query with an audio input (embedded by the worker through the demo pack:
 *    a real embed share; the synthetic stand-in when the pack is absent, which the JSON says).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, statSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openCollectionStore, type CollectionStore } from '@a2i/collections';
import { loadServerConfig, redisAnswers, removeKeysWithPrefix } from '@a2i/protocol';
import { defaultPipeline } from '../support/default-pipeline.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { PlantedVectors, percentile } from './planted-vectors.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { freePort } from '../support/redis-server.js';
import { positiveInt } from './bench-args.js';

const ROOT = resolve(import.meta.dirname, '../..');
const API_MAIN = join(ROOT, 'apps/api/src/main.ts');
const WORKER_MAIN = join(ROOT, 'apps/worker/src/main.ts');

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000,1000000' },
    dim: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '40' },
    'http-rows': { type: 'string', default: '100000' },
    'http-runs': { type: 'string', default: '100' },
    'skip-http': { type: 'boolean', default: false },
    'skip-scale': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

const ROWS = args.rows.split(',').map((r) => positiveInt('rows', r.trim()));
const DIM = positiveInt('dim', args.dim);
const QUERIES = positiveInt('queries', args.queries);
const HTTP_ROWS = positiveInt('http-rows', args['http-rows']);
const HTTP_RUNS = positiveInt('http-runs', args['http-runs']);
const INGEST_CHUNK = 10_000;
const K = 10;

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const mib = (bytes: number) => round(bytes / 2 ** 20, 0);
function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}
/** Peak RSS of this process so far (resourceUsage reports kilobytes). */
const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;
const latency = (xs: number[]) => ({ samples: xs.length, p50Ms: round(percentile(xs, 50)), p99Ms: round(percentile(xs, 99)) });

/** Fills `name` (which must exist) with planted vectors; returns the generator (for its queries) and the time spent in upsert. */
async function fill(store: CollectionStore, name: string, owner: string | null, rows: number, dim: number, groups: number): Promise<{ data: PlantedVectors; ingestMs: number }> {
  const data = new PlantedVectors(rows, dim, groups);
  let ingestMs = 0;
  let done = 0;
  for (const chunk of data.chunks(INGEST_CHUNK)) {
    // one metadata column, as real items have (its values: the row's position)
    const items = chunk.map((r, i) => ({ id: r.id, vector: r.vector, modality: r.group === null ? 'audio' : 'image', metadata: { n: done + i } }));
    const t0 = performance.now();
    await store.upsert(name, items, owner);
    ingestMs += performance.now() - t0;
    done += chunk.length;
    if (done % (INGEST_CHUNK * 20) === 0) console.log(`    ingested ${done} / ${rows} (${Math.round(done / (ingestMs / 1000))} rows/s)`);
  }
  return { data, ingestMs };
}

// ------------------------------------------------------------------ 1. scale
async function scaleRun(rows: number) {
  const dir = await mkdtemp(join(tmpdir(), 'a2i-search-scale-'));
  const store = await openCollectionStore({ uri: dir });
  const space = { pack: 'bench', dim: DIM };
  try {
    await store.create({ name: 'scale', space });
    console.log(`  ${rows} x ${DIM}: ingest`);
    const { data, ingestMs } = await fill(store, 'scale', null, rows, DIM, QUERIES);
    const diskIngest = diskBytes(dir);
    console.log(`  ingest ${round(rows / (ingestMs / 1000), 0)} rows/s; disk ${mib(diskIngest)} MiB; building the index`);
    const index = await store.ensureIndex('scale');
    const diskIndexed = diskBytes(dir);
    console.log(`  ensureIndex: ${index.action} ${JSON.stringify(index.index)} in ${round(index.ms / 1000)} s`);

    const planted = data.plantedQueries(QUERIES);
    const random = data.randomQueries(QUERIES);
    const ms = { ann: [] as number[], exact: [] as number[] };
    const hits = { planted: 0, random: 0, exactPlanted: 0 };
    const search = async (vector: Float32Array, exact: boolean) => {
      const t0 = performance.now();
      const found = await store.search('scale', { vector, k: K, space, exact });
      (exact ? ms.exact : ms.ann).push(performance.now() - t0);
      return found.map((h) => h.id);
    };
    // warm-up (table handles, index caches), not counted
    await search(random[0]!, false);
    await search(random[0]!, true);
    ms.ann.length = 0;
    ms.exact.length = 0;
    // both searches of a query in turn, alternating which goes first (same cache state for both)
    const both = async (vector: Float32Array, i: number) => {
      if (i % 2 === 0) {
        const ann = await search(vector, false);
        return { ann, exact: await search(vector, true) };
      }
      const exact = await search(vector, true);
      return { ann: await search(vector, false), exact };
    };
    for (const [i, q] of planted.entries()) {
      const { ann, exact } = await both(q.vector, i);
      hits.planted += ann.filter((id) => q.truth.has(id)).length;
      hits.exactPlanted += exact.filter((id) => q.truth.has(id)).length;
    }
    for (const [i, q] of random.entries()) {
      const { ann, exact } = await both(q, i);
      const truth = new Set(exact);
      hits.random += ann.filter((id) => truth.has(id)).length;
    }
    const result = {
      rows,
      dim: DIM,
      queries: { planted: QUERIES, random: QUERIES, k: K },
      ingest: { rowsPerSecond: round(rows / (ingestMs / 1000), 0), seconds: round(ingestMs / 1000), commitRows: 5_000 },
      index: { action: index.action, ...index.index, buildSeconds: round(index.ms / 1000) },
      ann: latency(ms.ann),
      exact: latency(ms.exact),
      ratioP50: round(percentile(ms.exact, 50) / percentile(ms.ann, 50)),
      ratioP99: round(percentile(ms.exact, 99) / percentile(ms.ann, 99)),
      recallAt10: {
        planted: round(hits.planted / (K * QUERIES), 3),
        random: round(hits.random / (K * QUERIES), 3),
        /** the exact scan against the planted groups: 1 = the planted truth is the true top-10 */
        exactVsPlanted: round(hits.exactPlanted / (K * QUERIES), 3),
      },
      disk: { afterIngestMiB: mib(diskIngest), withIndexMiB: mib(diskIndexed), rawVectorsMiB: mib(rows * DIM * 4) },
      memory: { rssMiB: mib(process.memoryUsage().rss), peakRssMiB: mib(peakRssBytes()) },
    };
    console.log(
      `  ANN p50 ${result.ann.p50Ms} / p99 ${result.ann.p99Ms} ms; exact p50 ${result.exact.p50Ms} / p99 ${result.exact.p99Ms} ms (x${result.ratioP50} / x${result.ratioP99}); recall@10 planted ${result.recallAt10.planted}, random ${result.recallAt10.random}; disk ${result.disk.withIndexMiB} MiB; peak RSS ${result.memory.peakRssMiB} MiB`,
    );
    return result;
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ 2. over HTTP

function startProcess(main: string, env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(log);
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

function waitReady(url: string, children: { child: ChildProcess; log: string }[], timeoutMs = 120_000): Promise<void> {
  return waitForReadyServer(url, {
    timeoutMs,
    assertAlive: async () => {
      for (const { child, log } of children) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`a server process exited:\n${(await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`);
        }
      }
    },
  });
}

/** `embed;dur=1.2, search;dur=3.4, total;dur=5.0` -> { embed: 1.2, search: 3.4, total: 5 } */
function parseServerTiming(header: string | null): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
    if (match) phases[match[1]!] = Number(match[2]);
  }
  return phases;
}

interface TimedSearch {
  clientMs: number;
  embedMs: number;
  searchMs: number;
  totalMs: number;
}

async function timedSearch(url: string, name: string, body: string | FormData, headers: Record<string, string> = {}): Promise<TimedSearch> {
  const t0 = performance.now();
  const response = await fetch(`${url}/v1/collections/${name}/search`, { method: 'POST', body, headers });
  const text = await response.text();
  const clientMs = performance.now() - t0;
  if (response.status !== 200) throw new Error(`POST /v1/collections/${name}/search answered ${response.status}: ${text.slice(0, 300)}`);
  const parsed = JSON.parse(text) as { results: unknown[] };
  if (parsed.results.length !== K) throw new Error(`Expected ${K} results from the search but received ${parsed.results.length}`);
  const timing = parseServerTiming(response.headers.get('server-timing'));
  if (timing.total === undefined || timing.search === undefined || timing.embed === undefined) {
    throw new Error(`Expected a Server-Timing header with embed, search and total but received ${JSON.stringify(response.headers.get('server-timing'))}`);
  }
  return { clientMs, embedMs: timing.embed, searchMs: timing.search, totalMs: timing.total };
}

/** Latency percentiles of the client's time, and where it went: the MEAN of each phase (means add up, medians do not) and its share of the mean. */
function splitOf(runs: TimedSearch[]) {
  const mean = (f: (r: TimedSearch) => number) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
  const client = mean((r) => r.clientMs);
  const phases = {
    embed: mean((r) => r.embedMs),
    search: mean((r) => r.searchMs),
    apiOther: mean((r) => r.totalMs - r.embedMs - r.searchMs),
    http: mean((r) => r.clientMs - r.totalMs),
  };
  return {
    ...latency(runs.map((r) => r.clientMs)),
    meanMs: round(client),
    phaseMeansMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)])) as Record<keyof typeof phases, number>,
    phaseSharesPercent: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round((100 * v) / client)])) as Record<keyof typeof phases, number>,
  };
}

async function httpRun(): Promise<Record<string, unknown>> {
  const config = loadServerConfig();
  if (!(await redisAnswers(config.redis.url))) return { skipped: `no Redis answers at ${config.redis.url}` };
  const choice = defaultPipeline();
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-search-http-'));
  const prefix = `a2i-bench-${randomBytes(6).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    A2I_PIPELINE: choice.pipeline,
    A2I_HOST: '127.0.0.1',
    A2I_PORT: String(port),
    A2I_REDIS_PREFIX: prefix,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_COLLECTIONS_URI: join(tmp, 'collections'),
    A2I_COLLECTIONS_MEDIA_DIR: join(tmp, 'media'),
    A2I_SEED_DEMO_COLLECTION: 'false',
    A2I_HEARTBEAT_INTERVAL_MS: '500',
    A2I_RATE_EMBEDDINGS: 'off',
    A2I_LOG_LEVEL: 'warn',
  };
  await mkdir(join(tmp, 'logs'));
  const children = [
    { child: startProcess(WORKER_MAIN, env, join(tmp, 'logs/worker.log')), log: join(tmp, 'logs/worker.log') },
    { child: startProcess(API_MAIN, env, join(tmp, 'logs/api.log')), log: join(tmp, 'logs/api.log') },
  ];
  let store: CollectionStore | null = null;
  try {
    await waitReady(url, children);
    const pack = (await (await fetch(`${url}/v1/pack`)).json()) as { name: string; dim: number; modalities: string[] };
    const name = 'bench-search';
    const created = await fetch(`${url}/v1/collections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
    if (created.status !== 201) throw new Error(`POST /v1/collections answered ${created.status}: ${await created.text()}`);
    // 1. fill through the store the api reads (same URI; no API keys: the shared owner, null)
    store = await openCollectionStore({ uri: env.A2I_COLLECTIONS_URI! });
    console.log(`  HTTP: filling ${HTTP_ROWS} x ${pack.dim} (pack ${pack.name}) through the store`);
    const { data } = await fill(store, name, null, HTTP_ROWS, pack.dim, Math.min(HTTP_RUNS, Math.floor(HTTP_ROWS / 10)));
    const index = await store.ensureIndex(name, null);
    console.log(`  HTTP: ensureIndex ${index.action} in ${round(index.ms / 1000)} s`);
    const info = (await (await fetch(`${url}/v1/collections/${name}`)).json()) as { count: number };
    if (info.count !== HTTP_ROWS) throw new Error(`Expected ${HTTP_ROWS} items in the api's view of ${name} but received ${info.count}`);

    // 2. a query given as a vector (no worker)
    const queries = data.plantedQueries(Math.min(HTTP_RUNS, data.anchors.length));
    const vectorBody = (i: number) => JSON.stringify({ inputs: [{ modality: 'embedding', vector: Array.from(queries[i % queries.length]!.vector), weight: 1 }], k: K });
    for (let i = 0; i < 5; i++) await timedSearch(url, name, vectorBody(i), { 'content-type': 'application/json' });
    const vectorRuns: TimedSearch[] = [];
    for (let i = 0; i < HTTP_RUNS; i++) vectorRuns.push(await timedSearch(url, name, vectorBody(i), { 'content-type': 'application/json' }));

    // 3. a query with an audio input (multipart, embedded by the worker)
    const wav = sampleSoundWav({ seconds: 2 });
    const audioBody = () => {
      const form = new FormData();
      form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], k: K }));
      form.set('sound', new Blob([wav], { type: 'audio/wav' }), 'sound.wav');
      return form;
    };
    let audio: Record<string, unknown> | null = null;
    if (pack.modalities.includes('audio')) {
      for (let i = 0; i < 3; i++) await timedSearch(url, name, audioBody());
      const audioRuns: TimedSearch[] = [];
      const audioCount = Math.max(10, Math.floor(HTTP_RUNS / 2));
      for (let i = 0; i < audioCount; i++) audioRuns.push(await timedSearch(url, name, audioBody()));
      audio = { input: '2 s 16 kHz mono WAV, multipart', ...splitOf(audioRuns) };
    }
    const vector = { input: `${pack.dim}-d embedding input, JSON`, ...splitOf(vectorRuns) };
    console.log(`  HTTP vector query: p50 ${vector.p50Ms} / p99 ${vector.p99Ms} ms; phase means ${JSON.stringify(vector.phaseMeansMs)}`);
    if (audio) console.log(`  HTTP audio query:  p50 ${String(audio.p50Ms)} / p99 ${String(audio.p99Ms)} ms; phase means ${JSON.stringify(audio.phaseMeansMs)}`);
    return {
      rows: HTTP_ROWS,
      pack: pack.name,
      dim: pack.dim,
      pipeline: choice.pipeline,
      pipelineLabel: choice.label,
      index: { action: index.action, ...index.index, buildSeconds: round(index.ms / 1000) },
      runs: HTTP_RUNS,
      vectorQuery: vector,
      audioQuery: audio ?? { skipped: `pack ${pack.name} takes no audio` },
      split: 'embed = the query vector (worker embedding job, or the api summing given vectors); search = CollectionStore.search; apiOther = the rest of the handler (collection lookups, validation, upload handling); http = client time minus the handler (connection, JSON body parse, serialisation, transfer)',
    };
  } finally {
    store?.close();
    for (const { child } of children) await stopProcess(child);
    await removeKeysWithPrefix(config.redis.url, prefix).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = { settings: { rows: ROWS, dim: DIM, queries: QUERIES, k: K, httpRows: HTTP_ROWS, httpRuns: HTTP_RUNS } };
  const write = async () => {
    if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  };
  const summary: { metric: string; value: number | string | null; unit: string }[] = [];
  report.summary = summary;
  if (!args['skip-scale']) {
    const scale: Awaited<ReturnType<typeof scaleRun>>[] = [];
    report.scale = scale;
    const skippedSizes: string[] = [];
    report.skippedSizes = skippedSizes;
    for (const rows of ROWS) {
      // room for the table (raw vectors + ~5 % Lance overhead + the index) and its scans
      const needBytes = rows * DIM * 4 * 1.2;
      const fs = statfsSync(tmpdir());
      const freeDisk = fs.bavail * fs.bsize;
      if (freeDisk < needBytes + 2 ** 30 || freemem() < Math.min(needBytes, 4 * 2 ** 30)) {
        skippedSizes.push(`${rows} x ${DIM} skipped: needs about ${mib(needBytes)} MiB of disk in ${tmpdir()} (free ${mib(freeDisk)}) and free memory (free ${mib(freemem())} MiB)`);
        console.log(`  ${skippedSizes.at(-1)}`);
        continue;
      }
      const r = await scaleRun(rows);
      scale.push(r);
      const at = `${rows / 1000}k x ${DIM}`;
      summary.push(
        { metric: `${at}: ingest`, value: r.ingest.rowsPerSecond, unit: 'rows/s' },
        { metric: `${at}: index build (${String(r.index.type)})`, value: r.index.buildSeconds, unit: 's' },
        { metric: `${at}: ANN p50 / p99, k=10`, value: `${r.ann.p50Ms} / ${r.ann.p99Ms}`, unit: 'ms' },
        { metric: `${at}: exact scan p50 / p99, k=10`, value: `${r.exact.p50Ms} / ${r.exact.p99Ms}`, unit: 'ms' },
        { metric: `${at}: exact / ANN, p50 / p99`, value: `${r.ratioP50} / ${r.ratioP99}`, unit: 'x' },
        { metric: `${at}: recall@10, planted queries (target >= 0.95)`, value: r.recallAt10.planted, unit: '' },
        { metric: `${at}: recall@10, random queries`, value: r.recallAt10.random, unit: '' },
        { metric: `${at}: disk with index (raw vectors ${r.disk.rawVectorsMiB})`, value: r.disk.withIndexMiB, unit: 'MiB' },
        { metric: `${at}: peak RSS of the bench process`, value: r.memory.peakRssMiB, unit: 'MiB' },
      );
      await write();
    }
    if (scale.length > 1) {
      const [first, last] = [scale[0]!, scale.at(-1)!];
      report.p99Growth = { fromRows: first.rows, toRows: last.rows, annP99Ratio: round(last.ann.p99Ms / first.ann.p99Ms, 2), exactP99Ratio: round(last.exact.p99Ms / first.exact.p99Ms, 2) };
    }
  }
  if (!args['skip-http']) {
    const http = await httpRun();
    report.http = http;
    if (typeof http.skipped === 'string') report.skipped = http.skipped;
    else {
      const v = http.vectorQuery as ReturnType<typeof splitOf>;
      const a = http.audioQuery as ReturnType<typeof splitOf> | { skipped: string };
      const at = `HTTP search, ${HTTP_ROWS / 1000}k x ${String(http.dim)}`;
      summary.push(
        { metric: `${at}, vector query: p50 / p99`, value: `${v.p50Ms} / ${v.p99Ms}`, unit: 'ms' },
        { metric: `${at}, vector query: embed / search / api / http share of the mean`, value: `${v.phaseSharesPercent.embed} / ${v.phaseSharesPercent.search} / ${v.phaseSharesPercent.apiOther} / ${v.phaseSharesPercent.http}`, unit: '%' },
      );
      if (!('skipped' in a)) {
        summary.push(
          { metric: `${at}, audio query (${String(http.pipeline)}): p50 / p99`, value: `${a.p50Ms} / ${a.p99Ms}`, unit: 'ms' },
          { metric: `${at}, audio query: embed / search / api / http share of the mean`, value: `${a.phaseSharesPercent.embed} / ${a.phaseSharesPercent.search} / ${a.phaseSharesPercent.apiOther} / ${a.phaseSharesPercent.http}`, unit: '%' },
        );
      }
    }
  }
  await write();
}

await main();
process.exit(0);
