import type { ServerConfig } from '@a2i/protocol';
import { openCollectionStore } from './collection-store.js';
import type { CollectionStore, EmbeddingSpace } from './collection-types.js';
import type { CollectionLogger, CollectionStoreOptions } from './store-options.js';

/**
 * The server's collection store, from its one configuration (`loadServerConfig`:
 * A2I_COLLECTIONS_URI, A2I_COLLECTIONS_S3_*, A2I_COLLECTIONS_INDEX_THRESHOLD,
 * A2I_COLLECTIONS_MAX_K). The api, the worker and anything else that reads collections
 * (generation from search) open it the same way.
 */
export function collectionStoreOptionsOf(config: ServerConfig, logger?: CollectionLogger): CollectionStoreOptions {
  const c = config.collections;
  const options: CollectionStoreOptions = { uri: c.uri, indexThreshold: c.indexThreshold, maxK: c.maxK };
  if (logger) options.logger = logger;
  if (c.uri.startsWith('s3://')) options.s3 = c.s3;
  return options;
}

export function openCollectionStoreFromConfig(config: ServerConfig, logger?: CollectionLogger): Promise<CollectionStore> {
  return openCollectionStore(collectionStoreOptionsOf(config, logger));
}

/**
 * Opens the store on first use and keeps it: processes that never touch a collection
 * (most tests, a worker that only generates) create no directory and open no table.
 * A failed open is not kept, so the next call tries again.
 */
export function lazyCollectionStore(config: ServerConfig, logger?: CollectionLogger): { get(): Promise<CollectionStore>; close(): void } {
  let pending: Promise<CollectionStore> | null = null;
  return {
    get() {
      pending ??= openCollectionStoreFromConfig(config, logger).catch((error: unknown) => {
        pending = null;
        throw error;
      });
      return pending;
    },
    close() {
      pending?.then((store) => store.close(), () => undefined);
      pending = null;
    },
  };
}

/**
 * Whose collections a caller sees: with A2I_API_KEYS set, the sha256 of the caller's key
 * (the same digest jobs record as their owner); with no keys configured, null (one shared
 * namespace).
 */
export function collectionOwnerOf(config: Pick<ServerConfig, 'apiKeys'>, apiKeyHash: string | undefined): string | null {
  return config.apiKeys.length > 0 && apiKeyHash !== undefined ? apiKeyHash : null;
}

/** The embedding space of the pack the workers serve (its name and dim). */
export function spaceOfPack(pack: { name: string; dim: number }): EmbeddingSpace {
  return { pack: pack.name, dim: pack.dim };
}
