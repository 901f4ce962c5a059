import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CollectionItem, CollectionStore } from '../src/index.js';
import { bruteForceTopK, cosine, expectCode, openTempStore, randomVector, seededRandom } from './fixtures.js';

const DIM = 16;
const space = { pack: 'demo', dim: DIM };

describe('items and search', () => {
  let store: CollectionStore;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ store, cleanup } = await openTempStore({ maxK: 50 }));
    await store.create({ name: 'c', space });
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  it('upserts, replaces an id given again, reads, counts, deletes', async () => {
    const random = seededRandom(1);
    const v1 = randomVector(random, DIM);
    const first = await store.upsert('c', [
      { id: 'a', vector: v1, modality: 'audio', metadata: { place: 'sea', year: 2020, loud: true }, media: { uri: 'uploads/a.wav', mimeType: 'audio/wav' } },
      { id: 'b', vector: randomVector(random, DIM), modality: 'vision' },
    ]);
    expect(first).toMatchObject({ inserted: 2, updated: 0, commits: 1 });
    expect(first.newFields.sort()).toEqual(['loud', 'place', 'year']);

    const a = await store.getItem('c', 'a');
    expect(a).toMatchObject({ id: 'a', modality: 'audio', metadata: { place: 'sea', year: 2020, loud: true }, media: { uri: 'uploads/a.wav', mimeType: 'audio/wav' } });
    // stored unit-normalised, same direction
    expect(Math.hypot(...a!.vector)).toBeCloseTo(1, 5);
    expect(cosine(a!.vector, v1)).toBeCloseTo(1, 6);

    // replace: new vector, metadata fields it no longer has are gone, media gone
    const v2 = randomVector(random, DIM);
    const second = await store.upsert('c', [{ id: 'a', vector: Array.from(v2), modality: 'text', metadata: { place: 'forest' } }]);
    expect(second).toMatchObject({ inserted: 0, updated: 1, newFields: [] });
    const replaced = await store.getItem('c', 'a');
    expect(replaced).toMatchObject({ id: 'a', modality: 'text', metadata: { place: 'forest' }, media: null });
    expect(cosine(replaced!.vector, v2)).toBeCloseTo(1, 6);
    expect(await store.count('c')).toBe(2);

    // an id repeated within one batch: the last one wins, one row
    await store.upsert('c', [
      { id: 'd', vector: randomVector(random, DIM), modality: 'audio', metadata: { year: 1 } },
      { id: 'd', vector: randomVector(random, DIM), modality: 'audio', metadata: { year: 2 } },
    ]);
    expect(await store.count('c')).toBe(3);
    expect((await store.getItem('c', 'd'))!.metadata).toEqual({ year: 2 });

    expect(await store.hasIds('c', ['a', 'zz', 'd', "x' OR '1'='1"])).toEqual(new Set(['a', 'd']));
    expect(await store.deleteItem('c', 'a')).toBe(true);
    expect(await store.deleteItem('c', 'a')).toBe(false);
    expect(await store.getItem('c', 'a')).toBeNull();
    expect(await store.count('c')).toBe(2);
  });

  it('splits a large upsert into batches of upsertBatchRows commits', async () => {
    const { store: small, cleanup: clean } = await openTempStore({ upsertBatchRows: 100 });
    try {
      await small.create({ name: 'c', space });
      const random = seededRandom(2);
      const items = Array.from({ length: 250 }, (_, i) => ({ id: `i${i}`, vector: randomVector(random, DIM), modality: 'audio' }));
      expect(await small.upsert('c', items)).toMatchObject({ inserted: 250, commits: 3 });
      expect(await small.count('c')).toBe(250);
    } finally {
      small.close();
      clean();
    }
  });

  it('refuses wrong dims, bad vectors, bad items and metadata type changes', async () => {
    const e = await expectCode(store.upsert('c', [{ id: 'x', vector: new Float32Array(DIM + 1).fill(1), modality: 'audio' }]), 'EMBEDDING_DIMENSION_MISMATCH');
    expect(e.message).toBe('Expected a vector of length 16 (the collection\'s dim) for items[0].vector but received "length 17"');
    await expectCode(store.upsert('c', [{ id: 'x', vector: new Float32Array(DIM), modality: 'audio' }]), 'INVALID_VECTOR');
    await expectCode(store.upsert('c', [{ id: 'x', vector: new Float32Array(DIM).fill(Number.NaN), modality: 'audio' }]), 'INVALID_VECTOR');
    const one = new Float32Array(DIM).fill(1);
    await expectCode(store.upsert('c', [{ id: '', vector: one, modality: 'audio' }]), 'INVALID_ITEM');
    await expectCode(store.upsert('c', [{ id: 'x', vector: one, modality: 'Audio!' }]), 'INVALID_ITEM');
    await expectCode(store.upsert('c', [{ id: 'x', vector: one, modality: 'audio', metadata: { 'bad key': 1 } }]), 'INVALID_METADATA');
    await expectCode(store.upsert('c', [{ id: 'x', vector: one, modality: 'audio', metadata: { n: { nested: 1 } } } as unknown as CollectionItem]), 'INVALID_METADATA');
    await store.upsert('c', [{ id: 'x', vector: one, modality: 'audio', metadata: { year: 2020 } }]);
    const clash = await expectCode(store.upsert('c', [{ id: 'y', vector: one, modality: 'audio', metadata: { year: '2021' } }]), 'INVALID_METADATA');
    expect(clash.message).toContain('year');
    await expectCode(store.upsert('nope', [{ id: 'x', vector: one, modality: 'audio' }]), 'COLLECTION_NOT_FOUND');
    expect(await store.count('c')).toBe(1);
  });

  it('returns the same top-k ids and scores as a brute-force cosine', async () => {
    const random = seededRandom(3);
    const items = Array.from({ length: 500 }, (_, i) => ({ id: `item-${i}`, vector: randomVector(random, DIM), modality: i % 2 === 0 ? 'audio' : 'vision' }));
    await store.upsert('c', items);
    for (let q = 0; q < 10; q++) {
      const query = randomVector(random, DIM);
      const expected = bruteForceTopK(query, items, 10);
      const hits = await store.search('c', { vector: query, k: 10, space });
      expect(hits.map((h) => h.id)).toEqual(expected.map((h) => h.id));
      hits.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score)).toBeLessThan(1e-5));
      // modality restriction = brute force over that modality only
      const audio = await store.search('c', { vector: query, k: 5, space, modality: 'audio' });
      expect(audio.map((h) => h.id)).toEqual(bruteForceTopK(query, items.filter((x) => x.modality === 'audio'), 5).map((h) => h.id));
    }
  });

  it('open(): the collection read once, its info, and a search equal to search(name)', async () => {
    const random = seededRandom(5);
    await store.upsert('c', Array.from({ length: 40 }, (_, i) => ({ id: `item-${i}`, vector: randomVector(random, DIM), modality: 'audio' })));
    const opened = await store.open('c');
    expect([opened.info.name, opened.info.space]).toEqual(['c', space]);
    const query = randomVector(random, DIM);
    expect(await opened.search({ vector: query, k: 5, space })).toEqual(await store.search('c', { vector: query, k: 5, space }));
    await expectCode(opened.search({ vector: query, k: 1, space: { pack: 'imagebind-huge', dim: DIM } }), 'SPACE_MISMATCH');
    await expectCode(store.open('no-such'), 'COLLECTION_NOT_FOUND');
  });

  it('refuses a query from another space, a wrong k or a wrong query length', async () => {
    const random = seededRandom(4);
    await store.upsert('c', [{ id: 'a', vector: randomVector(random, DIM), modality: 'audio' }]);
    const q = randomVector(random, DIM);
    const other = await expectCode(store.search('c', { vector: q, k: 1, space: { pack: 'imagebind-huge', dim: DIM } }), 'SPACE_MISMATCH');
    expect(other.message).toBe('Expected space demo/16 (collection c) for space but received imagebind-huge/16');
    await expectCode(store.search('c', { vector: randomVector(random, 32), k: 1, space: { pack: 'demo', dim: 32 } }), 'SPACE_MISMATCH');
    await expectCode(store.search('c', { vector: randomVector(random, 8), k: 1, space }), 'EMBEDDING_DIMENSION_MISMATCH');
    for (const k of [0, 51, 1.5, Number.NaN, '3']) {
      const e = await expectCode(store.search('c', { vector: q, k: k as number, space }), 'INVALID_K');
      expect(e.message).toMatch(/^Expected an integer in 1\.\.50 for k but received /);
    }
    expect(await store.search('c', { vector: q, k: 50, space })).toHaveLength(1);
  });

  describe('metadata filters', () => {
    const places = ['sea', 'forest', 'city', "o'hare", 'back\\slash'];
    let items: { id: string; vector: Float32Array; modality: string; metadata: Record<string, string | number | boolean> }[];

    beforeEach(async () => {
      const random = seededRandom(5);
      items = Array.from({ length: 200 }, (_, i) => ({
        id: `m${i}`,
        vector: randomVector(random, DIM),
        modality: 'audio',
        metadata: { place: places[i % places.length]!, year: 2018 + (i % 5), night: i % 3 === 0, ...(i % 10 === 0 ? { rare: 'yes' } : {}) },
      }));
      await store.upsert('c', items);
    });

    const top = (query: Float32Array, keep: (m: Record<string, unknown>) => boolean, k: number) =>
      bruteForceTopK(query, items.filter((x) => keep(x.metadata)), k).map((h) => h.id);

    it('equality and in, on strings, numbers and booleans, AND-ed', async () => {
      const query = randomVector(seededRandom(6), DIM);
      const sea = await store.search('c', { vector: query, k: 10, space, filter: { place: 'sea' } });
      expect(sea.map((h) => h.id)).toEqual(top(query, (m) => m.place === 'sea', 10));
      expect(sea.every((h) => h.metadata.place === 'sea')).toBe(true);

      const years = await store.search('c', { vector: query, k: 10, space, filter: { place: 'sea', year: { in: [2020, 2021] } } });
      expect(years.map((h) => h.id)).toEqual(top(query, (m) => m.place === 'sea' && (m.year === 2020 || m.year === 2021), 10));

      const placeIn = await store.search('c', { vector: query, k: 20, space, filter: { place: { in: ['city', "o'hare"] }, night: true } });
      expect(placeIn.map((h) => h.id)).toEqual(top(query, (m) => (m.place === 'city' || m.place === "o'hare") && m.night === true, 20));

      const range = await store.search('c', { vector: query, k: 20, space, filter: { year: { gte: 2019, lt: 2021 }, place: { ne: 'sea' } } });
      expect(range.map((h) => h.id)).toEqual(top(query, (m) => (m.year as number) >= 2019 && (m.year as number) < 2021 && m.place !== 'sea', 20));

      const quoted = await store.search('c', { vector: query, k: 50, space, filter: { place: 'back\\slash' } });
      expect(quoted.length).toBe(40);
      expect(quoted.every((h) => h.metadata.place === 'back\\slash')).toBe(true);

      const rare = await store.search('c', { vector: query, k: 50, space, filter: { rare: 'yes' } });
      expect(rare.map((h) => h.id).sort()).toEqual(items.filter((x) => x.metadata.rare === 'yes').map((x) => x.id).sort());
      // a field no item has matches nothing
      expect(await store.search('c', { vector: query, k: 5, space, filter: { neverSeen: 'x' } })).toEqual([]);
    });

    it('refuses malformed filters with INVALID_FILTER', async () => {
      const query = randomVector(seededRandom(7), DIM);
      const bad: unknown[] = [
        'place = sea',
        ['place'],
        { place: { like: 'se%' } },
        { place: {} },
        { place: null },
        { place: ['sea'] },
        { year: '2020' },
        { year: { in: [] } },
        { year: { in: [2020, '2021'] } },
        { year: { in: 2020 } },
        { place: { gt: 3 } },
        { year: { gt: 'a' } },
        { year: Number.POSITIVE_INFINITY },
        { 'place = place OR 1': 'x' },
        { 'meta_place`': 'x' },
      ];
      for (const filter of bad) {
        await expectCode(store.search('c', { vector: query, k: 5, space, filter: filter as never }), 'INVALID_FILTER');
      }
      const op = await expectCode(store.search('c', { vector: query, k: 5, space, filter: { place: { regex: '.*' } } as never }), 'INVALID_FILTER');
      expect(op.message).toBe('Expected one of eq, ne, in, nin, gt, gte, lt, lte for operator of filter field place but received "regex"');
    });

    it('treats injection attempts as plain values', async () => {
      const query = randomVector(seededRandom(8), DIM);
      for (const value of ["sea' OR '1'='1", "sea\\' OR 1=1 --", "x') OR TRUE --", "sea'; DELETE FROM t; --"]) {
        expect(await store.search('c', { vector: query, k: 50, space, filter: { place: value } })).toEqual([]);
        expect(await store.search('c', { vector: query, k: 50, space, filter: { place: { in: [value] } } })).toEqual([]);
      }
      expect(await store.hasIds('c', ["m1' OR '1'='1"])).toEqual(new Set());
      expect(await store.deleteItem('c', "m1' OR '1'='1")).toBe(false);
      expect(await store.count('c')).toBe(200);
    });
  });
});
