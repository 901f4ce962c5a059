import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectionError, openCollectionStore, type CollectionStore } from '../src/index.js';
import { expectCode, openTempStore } from './fixtures.js';

const space = { pack: 'demo', dim: 8 };

describe('collections: create, list, get, drop', () => {
  let store: CollectionStore;
  let cleanup: () => void;
  let dir: string;

  beforeEach(async () => {
    ({ dir, store, cleanup } = await openTempStore());
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  it('creates, lists, gets and drops a collection', async () => {
    const created = await store.create({ name: 'sounds', description: 'field recordings', space });
    expect(created).toMatchObject({ name: 'sounds', owner: null, description: 'field recordings', space });
    expect(Date.parse(created.createdAt)).not.toBeNaN();
    await store.create({ name: 'images', space: { pack: 'demo', dim: 8 } });

    expect((await store.list()).map((c) => c.name)).toEqual(['images', 'sounds']);
    expect(await store.get('sounds')).toEqual(created);

    await store.drop('sounds');
    expect((await store.list()).map((c) => c.name)).toEqual(['images']);
    await expectCode(store.get('sounds'), 'COLLECTION_NOT_FOUND');
    await expectCode(store.drop('sounds'), 'COLLECTION_NOT_FOUND');
  });

  it('keeps collections across reopening (durable registry)', async () => {
    await store.create({ name: 'kept', owner: 'alice', space });
    store.close();
    store = await openCollectionStore({ uri: `file://${dir}` });
    expect(await store.get('kept', 'alice')).toMatchObject({ name: 'kept', owner: 'alice', space });
  });

  it('refuses a duplicate name with COLLECTION_EXISTS', async () => {
    await store.create({ name: 'dup', space });
    const error = await expectCode(store.create({ name: 'dup', space }), 'COLLECTION_EXISTS');
    expect(error.fault).toBe('input');
  });

  it('validates names, owners and spaces with the message template', async () => {
    for (const name of ['', 'Upper', '-lead', 'a'.repeat(64), 'sp ace', "x'; drop", '../up']) {
      const error = await expectCode(store.create({ name, space }), 'INVALID_NAME');
      expect(error.message).toMatch(/^Expected a name matching .* for collection name but received /);
    }
    expect((await store.create({ name: 'a'.repeat(63), space })).name).toHaveLength(63);
    await expectCode(store.create({ name: 'x', owner: '', space }), 'INVALID_OWNER');
    await expectCode(store.create({ name: 'x', space: { pack: 'demo', dim: 0 } }), 'INVALID_SPACE');
    await expectCode(store.create({ name: 'x', space: { pack: '', dim: 8 } }), 'INVALID_SPACE');
    await expectCode(store.get('Nope'), 'INVALID_NAME');
  });

  it('isolates owners: one owner cannot see, get or drop another owner\'s collection', async () => {
    await store.create({ name: 'mine', owner: 'alice', space });
    await store.create({ name: 'shared-name', owner: 'alice', space });
    await store.create({ name: 'shared-name', owner: 'bob', space: { pack: 'demo', dim: 4 } });
    await store.create({ name: 'public', space });

    expect((await store.list('alice')).map((c) => c.name)).toEqual(['mine', 'shared-name']);
    expect((await store.list('bob')).map((c) => c.name)).toEqual(['shared-name']);
    expect((await store.list()).map((c) => c.name)).toEqual(['public']);
    expect((await store.get('shared-name', 'bob')).space.dim).toBe(4);

    await expectCode(store.get('mine', 'bob'), 'COLLECTION_NOT_FOUND');
    await expectCode(store.get('mine'), 'COLLECTION_NOT_FOUND');
    await expectCode(store.drop('mine', 'bob'), 'COLLECTION_NOT_FOUND');
    await expectCode(store.count('mine', 'bob'), 'COLLECTION_NOT_FOUND');
    await expectCode(store.get('public', 'alice'), 'COLLECTION_NOT_FOUND');
    await store.drop('shared-name', 'bob');
    expect((await store.get('shared-name', 'alice')).owner).toBe('alice');
  });

  it('lets exactly one of two racing creators (two connections) win', async () => {
    const other = await openCollectionStore({ uri: dir });
    try {
      for (let round = 0; round < 5; round++) {
        const name = `race-${round}`;
        const results = await Promise.allSettled([store.create({ name, space }), other.create({ name, space })]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect((failed.reason as CollectionError).code).toBe('COLLECTION_EXISTS');
      }
      expect((await store.list()).map((c) => c.name)).toEqual(['race-0', 'race-1', 'race-2', 'race-3', 'race-4']);
      expect(await other.dropOrphanTables({ olderThanMs: 0 })).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('validates store options by name', async () => {
    await expectCode(openCollectionStore({ uri: '' }), 'INVALID_OPTION');
    await expectCode(openCollectionStore({ uri: 'http://example.invalid/x' }), 'INVALID_OPTION');
    await expectCode(openCollectionStore({ uri: dir, maxK: 0 }), 'INVALID_OPTION');
    await expectCode(openCollectionStore({ uri: dir, s3: { region: 'x' } }), 'INVALID_OPTION');
    const error = await expectCode(openCollectionStore({ uri: dir, indexTreshold: 5 } as never), 'INVALID_OPTION');
    expect(error.message).toContain('indexTreshold');
    const indexType = await expectCode(openCollectionStore({ uri: dir, ann: { indexType: 'hnsw' } } as never), 'INVALID_OPTION');
    expect(indexType.message).toBe('Expected one of ivf_rq, ivf_pq for ann.indexType but received "hnsw"');
    await expectCode(openCollectionStore({ uri: dir, ann: { dimsPerSubVector: 8 } }), 'INVALID_OPTION');
    (await openCollectionStore({ uri: dir, ann: { indexType: 'ivf_pq', dimsPerSubVector: 8 } })).close();
  });
});
