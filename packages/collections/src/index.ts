export { openCollectionStore } from './collection-store.js';
// the store's public types: everything collection-types.ts declares
export type * from './collection-types.js';
export { CollectionError } from './collection-error.js';
export type { CollectionErrorCode, CollectionErrorFault } from './collection-error.js';
export type { CollectionItem, ItemMedia, MetadataValue } from './item-columns.js';
export type { FieldOperators, MetadataFilter, MetadataScalar } from './metadata-filter.js';
export { metadataFilterToSql } from './metadata-filter.js';
export type { AnnIndexType, AnnOptions, CollectionLogger, CollectionStoreOptions, S3StorageOptions } from './store-options.js';
export { ANN_INDEX_TYPES, STORE_DEFAULTS } from './store-options.js';
export { collectionStoreOptionsOf, openCollectionStoreFromConfig, lazyCollectionStore, collectionOwnerOf, spaceOfPack } from './server-store.js';
export { collectionMediaFolder, itemMediaPath, resolveMediaPath } from './media-files.js';
export { checkItemsBeforeEmbedding } from './item-check.js';
