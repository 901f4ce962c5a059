import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCollectionStore, type CollectionStore } from '../src/index.js';
import { perturb, randomVector, seededRandom, tempStoreDir } from './fixtures.js';

const DIM = 64;
const space = { pack: 'demo', dim: DIM };
const ROWS = 20_000;

describe('ANN index (IVF_RQ by default, cosine) against the exact scan', () => {
  let store: CollectionStore;
  let cleanup: () => void;
  const random = seededRandom(21);
  const anchors: Float32Array[] = [];

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = tempStoreDir());
    store = await openCollectionStore({ uri: dir, indexThreshold: 10_000 });
    await store.create({ name: 'ann', space });
    // 20,000 vectors: 15,000 random, plus 500 planted groups of 10 near-duplicates.
    const items: { id: string; vector: Float32Array; modality: string }[] = [];
    for (let i = 0; i < 15_000; i++) items.push({ id: `rand-${i}`, vector: randomVector(random, DIM), modality: 'audio' });
    for (let g = 0; g < 500; g++) {
      const anchor = randomVector(random, DIM);
      anchors.push(anchor);
      for (let j = 0; j < 10; j++) items.push({ id: `dup-${g}-${j}`, vector: perturb(random, anchor, 0.15), modality: 'vision' });
    }
    await store.upsert('ann', items);
    expect(await store.count('ann')).toBe(ROWS);
  }, 120_000);

  afterAll(() => {
    store.close();
    cleanup();
  });

  it('builds nothing below the threshold, an index above it, and keeps recall@10 >= 0.95', async () => {
    const { dir, cleanup: clean } = tempStoreDir();
    const small = await openCollectionStore({ uri: dir });
    await small.create({ name: 's', space });
    await small.upsert('s', [{ id: 'one', vector: randomVector(random, DIM), modality: 'audio' }]);
    expect(await small.ensureIndex('s')).toMatchObject({ action: 'none', rows: 1, index: null });
    small.close();
    clean();

    const built = await store.ensureIndex('ann');
    expect(built).toMatchObject({ action: 'created', rows: ROWS, indexedRows: ROWS, unindexedRows: 0, index: { type: 'IvfRq', distance: 'cosine' } });
    expect(await store.ensureIndex('ann')).toMatchObject({ action: 'none' });

    const recallAt10 = async (queries: Float32Array[]) => {
      let hits = 0;
      let total = 0;
      for (const q of queries) {
        const exact = await store.search('ann', { vector: q, k: 10, space, exact: true });
        const ann = await store.search('ann', { vector: q, k: 10, space });
        const truth = new Set(exact.map((h) => h.id));
        hits += ann.filter((h) => truth.has(h.id)).length;
        total += exact.length;
        // refine re-ranks with the full vectors: a returned score is the exact cosine
        const exactScore = new Map(exact.map((h) => [h.id, h.score]));
        for (const h of ann) if (exactScore.has(h.id)) expect(Math.abs(h.score - exactScore.get(h.id)!)).toBeLessThan(1e-5);
      }
      return hits / total;
    };
    // queries near the planted groups: their 10 neighbours are the group
    expect(await recallAt10(anchors.slice(0, 50).map((a) => perturb(random, a, 0.1)))).toBeGreaterThanOrEqual(0.95);
    // unstructured random queries are the hard case for any quantiser and for IVF
    expect(await recallAt10(Array.from({ length: 20 }, () => randomVector(random, DIM)))).toBeGreaterThanOrEqual(0.8);

    // rows added after the index are found too (scanned flat, then merged into the index)
    const fresh = randomVector(random, DIM);
    await store.upsert('ann', [{ id: 'late', vector: fresh, modality: 'audio' }]);
    expect((await store.search('ann', { vector: fresh, k: 1, space }))[0]!.id).toBe('late');
    expect(await store.ensureIndex('ann')).toMatchObject({ action: 'updated', unindexedRows: 0 });
    expect((await store.search('ann', { vector: fresh, k: 1, space }))[0]!.id).toBe('late');
  }, 180_000);
});
