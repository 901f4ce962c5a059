import type { S3Client } from '@aws-sdk/client-s3';
import type { ServerConfig } from '@a2i/protocol';
import { FileStore } from './file-store.js';
import type { ObjectStore } from './object-store.js';
import { createS3Client } from './s3-client.js';
import { S3Store } from './s3-store.js';

/**
 * The server's stores, from its configuration (A2I_STORAGE, README "Storage"), opened the
 * same way by the api and the workers:
 * - `uploads`: `<jobId>/part-<n>`, a request's files, then its job's until its final state;
 * - `results`: a job's images (protocol's resultKey says where);
 * - `media`: collection items' thumbnails (@a2i/collections itemMediaPath says where).
 * With file:<dir> they are the folders A2I_UPLOADS_DIR, A2I_RESULTS_DIR and
 * A2I_COLLECTIONS_MEDIA_DIR, exactly as before object storage; with s3://bucket/prefix,
 * `<prefix>/uploads/`, `<prefix>/results/` and `<prefix>/collections-media/`.
 */
export interface ServerStorage {
  uploads: ObjectStore;
  results: ObjectStore;
  media: ObjectStore;
  /**
   * A local folder (A2I_UPLOADS_DIR) where an api receives a body (`<jobId>/part-<n>`) before
   * its files go to `uploads`: the same folder as `uploads` for a directory, so nothing moves.
   */
  spoolDir: string;
  /** Each attempt writes its results under a folder of its own (object storage: no rename). */
  resultsPerAttempt: boolean;
}

/** The S3 client of an s3:// configuration (null for a directory); credentials from the AWS SDK's chain. */
export function s3ClientOf(config: Pick<ServerConfig, 'storage'>): S3Client | null {
  const s = config.storage;
  if (s.kind !== 's3') return null;
  return createS3Client({
    ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
    ...(s.region !== undefined ? { region: s.region } : {}),
    ...(s.forcePathStyle !== undefined ? { forcePathStyle: s.forcePathStyle } : {}),
  });
}

/** `client`: an S3 client of one's own for an s3:// configuration (tests record its calls). */
export function serverStorageOf(config: Pick<ServerConfig, 'storage' | 'dirs'> & { collections: Pick<ServerConfig['collections'], 'mediaDir'> }, client?: S3Client): ServerStorage {
  const s = config.storage;
  if (s.kind === 'file') {
    return {
      uploads: new FileStore(config.dirs.uploads),
      results: new FileStore(config.dirs.results),
      media: new FileStore(config.collections.mediaDir),
      spoolDir: config.dirs.uploads,
      resultsPerAttempt: false,
    };
  }
  const base = new S3Store(client ?? s3ClientOf(config)!, s.bucket, s.prefix);
  return { uploads: base.under('uploads'), results: base.under('results'), media: base.under('collections-media'), spoolDir: config.dirs.uploads, resultsPerAttempt: true };
}
