import type { CollectionItem, ItemMedia, MetadataValue } from './item-columns.js';
import type { MetadataFilter } from './metadata-filter.js';

// The collection store's public surface: what callers pass and get back (collection-store.ts
// implements it on LanceDB).

/** The embedding space a vector lives in: the model pack's name and the space's dimension. */
export interface EmbeddingSpace {
  pack: string;
  dim: number;
}

export interface CreateCollectionInput {
  name: string;
  owner?: string | null;
  description?: string | null;
  space: EmbeddingSpace;
}

export interface CollectionInfo {
  name: string;
  owner: string | null;
  description: string | null;
  space: EmbeddingSpace;
  /** ISO 8601 */
  createdAt: string;
}

export interface StoredItem {
  id: string;
  /** unit length */
  vector: Float32Array;
  modality: string;
  metadata: Record<string, MetadataValue>;
  media: ItemMedia | null;
}

export interface SearchOptions {
  vector: Float32Array | readonly number[];
  k: number;
  /** The space the query vector was made in; must equal the collection's. */
  space: EmbeddingSpace;
  filter?: MetadataFilter;
  /** Only items of this modality (or these modalities). */
  modality?: string | readonly string[];
  /** Force a flat (exact) scan even when an ANN index exists. */
  exact?: boolean;
  owner?: string | null;
}

export interface SearchHit {
  id: string;
  /** cosine similarity in [-1, 1], higher is nearer */
  score: number;
  modality: string;
  metadata: Record<string, MetadataValue>;
  media: ItemMedia | null;
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  /** commits made (one per upsertBatchRows items) */
  commits: number;
  /** metadata fields that got a new column */
  newFields: string[];
}

export interface EnsureIndexResult {
  action: 'none' | 'created' | 'updated' | 'rebuilt';
  reason: string;
  rows: number;
  indexedRows: number;
  unindexedRows: number;
  index: { name: string; type: string; distance: 'cosine'; numPartitions?: number; numSubVectors?: number } | null;
  ms: number;
}

/** A collection resolved once (CollectionStore.open): its description and a search on it. */
export interface OpenCollection {
  info: CollectionInfo;
  /** As CollectionStore.search; `owner` is the one the collection was opened as. */
  search(options: Omit<SearchOptions, 'owner'>): Promise<SearchHit[]>;
}

export interface CollectionStore {
  create(input: CreateCollectionInput): Promise<CollectionInfo>;
  list(owner?: string | null): Promise<CollectionInfo[]>;
  get(name: string, owner?: string | null): Promise<CollectionInfo>;
  drop(name: string, owner?: string | null): Promise<void>;
  upsert(name: string, items: readonly CollectionItem[], owner?: string | null): Promise<UpsertResult>;
  getItem(name: string, id: string, owner?: string | null): Promise<StoredItem | null>;
  deleteItem(name: string, id: string, owner?: string | null): Promise<boolean>;
  count(name: string, owner?: string | null): Promise<number>;
  hasIds(name: string, ids: readonly string[], owner?: string | null): Promise<Set<string>>;
  search(name: string, options: SearchOptions): Promise<SearchHit[]>;
  /**
   * The collection `name` of `owner`, read from the registry once, with a search on it that
   * does not read the registry again (a caller that checks the collection before it searches).
   */
  open(name: string, owner?: string | null): Promise<OpenCollection>;
  ensureIndex(name: string, owner?: string | null): Promise<EnsureIndexResult>;
  /** Drops item tables no registry row points at (left by a crash between create/drop steps). */
  dropOrphanTables(options?: { olderThanMs?: number }): Promise<string[]>;
  close(): void;
}
