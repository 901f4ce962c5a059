/**
 * Collections bench: ingest rate, exact vs ANN search latency at k=10, recall@10 and
 * disk use. Not part of the test suite. Run:
 *   npx tsx packages/collections/bench/collections.bench.ts --rows 100000 --dim 1024 [--queries 100] [--dir /tmp/x] [--keep]
 * Data: Gaussian random vectors (the hard case for quantisation) with 10% of the rows
 * in planted groups of 10 near-duplicates; recall is reported for both query kinds.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openCollectionStore } from '../src/index.js';
import { perturb as perturbOf, randomVector as randomVectorOf, seededRandom } from '../test/random-vectors.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '100' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const DIM = Number(args.dim);
const QUERIES = Number(args.queries);
const INGEST_CHUNK = 10_000;

const random = seededRandom(42);
const randomVector = () => randomVectorOf(random, DIM);
const perturb = (v: Float32Array, noise: number) => perturbOf(random, v, noise);

function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const dir = args.dir ?? mkdtempSync(path.join(tmpdir(), 'a2i-collections-bench-'));
  const store = await openCollectionStore({ uri: dir });
  const space = { pack: 'bench', dim: DIM };
  await store.create({ name: 'bench', space });

  // 1. ingest
  const groups = Math.floor((ROWS * 0.1) / 10);
  const anchors: Float32Array[] = [];
  let ingestMs = 0;
  let made = 0;
  while (made < ROWS) {
    const chunk: { id: string; vector: Float32Array; modality: string; metadata: Record<string, number> }[] = [];
    while (chunk.length < INGEST_CHUNK && made < ROWS) {
      if (anchors.length < groups && made % 100 === 0) {
        const anchor = randomVector();
        anchors.push(anchor);
        for (let j = 0; j < 10 && made < ROWS; j++, made++) chunk.push({ id: `dup-${anchors.length}-${j}`, vector: perturb(anchor, 0.15), modality: 'vision', metadata: { n: made } });
      } else {
        chunk.push({ id: `r-${made}`, vector: randomVector(), modality: 'audio', metadata: { n: made } });
        made++;
      }
    }
    const t0 = performance.now();
    await store.upsert('bench', chunk);
    ingestMs += performance.now() - t0;
  }
  console.log(`ingest: ${ROWS} x ${DIM} in ${(ingestMs / 1000).toFixed(1)} s = ${Math.round(ROWS / (ingestMs / 1000))} rows/s (mergeInsert, 5,000-row commits)`);
  const diskBefore = diskBytes(dir);

  // 2. index
  const indexResult = await store.ensureIndex('bench');
  console.log(`ensureIndex: ${indexResult.action} ${JSON.stringify(indexResult.index)} in ${(indexResult.ms / 1000).toFixed(1)} s`);

  // 3. search: exact vs ANN at k=10
  const near = Array.from({ length: Math.ceil(QUERIES / 2) }, (_, i) => perturb(anchors[i % anchors.length]!, 0.1));
  const rand = Array.from({ length: Math.floor(QUERIES / 2) }, () => randomVector());
  const exactMs: number[] = [];
  const annMs: number[] = [];
  const recall = { near: [0, 0], random: [0, 0] };
  for (const [kind, queries] of [['near', near], ['random', rand]] as const) {
    for (const q of queries) {
      let t0 = performance.now();
      const exact = await store.search('bench', { vector: q, k: 10, space, exact: true });
      exactMs.push(performance.now() - t0);
      t0 = performance.now();
      const ann = await store.search('bench', { vector: q, k: 10, space });
      annMs.push(performance.now() - t0);
      const truth = new Set(exact.map((h) => h.id));
      recall[kind][0]! += ann.filter((h) => truth.has(h.id)).length;
      recall[kind][1]! += exact.length;
    }
  }
  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;
  console.log(`exact search k=10: ${fmt(exactMs)}`);
  console.log(`ANN search k=10:   ${fmt(annMs)}`);
  console.log(`recall@10: near-duplicate queries ${(recall.near[0]! / recall.near[1]!).toFixed(3)}, random queries ${(recall.random[0]! / recall.random[1]!).toFixed(3)}, all ${((recall.near[0]! + recall.random[0]!) / (recall.near[1]! + recall.random[1]!)).toFixed(3)}`);
  const diskAfter = diskBytes(dir);
  console.log(`disk: ${(diskBefore / 2 ** 20).toFixed(0)} MiB after ingest, ${(diskAfter / 2 ** 20).toFixed(0)} MiB with the index (raw vectors: ${((ROWS * DIM * 4) / 2 ** 20).toFixed(0)} MiB)`);
  store.close();
  if (!args.keep && args.dir === undefined) rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
