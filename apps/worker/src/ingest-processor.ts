import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { CollectionError, collectionMediaFolder, itemMediaPath, type CollectionInfo, type CollectionItem, type CollectionStore } from '@a2i/collections';
import {
  ERROR_CODES,
  codeOf,
  ingestItemInput,
  ingestJobSchema,
  isInputFault,
  jobFailureReason,
  serverFaultMessage,
  type GenerationPipeline,
  type IngestFailure,
  type IngestJob,
  type IngestJobItem,
  type IngestResult,
  type JobStateStore,
} from '@a2i/protocol';
import type { ObjectStore } from '@a2i/storage';
import { localInputs, type LocalInputs } from './job-inputs.js';
import { parseJobData } from './job-data.js';
import { ProgressReporter } from './progress-reporter.js';

export interface IngestProcessorDeps {
  pipeline: GenerationPipeline;
  store: JobStateStore;
  collections: () => Promise<CollectionStore>;
  logger: Logger;
  /** Where the items' files are (job-inputs.ts); fetched into `scratchDir` from object storage. */
  uploads: ObjectStore;
  scratchDir: string;
  /** Where thumbnails go (A2I_COLLECTIONS_MEDIA_DIR, or the bucket's collections-media/). */
  media: ObjectStore;
  /** Modalities whose uploads keep a WebP thumbnail (A2I_COLLECTIONS_THUMBNAILS). */
  thumbnailModalities: readonly string[];
  /** Longest side of a thumbnail. */
  thumbnailPx: number;
  resultTtlSeconds: number;
  progressIntervalMs: number;
  /** Called after a successful ingest: keep the collection's ANN index in line, off the request path. */
  afterIngest?: (collection: string, owner: string | null) => void;
}

/**
 * The BullMQ processor of ingest jobs (POST /v1/collections/:name/items): embeds each item
 * on the warm pipeline (one `job:progress` per item, stage `embed`), makes a thumbnail of
 * image-like uploads, then writes every item that embedded in one `upsert` (mergeInsert on
 * id: an id given again replaces its item). Outcomes:
 * - an item whose input is refused (undecodable file, ...): listed in `failed` with its
 *   code, the others are stored; job:succeeded `{ ingest: { stored, failed } }`;
 * - the collection is gone (dropped before or during the job): job:failed
 *   COLLECTION_NOT_FOUND, and the thumbnails this job wrote are removed; the store drops
 *   the orphan table a write may have gone into (packages/collections README);
 * - a collection made in another space than the worker's pack: job:failed SPACE_MISMATCH;
 * - a server fault (storage, encoder): retried while attempts remain, then job:failed.
 * Items are written only here, in workers: the api never writes into a collection.
 */
export function createIngestProcessor(deps: IngestProcessorDeps): Processor<IngestJob, IngestResult> {
  const { pipeline, store, logger } = deps;
  const thumbnailed = new Set(deps.thumbnailModalities);

  return async (job: Job<IngestJob>) => {
    const id = job.id!;
    const data = await parseJobData(job, ingestJobSchema, 'ingest', { store, resultTtlSeconds: deps.resultTtlSeconds });
    const started = await store.started(id, Math.max(1, job.attemptsStarted));
    if (!started.applied) throw new UnrecoverableError(ERROR_CODES.JOB_FINISHED);
    const log = logger.child({ jobId: id, collection: data.collection });
    const written: string[] = [];
    let collection: CollectionInfo | null = null;
    let files: LocalInputs<IngestJobItem> | null = null;
    try {
      const collections = await deps.collections();
      // 1. the collection, in the space this worker embeds into
      const info = await collections.get(data.collection, data.owner);
      collection = info;
      const pack = pipeline.describe();
      if (info.space.pack !== pack.name || info.space.dim !== pack.dim) {
        throw new CollectionError(
          'SPACE_MISMATCH',
          `Expected a collection of pack ${pack.name} (${pack.dim}-d) for collection ${info.name} but it was made in ${info.space.pack} (${info.space.dim}-d)`,
        );
      }
      // 2. embed item by item: one refused input fails its item only
      const reporter = new ProgressReporter(deps.progressIntervalMs, () => 0, Date.now());
      const items: Array<CollectionItem & { index: number }> = [];
      const failed: IngestFailure[] = [];
      files = await localInputs(data.items, deps.uploads, deps.scratchDir, id);
      for (const [n, item] of files.items.entries()) {
        try {
          const output = await pipeline.embed([ingestItemInput(item)]);
          const media = await thumbnailOf(item, info, written);
          items.push({ index: item.index, id: item.id, vector: output.vectors[0]!, modality: item.modality, ...(item.metadata ? { metadata: item.metadata } : {}), ...(media ? { media } : {}) });
        } catch (error) {
          if (!isInputFault(error)) throw error;
          failed.push({ index: item.index, id: item.id, code: error.code, message: error.message });
        }
        const update = reporter.report({ stage: 'embed', step: n + 1, steps: data.items.length }, Date.now());
        if (update) await store.progress(id, update).catch((error: unknown) => log.warn({ err: error }, 'progress not recorded'));
      }
      // 3. one write; a metadata type that clashes with the collection's fails only its item
      const stored = await upsertAll(collections, info, items, failed);
      for (const item of items) if (!stored.includes(item.id) && item.media) await deps.media.delete(item.media.uri);
      failed.sort((a, b) => a.index - b.index);
      const result: IngestResult = { collection: data.collection, stored, failed };
      await store.ingestSucceeded(id, result, deps.resultTtlSeconds);
      log.info({ stored: stored.length, failed: failed.length }, 'ingest succeeded');
      if (stored.length > 0) deps.afterIngest?.(data.collection, data.owner);
      return result;
    } catch (error) {
      await Promise.all(written.map((uri) => deps.media.delete(uri).catch(() => undefined)));
      // dropped meanwhile: the api removed its media folder, perhaps before this job wrote into it
      if (collection && error instanceof CollectionError && error.code === 'COLLECTION_NOT_FOUND') {
        await deps.media.deletePrefix(`${collectionMediaFolder(collection)}/`).catch(() => undefined);
      }
      if (isInputFault(error)) {
        await store.failed(id, error.code, error.message, deps.resultTtlSeconds);
        log.info({ code: error.code }, 'ingest refused');
        throw new UnrecoverableError(jobFailureReason(error.code, error.message));
      }
      const code = codeOf(error);
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.error({ err: error, code, willRetry: !last }, 'ingest failed');
      if (last) await store.failed(id, code, serverFaultMessage('store the items', code), deps.resultTtlSeconds);
      else await store.requeued(id);
      throw error;
    } finally {
      await files?.release();
    }
  };

  /**
   * A small WebP of an image-like upload (longest side thumbnailPx, never enlarged), written
   * atomically (one put) under the collection's media folder; none for other modalities or a file
   * sharp cannot read (e.g. a depth map sent as .npy). Removes an older item's thumbnail
   * when the item replacing it has none.
   */
  async function thumbnailOf(item: IngestJobItem, info: CollectionInfo, written: string[]): Promise<{ uri: string; mimeType: string } | null> {
    const uri = itemMediaPath(info, item.id);
    if (item.file === undefined || !thumbnailed.has(item.modality)) {
      await deps.media.delete(uri);
      return null;
    }
    try {
      const bytes = await sharp(item.file).rotate().resize(deps.thumbnailPx, deps.thumbnailPx, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
      await deps.media.put(uri, bytes, { contentType: 'image/webp' });
      written.push(uri);
      return { uri, mimeType: 'image/webp' };
    } catch (error) {
      logger.debug?.({ err: error, item: item.id }, 'no thumbnail');
      await deps.media.delete(uri).catch(() => undefined);
      return null;
    }
  }
}

/**
 * Writes the items; returns the ids stored. When the batch is refused for an item's input
 * (INVALID_METADATA: a field's type differs from the collection's), each item is written
 * alone so that only the offending ones fail.
 */
async function upsertAll(collections: CollectionStore, info: CollectionInfo, items: Array<CollectionItem & { index: number }>, failed: IngestFailure[]): Promise<string[]> {
  if (items.length === 0) return [];
  const plain = (item: CollectionItem & { index: number }): CollectionItem => {
    const { index: _index, ...rest } = item;
    return rest;
  };
  try {
    await collections.upsert(info.name, items.map(plain), info.owner);
    return items.map((item) => item.id);
  } catch (error) {
    if (!isInputFault(error) || (error instanceof CollectionError && error.code === 'COLLECTION_NOT_FOUND')) throw error;
  }
  const stored: string[] = [];
  for (const item of items) {
    try {
      await collections.upsert(info.name, [plain(item)], info.owner);
      stored.push(item.id);
    } catch (error) {
      if (!isInputFault(error) || (error instanceof CollectionError && error.code === 'COLLECTION_NOT_FOUND')) throw error;
      failed.push({ index: item.index, id: item.id, code: error.code, message: error.message });
    }
  }
  return stored;
}
