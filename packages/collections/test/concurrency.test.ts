import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectionError, openCollectionStore, type CollectionStore } from '../src/index.js';
import { randomVector, seededRandom, tempStoreDir } from './fixtures.js';

const DIM = 32;
const space = { pack: 'demo', dim: DIM };

describe('two store instances on one directory (as two processes)', () => {
  let a: CollectionStore;
  let b: CollectionStore;
  let cleanup: () => void;

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempStoreDir());
    a = await openCollectionStore({ uri: dir });
    b = await openCollectionStore({ uri: dir });
  });
  afterEach(() => {
    a.close();
    b.close();
    cleanup();
  });

  it("see each other's collections and writes at once", async () => {
    const random = seededRandom(11);
    await a.create({ name: 'shared', space });
    expect((await b.list()).map((c) => c.name)).toEqual(['shared']);
    // warm b's table handle first, so the test shows it does not serve a stale version
    expect(await b.count('shared')).toBe(0);
    const v = randomVector(random, DIM);
    await a.upsert('shared', [{ id: 'x', vector: v, modality: 'audio', metadata: { by: 'a' } }]);
    expect(await b.count('shared')).toBe(1);
    expect((await b.search('shared', { vector: v, k: 1, space }))[0]).toMatchObject({ id: 'x', metadata: { by: 'a' } });
    await b.upsert('shared', [{ id: 'x', vector: v, modality: 'audio', metadata: { by: 'b' } }]);
    expect((await a.getItem('shared', 'x'))!.metadata).toEqual({ by: 'b' });
    await b.drop('shared');
    await expect(a.count('shared')).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND' });
  });

  it('concurrent mergeInserts of the same new ids from two connections leave one row per id', async () => {
    const random = seededRandom(12);
    await a.create({ name: 'race', space });
    for (let round = 0; round < 3; round++) {
      const items = (tag: string) => Array.from({ length: 300 }, (_, i) => ({ id: `r${round}-${i}`, vector: randomVector(random, DIM), modality: 'audio', metadata: { by: tag } }));
      const [ra, rb] = await Promise.all([a.upsert('race', items('a')), b.upsert('race', items('b'))]);
      // one writer inserted, the other's commit conflicted, was retried and updated
      expect(ra.inserted + rb.inserted).toBe(300);
      expect(ra.updated + rb.updated).toBe(300);
    }
    expect(await a.count('race')).toBe(900);
  });

  it('a drop during a big upsert leaves a consistent store; the name can be re-created', async () => {
    const random = seededRandom(13);
    await a.create({ name: 'victim', space });
    const items = Array.from({ length: 20_000 }, (_, i) => ({ id: `v${i}`, vector: randomVector(random, DIM), modality: 'audio', metadata: { n: i } }));
    const upsert = a.upsert('victim', items).then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 20));
    await b.drop('victim');
    const outcome = await upsert;
    // Either the upsert finished before the drop took its table, or it learns that the
    // collection is gone; it never reports success into a collection that no longer exists.
    if (outcome !== null) {
      expect(outcome).toBeInstanceOf(CollectionError);
      expect((outcome as CollectionError).code).toBe('COLLECTION_NOT_FOUND');
    }
    expect(await a.list()).toEqual([]);
    expect(await b.list()).toEqual([]);

    await b.create({ name: 'victim', space });
    expect(await a.count('victim')).toBe(0);
    await a.upsert('victim', items.slice(0, 10));
    expect(await b.count('victim')).toBe(10);
    expect((await a.list()).map((c) => c.name)).toEqual(['victim']);
    // nothing but the live table is left behind
    expect(await a.dropOrphanTables({ olderThanMs: 0 })).toEqual([]);
  });
});
