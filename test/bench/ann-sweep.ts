/**
 * ANN index sweep behind @a2i/collections' index defaults (not a `npm run bench` entry:
 * it builds several indexes one after another and takes a long while).
 *
 *   nice -n 10 npx tsx test/bench/ann-sweep.ts [--rows 100000] [--dim 1024] [--queries 50] [--only hnsw_sq,ivf_rq,ivf_flat,ivf_pq] [--json PATH]
 *
 * One table of planted vectors (test/bench/planted-vectors.ts), filled through the store;
 * then for each LanceDB 0.31 index type: build it (replace) on the same table, time the
 * build, and for each query setting time `--queries` planted and `--queries` random queries
 * at k = 10 (p50 / p99) and their recall@10 against the exact scan. Query settings are
 * passed straight to LanceDB's query builder (nprobes, refineFactor, ef).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as lancedb from '@lancedb/lancedb';
import { openCollectionStore } from '@a2i/collections';
import { PlantedVectors, percentile } from './planted-vectors.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '50' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const DIM = Number(args.dim);
const QUERIES = Number(args.queries);
const PARTITIONS = Math.ceil(ROWS / 4096);

interface QuerySetting {
  nprobes?: number;
  refineFactor?: number;
  ef?: number;
}
interface Candidate {
  key: string;
  label: string;
  index: () => lancedb.Index;
  settings: QuerySetting[];
}

const CANDIDATES: Candidate[] = [
  {
    key: 'ivf_rq',
    label: `IVF_RQ, ${PARTITIONS} partitions, 1 bit/dim`,
    index: () => lancedb.Index.ivfRq({ distanceType: 'cosine', numPartitions: PARTITIONS }),
    settings: [{ nprobes: 10, refineFactor: 30 }, { nprobes: 10, refineFactor: 100 }, { nprobes: PARTITIONS, refineFactor: 30 }, { nprobes: PARTITIONS, refineFactor: 100 }, { nprobes: PARTITIONS, refineFactor: 300 }],
  },
  {
    key: 'ivf_flat',
    label: `IVF_FLAT, ${PARTITIONS} partitions`,
    index: () => lancedb.Index.ivfFlat({ distanceType: 'cosine', numPartitions: PARTITIONS }),
    settings: [{ nprobes: 5 }, { nprobes: 10 }, { nprobes: 20 }],
  },
  {
    key: 'hnsw_sq',
    label: 'IVF_HNSW_SQ, 1 partition, m 20, efConstruction 150',
    index: () => lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: 20, efConstruction: 150 }),
    settings: [{ ef: 50 }, { ef: 150 }, { ef: 300 }, { ef: 300, refineFactor: 5 }, { ef: 600 }],
  },
  {
    key: 'ivf_pq',
    label: `IVF_PQ, ${PARTITIONS} partitions, ${DIM / 16} sub-vectors`,
    index: () => lancedb.Index.ivfPq({ distanceType: 'cosine', numPartitions: PARTITIONS, numSubVectors: DIM / 16 }),
    settings: [{ nprobes: 20, refineFactor: 30 }, { nprobes: PARTITIONS, refineFactor: 30 }, { nprobes: PARTITIONS, refineFactor: 100 }],
  },
];

async function main(): Promise<void> {
  const only = args.only?.split(',');
  const dir = mkdtempSync(path.join(tmpdir(), 'a2i-ann-sweep-'));
  const out: Record<string, unknown>[] = [];
  try {
    const store = await openCollectionStore({ uri: dir });
    const space = { pack: 'bench', dim: DIM };
    await store.create({ name: 'sweep', space });
    const data = new PlantedVectors(ROWS, DIM, Math.max(QUERIES, Math.floor(ROWS / 1000)));
    let t0 = performance.now();
    for (const chunk of data.chunks(10_000)) await store.upsert('sweep', chunk.map((r) => ({ id: r.id, vector: r.vector, modality: 'audio' })));
    console.log(`ingest ${ROWS} x ${DIM}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const planted = data.plantedQueries(QUERIES);
    const random = data.randomQueries(QUERIES);
    store.close();

    const db = await lancedb.connect(dir);
    const tableName = (await db.tableNames()).find((n) => n.startsWith('c_'))!;
    const table = await db.openTable(tableName);
    const search = (q: Float32Array, s: QuerySetting | 'exact') => {
      let query = table.vectorSearch(q).distanceType('cosine').limit(10).select(['id', '_distance']);
      if (s === 'exact') query = query.bypassVectorIndex();
      else {
        if (s.nprobes !== undefined) query = query.nprobes(s.nprobes);
        if (s.refineFactor !== undefined) query = query.refineFactor(s.refineFactor);
        if (s.ef !== undefined) query = query.ef(s.ef);
      }
      return query.toArray().then((rows) => rows.map((r) => String((r as { id: string }).id)));
    };

    // Truth: planted = the group (checked against the exact scan), random = the exact scan.
    const exactMs: number[] = [];
    const randomTruth: Set<string>[] = [];
    let plantedAgree = 0;
    for (const q of planted) {
      t0 = performance.now();
      const ids = await search(q.vector, 'exact');
      exactMs.push(performance.now() - t0);
      plantedAgree += ids.filter((id) => q.truth.has(id)).length;
    }
    for (const q of random) {
      t0 = performance.now();
      randomTruth.push(new Set(await search(q, 'exact')));
      exactMs.push(performance.now() - t0);
    }
    const exact = { p50: percentile(exactMs, 50), p99: percentile(exactMs, 99), plantedTruthAgreement: plantedAgree / (10 * QUERIES) };
    console.log(`exact: p50 ${exact.p50.toFixed(0)} ms p99 ${exact.p99.toFixed(0)} ms; planted groups = exact top-10: ${exact.plantedTruthAgreement}`);
    out.push({ kind: 'exact', ...exact });

    for (const c of CANDIDATES.filter((c) => !only || only.includes(c.key))) {
      t0 = performance.now();
      try {
        await table.createIndex('vector', { config: c.index(), replace: true, name: 'vector_idx' });
      } catch (error) {
        console.log(`${c.label}: build failed: ${error instanceof Error ? error.message : String(error)}`);
        out.push({ kind: c.key, label: c.label, error: String(error) });
        continue;
      }
      const buildS = (performance.now() - t0) / 1000;
      console.log(`${c.label}: built in ${buildS.toFixed(1)} s`);
      for (const s of c.settings) {
        const ms: number[] = [];
        let hitsPlanted = 0;
        let hitsRandom = 0;
        for (const q of planted) {
          t0 = performance.now();
          const ids = await search(q.vector, s);
          ms.push(performance.now() - t0);
          hitsPlanted += ids.filter((id) => q.truth.has(id)).length;
        }
        for (const [i, q] of random.entries()) {
          t0 = performance.now();
          const ids = await search(q, s);
          ms.push(performance.now() - t0);
          hitsRandom += ids.filter((id) => randomTruth[i]!.has(id)).length;
        }
        const row = { kind: c.key, label: c.label, buildS, setting: s, p50: percentile(ms, 50), p99: percentile(ms, 99), recallPlanted: hitsPlanted / (10 * QUERIES), recallRandom: hitsRandom / (10 * QUERIES) };
        out.push(row);
        console.log(`  ${JSON.stringify(s)}: p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms recall@10 planted ${row.recallPlanted.toFixed(3)} random ${row.recallRandom.toFixed(3)}`);
        if (args.json) await writeFile(args.json, `${JSON.stringify(out, null, 2)}\n`);
      }
    }
    table.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.json) await writeFile(args.json, `${JSON.stringify(out, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
