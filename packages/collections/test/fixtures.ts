import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { cosineSimilarity } from '@a2i/imagebind';
import { CollectionError, openCollectionStore, type CollectionStore, type CollectionStoreOptions } from '../src/index.js';

/** A fresh directory per test; removed by the returned cleanup. */
export function tempStoreDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'a2i-collections-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A store opened on a fresh directory; close the store, then call cleanup. */
export async function openTempStore(options: Omit<CollectionStoreOptions, 'uri'> = {}): Promise<{ dir: string; store: CollectionStore; cleanup: () => void }> {
  const { dir, cleanup } = tempStoreDir();
  return { dir, store: await openCollectionStore({ uri: dir, ...options }), cleanup };
}

/** Awaits a promise that must reject with a CollectionError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<CollectionError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CollectionError);
  expect((error as CollectionError).code).toBe(code);
  return error as CollectionError;
}

export { perturb, randomVector, seededRandom } from './random-vectors.js';

/** Cosine similarity in float64 (ImageBind's), the reference the store's scores are checked against. */
export { cosineSimilarity as cosine } from '@a2i/imagebind';

/** Brute-force top k by cosine: [{ id, score }] best first. */
export function bruteForceTopK(query: ArrayLike<number>, items: { id: string; vector: ArrayLike<number> }[], k: number): { id: string; score: number }[] {
  return items
    .map((item) => ({ id: item.id, score: cosineSimilarity(query, item.vector) }))
    .sort((x, y) => y.score - x.score)
    .slice(0, k);
}
