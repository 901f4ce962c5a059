import { spaceOfPack, type CollectionStore, type MetadataFilter } from '@a2i/collections';
import type { ConditionTerm, NeighborsJob, NeighborUsed, PackDescription } from '@a2i/protocol';

/** The modality whose items a generation mixes in: images, the decoder's own space. */
const NEIGHBOR_MODALITY = 'image';

export interface NeighborMix {
  /** Empty when the collection holds no image the filter lets through. */
  terms: ConditionTerm[];
  /** The items mixed in, nearest first, with their cosine similarity to the query. */
  used: NeighborUsed[];
}

/**
 * Retrieval-augmented generation, the worker's part: the query's k nearest IMAGE items of the
 * job's collection (as the job's owner; exact scan or the ANN index, as the store decides),
 * and the mean of their unit vectors as one condition term of the job's weight. The pipeline
 * unit-normalises and rescales it with the inputs (GenerationHooks.augmentCondition).
 * An item deleted between the search and the read of its vector is left out. A mean that
 * cancels out (opposite neighbours) has no direction: nothing is mixed in.
 * Errors are the store's: COLLECTION_NOT_FOUND (dropped after the request was accepted),
 * SPACE_MISMATCH, INVALID_FILTER (input faults: the job fails), STORAGE_FAILURE (retried).
 */
export async function neighborMix(store: CollectionStore, neighbors: NeighborsJob, pack: PackDescription, query: Float32Array): Promise<NeighborMix> {
  const { collection, owner, k, weight, filter } = neighbors;
  // 1. the k nearest images of the query
  const hits = await store.search(collection, {
    vector: query,
    k,
    space: spaceOfPack(pack),
    owner,
    modality: NEIGHBOR_MODALITY,
    ...(filter !== undefined ? { filter: filter as MetadataFilter } : {}),
  });
  // 2. their stored unit vectors (a search hit carries none)
  const mean = new Float64Array(pack.dim);
  const used: NeighborUsed[] = [];
  for (const hit of hits) {
    const item = await store.getItem(collection, hit.id, owner);
    if (!item) continue;
    for (let d = 0; d < pack.dim; d++) mean[d]! += item.vector[d]!;
    used.push({ id: hit.id, score: hit.score });
  }
  if (used.length === 0) return { terms: [], used };
  // 3. mean = sum / n (its norm is whatever it is: the pipeline normalises every term)
  const vector = Float32Array.from(mean, (v) => v / used.length);
  const norm = Math.hypot(...vector);
  if (!(norm > 1e-6)) return { terms: [], used: [] };
  return { terms: [{ vector, weight }], used };
}
