import { spaceOfPack, type CollectionInfo, type CollectionStore, type MetadataFilter } from '@a2i/collections';
import { CodedError } from '@a2i/protocol/errors';
import { ERROR_CODES, type InputSpec, type NeighborsRequest, type PackDescription, type StoredItemVectors } from '@a2i/protocol';

/**
 * Generation from search, the api's part (README "Search"): what a request reads from the
 * collections before anything is queued. The api reads the store and never runs a model;
 * the worker does the rest.
 * - `{ modality: "item", collection, id }` inputs: the stored unit vectors, looked up here
 *   as the caller (owner), so the job carries plain vectors: a worker needs no store for them
 *   and an item deleted after the answer cannot fail the job.
 * - `neighbors`: the collection must exist for the caller and be in the pack's space, and
 *   its filter must compile; the search itself needs the query, so the worker runs it.
 * Codes: 404 COLLECTION_NOT_FOUND (also another owner's collection), 404 ITEM_NOT_FOUND,
 * 409 SPACE_MISMATCH, 400 INVALID_FILTER.
 */
export class ItemNotFoundError extends CodedError {
  override readonly name = 'ItemNotFoundError';
  constructor(message: string) {
    super(ERROR_CODES.ITEM_NOT_FOUND, message);
  }
}

/** The collection, if the owner may read it and it is in the pack's space. */
async function readableCollection(store: CollectionStore, name: string, owner: string | null, pack: PackDescription, field: string): Promise<CollectionInfo> {
  const info = await store.get(name, owner);
  if (info.space.pack !== pack.name || info.space.dim !== pack.dim) {
    throw new CodedError(
      ERROR_CODES.SPACE_MISMATCH,
      `Expected a collection of the pack the workers serve (${pack.name}, ${pack.dim}-d) for ${field} but ${info.name} was made in ${info.space.pack} (${info.space.dim}-d)`,
    );
  }
  return info;
}

/** The stored vectors of the `item` inputs, by input index (resolveInputs turns them into `embedding` inputs). */
export async function lookUpItemInputs(inputs: readonly InputSpec[], store: () => Promise<CollectionStore>, owner: string | null, pack: PackDescription): Promise<StoredItemVectors> {
  const found = new Map<number, { vector: number[]; modality: string }>();
  if (!inputs.some((input) => input.modality === 'item')) return found;
  const collections = await store();
  for (const [i, input] of inputs.entries()) {
    if (input.modality !== 'item') continue;
    const collection = input.collection!;
    const id = input.id!;
    await readableCollection(collections, collection, owner, pack, `inputs.${i}.collection`);
    const item = await collections.getItem(collection, id, owner);
    if (!item) throw new ItemNotFoundError(`Expected a stored item for inputs.${i}.id but collection ${collection} has no item ${JSON.stringify(id)}`);
    found.set(i, { vector: Array.from(item.vector), modality: item.modality });
  }
  return found;
}

/**
 * Checks a request's `neighbors` before queueing: the collection (owner, space) and the
 * filter, which compiles only against the collection's columns, so it is tried in a k=1
 * search of a unit vector (cheap: exact below the index threshold, ANN above).
 */
export async function checkNeighbors(neighbors: NeighborsRequest, store: () => Promise<CollectionStore>, owner: string | null, pack: PackDescription): Promise<void> {
  const collections = await store();
  await readableCollection(collections, neighbors.collection, owner, pack, 'neighbors.collection');
  if (neighbors.filter === undefined) return;
  const probe = new Float32Array(pack.dim);
  probe[0] = 1;
  await collections.search(neighbors.collection, { vector: probe, k: 1, space: spaceOfPack(pack), owner, modality: 'image', filter: neighbors.filter as MetadataFilter });
}
