import { Worker, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { lazyCollectionStore, type CollectionStore } from '@a2i/collections';
import type { GenerationPipeline, IngestJob, IngestResult, JobStateStore, RedisLayout, ServerConfig } from '@a2i/protocol';
import type { ObjectStore } from '@a2i/storage';
import { IndexMaintainer } from './index-maintainer.js';
import { createIngestProcessor } from './ingest-processor.js';

/**
 * The worker's part in collections: a BullMQ worker on the `ingest` queue (one job at a time:
 * item writes of one process never race each other), the collection store opened on first
 * use (A2I_COLLECTIONS_URI), and the index maintainer that runs ensureIndex after ingests.
 */
export function startIngestWorker(options: {
  config: ServerConfig;
  logger: Logger;
  layout: RedisLayout;
  pipeline: GenerationPipeline;
  store: JobStateStore;
  workerOptions: WorkerOptions;
  /** Where the items' files are, and the local folder they are fetched into from object storage (job-inputs.ts). */
  files: { uploads: ObjectStore; scratchDir: string };
  /** Where thumbnails go (ServerStorage.media). */
  media: ObjectStore;
  /** The process's collection store (shared with generations that read neighbours; its owner closes it); absent: one of its own. */
  collections?: { get(): Promise<CollectionStore> };
}): { worker: Worker<IngestJob, IngestResult>; close(): Promise<void> } {
  const { config, logger, layout, pipeline, store, workerOptions } = options;
  const own = options.collections ? null : lazyCollectionStore(config, logger);
  const collections = options.collections ?? own!;
  const indexes = new IndexMaintainer(() => collections.get(), logger);
  const worker = new Worker<IngestJob, IngestResult>(
    layout.ingestQueue,
    createIngestProcessor({
      pipeline,
      store,
      collections: () => collections.get(),
      logger,
      uploads: options.files.uploads,
      scratchDir: options.files.scratchDir,
      media: options.media,
      thumbnailModalities: config.collections.thumbnailModalities,
      thumbnailPx: config.collections.thumbnailPx,
      resultTtlSeconds: config.resultTtlSeconds,
      progressIntervalMs: config.worker.progressIntervalMs,
      afterIngest: (name, owner) => indexes.request(name, owner),
    }),
    { ...workerOptions, concurrency: 1 },
  );
  return {
    worker,
    async close() {
      await worker.close();
      await indexes.idle();
      own?.close();
    },
  };
}
