export { checkKey, type ByteRange, type ObjectBody, type ObjectStore, type PresignOptions, type PutOptions, type StoredObject, type TopLevelEntry } from './object-store.js';
export { FileStore } from './file-store.js';
export { S3Store, S3_CALLS, type S3Call } from './s3-store.js';
export { createS3Client, s3RegionOf, type S3ConnectionOptions } from './s3-client.js';
export { serverStorageOf, s3ClientOf, type ServerStorage } from './server-storage.js';
export { putFile, fetchToFile, readObject } from './file-transfer.js';
