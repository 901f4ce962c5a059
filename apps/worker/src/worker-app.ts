import { mkdir } from 'node:fs/promises';
import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import {
  ERROR_CODES,
  JobStateStore,
  WebhookNotifier,
  createRedisConnection,
  isRedisUnavailable,
  redisLayout,
  untilRedisReady,
  defaultBatchRows,
  LIVE_JOB_NAME,
  VIDEO_JOB_NAME,
  VIDEO_PART_JOB_NAME,
  type LiveJob,
  type GenerationJob,
  type GenerationPipeline,
  type VideoPartJob,
  type ServerConfig,
  type WebhookDelivery,
} from '@a2i/protocol';
import { lazyCollectionStore } from '@a2i/collections';
import { FileStore, serverStorageOf, type ServerStorage } from '@a2i/storage';
import { createEmbeddingProcessor } from './embedding-processor.js';
import { startIngestWorker } from './ingest-worker.js';
import { createGenerationProcessor } from './generation-processor.js';
import { LOCK_LOST, type PipelineJobDeps } from './run-failure.js';
import { HandBack } from './hand-back.js';
import { servedDescription, startHeartbeat } from './heartbeat.js';
import { warmUpPipeline } from './warm-up.js';
import { createWorkerMetrics, serveMetrics } from './worker-metrics.js';
import { lostByItsWorkers } from './lost-job.js';
import { describeFfmpeg, PipelinePool, pipelineSpecOf } from '@a2i/pipeline';
import { startSweeper, UPLOAD_GRACE_MS } from './result-sweeper.js';
import { liveJobOwns, removeUploadsWhenFinal } from './upload-cleanup.js';
import { RunningVideoParts } from './running-video-parts.js';
import { createVideoProcessor } from './video-processor.js';
import { createVideoPartProcessor } from './video-part-processor.js';
import { createLiveProcessor } from './live-processor.js';
import { generationRows, RowAdmission } from './row-admission.js';

/** How long a worker waits for Redis when it starts (then it stops with a message). */
const REDIS_STARTUP_WAIT_MS = 10_000;

/** The models a shared call runs, by the stage its reports name. */
const SHARED_STAGE_NAMES = { prior: 'prior', decode: 'UNet', vae: 'VAE' } as const;

export interface RunningWorker {
  readonly name: string;
  readonly pipeline: GenerationPipeline;
  /** Where its Prometheus metrics are served (A2I_WORKER_METRICS_PORT), or null. */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
}

/**
 * A worker process's whole life: load the pipeline once (in its thread), then take jobs from
 * the generation and embedding queues until closed. Cancel requests arrive on
 * `<prefix>:cancel`; each worker aborts the job only if it holds it.
 */
export async function startWorker({ config, logger, storage: given }: { config: ServerConfig; logger: Logger; storage?: ServerStorage }): Promise<RunningWorker> {
  const layout = redisLayout(config.redis.prefix);
  // uploads and results (A2I_STORAGE): the two folders, or the bucket (checked with these credentials now)
  const storage = given ?? serverStorageOf(config);
  await storage.results.check();
  await storage.uploads.check();
  // the local folder inputs fetched from object storage go to (the uploads folder itself for a directory)
  await mkdir(storage.spoolDir, { recursive: true });
  const files = { uploads: storage.uploads, scratchDir: storage.spoolDir };

  // A2I_PIPELINE_INSTANCES: the pipeline in one thread, or several, the jobs spread over them (pipeline-pool.ts)
  const pipeline = await PipelinePool.start(pipelineSpecOf(config), config.worker.pipelineInstances);
  const ffmpeg = describeFfmpeg();
  // video outputs need ffmpeg to write MP4: without it the api refuses them (MEDIA_NEEDS_FFMPEG)
  const description = { ...servedDescription(pipeline.describe(), config.worker.modalities), outputs: ffmpeg.available ? ['image' as const, 'video' as const] : ['image' as const] };
  // continuous batching's limit: configured, or sized by the pack's images (defaultBatchRows)
  const maxBatchRows = config.worker.maxBatchRows ?? defaultBatchRows(description.imageSize);
  // a shared UNet call's row cap (A2I_SHARED_CALL_ROWS), in force only while the worker batches
  const sharedCallRows = maxBatchRows > 1 ? config.worker.sharedCall.maxRows : null;
  logger.info({ pipeline: config.pipeline, pack: description.name, dim: description.dim, modalities: description.modalities, maxBatchRows, sharedCallRows, instances: pipeline.size }, 'pipeline loaded');
  // A2I_WORKER_METRICS_PORT: Prometheus metrics of the batch (worker-metrics.ts)
  const metrics = config.worker.metrics ? createWorkerMetrics(maxBatchRows, sharedCallRows, pipeline.size) : null;
  // continuous batching: a shared call too large for the device (out of memory) is run again in
  // parts, and the stage's calls are held to the largest part until a whole call, tried again
  // now and then, runs (@a2i/unclip row-limit.ts)
  pipeline.onRowLimit = (change) => {
    if (change.limit === null) {
      logger.info({ stage: change.stage, ranRows: change.ranRows }, `a shared ${SHARED_STAGE_NAMES[change.stage]} call of ${change.ranRows} model rows, tried again, ran whole: its calls have no row limit again`);
    } else {
      logger.warn(
        { stage: change.stage, limit: change.limit, failedRows: change.failedRows, err: change.error },
        `a shared ${SHARED_STAGE_NAMES[change.stage]} call of ${change.failedRows} model rows failed and ran in parts: its calls now hold at most ${change.limit} rows`,
      );
    }
    metrics?.recordRowLimit(change);
  };
  // Before any queue is read and before the first heartbeat: ready means a job runs at full speed.
  let warmUpMs: number | null = null;
  if (config.worker.warmUp) {
    try {
      warmUpMs = await warmUpPipeline(pipeline, logger);
    } catch (error) {
      await pipeline.close().catch(() => undefined);
      throw error;
    }
  }
  // the metrics' calls are heard from now on (not the warm-up's); a port that cannot be had stops
  // the worker before it takes a job
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  if (metrics && config.worker.metrics) {
    try {
      metricsServer = await serveMetrics(metrics.registry, config.worker.metrics.host, config.worker.metrics.port);
    } catch (error) {
      await pipeline.close().catch(() => undefined);
      throw error;
    }
    pipeline.onModelCall = (call) => metrics.recordModelCall(call);
    logger.info({ url: metricsServer.url }, 'worker metrics');
  }
  if (!ffmpeg.available) {
    logger.warn({ ffmpeg: 'none' }, ffmpeg.reason);
  } else {
    logger.info({ ffmpeg: ffmpeg.ffmpeg, ffprobe: ffmpeg.ffprobe, source: ffmpeg.source, version: ffmpeg.version }, 'ffmpeg');
  }

  // Every connection from one module, with the options of its use (@a2i/protocol redis-connections.ts):
  // BullMQ's workers block (maxRetriesPerRequest: null); the state records wait until Redis is back,
  // so a job that finished while Redis was away still ends with its final state (and its event).
  const connections = { url: config.redis.url, commandTimeoutMs: config.redis.commandTimeoutMs, logger };
  const connection = createRedisConnection('blocking', 'worker-queue', connections);
  const redis = createRedisConnection('background', 'worker-commands', connections);
  const subscriber = createRedisConnection('subscriber', 'worker-cancel', connections);
  await untilRedisReady(subscriber, REDIS_STARTUP_WAIT_MS);
  // Webhooks: the starts, progress and outcomes recorded here queue their deliveries (the api instances send them).
  const webhookQueue = new Queue<WebhookDelivery>(layout.webhookQueue, { connection: redis, prefix: layout.prefix });
  const notifier = WebhookNotifier.fromConfig(redis, layout, webhookQueue, config, logger);
  const store = new JobStateStore(redis, layout, Date.now, { tombstoneTtlSeconds: config.tombstoneTtlSeconds, recorder: notifier });

  const workerOptions = {
    connection,
    prefix: layout.prefix,
    name: config.worker.name,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
  };
  // One collection store per process, opened on first use: ingest jobs write it, generations with `neighbors` search it.
  const collections = lazyCollectionStore(config, logger);
  // what every processor that runs the pipeline for a generations-queue job is given (run-failure.ts)
  const jobDeps: PipelineJobDeps = { pipeline, store, logger, results: storage.results, ...files, resultTtlSeconds: config.resultTtlSeconds };
  const generate = createGenerationProcessor({ ...jobDeps, progressIntervalMs: config.worker.progressIntervalMs, collections: () => collections.get() });
  // Videos (README "Sound to video"): the video's job plans and encodes, its parts (BullMQ children) make the frames.
  const videoParts = new Queue(layout.generationQueue, { connection: redis, prefix: layout.prefix });
  const runningParts = new RunningVideoParts();
  const video = createVideoProcessor({
    ...jobDeps,
    progressIntervalMs: config.worker.progressIntervalMs,
    video: config.video,
    queue: videoParts,
    partAttempts: config.worker.attempts,
  });
  const videoPart = createVideoPartProcessor({ ...jobDeps, running: runningParts });
  // One queue for images, videos and their parts: batched together (A2I_MAX_BATCH_ROWS), or one at a time per device.
  // SIGTERM: images and embeddings still running after the grace period go back to the queue (hand-back.ts)
  const handBack = new HandBack();
  const generateOrHandBack = handBack.wrap(generate);
  // Live sound's pictures (README "Live sound"): small jobs of the same queue, first in, first out with the others.
  const live = createLiveProcessor(pipeline, storage.spoolDir, logger);
  const route = (job: Job<GenerationJob>, token?: string, signal?: AbortSignal) => {
    if (job.name === VIDEO_JOB_NAME) return video(job, token, signal);
    if (job.name === VIDEO_PART_JOB_NAME) return videoPart(job as unknown as Job<VideoPartJob>, token, signal);
    if (job.name === LIVE_JOB_NAME) return live(job as unknown as Job<LiveJob>, token, signal);
    return generateOrHandBack(job, token, signal);
  };
  // Continuous batching (README "Continuous batching"): with A2I_MAX_BATCH_ROWS > 1 the worker takes
  // jobs while fewer than that many images are in flight (row-admission.ts), and the pipeline shares
  // each model call between them; with 1, A2I_WORKER_CONCURRENCY jobs at once, each on its own calls.
  const batching = maxBatchRows > 1;
  const admission = batching ? new RowAdmission(maxBatchRows) : null;
  const rowsOf = (job: Job<GenerationJob>) => (job.name === VIDEO_JOB_NAME || job.name === VIDEO_PART_JOB_NAME || job.name === LIVE_JOB_NAME ? 1 : generationRows(job));
  const tracked = metrics ? metrics.track(route, rowsOf) : route;
  const generations = new Worker<GenerationJob>(layout.generationQueue, admission ? admission.wrap(tracked, rowsOf) : tracked, {
    ...workerOptions,
    concurrency: admission ? 1 : config.worker.concurrency,
  });
  admission?.attach(generations);
  const embeddings = new Worker(layout.embeddingQueue, handBack.wrap(createEmbeddingProcessor(pipeline, files, logger)), { ...workerOptions, concurrency: 2 });
  // Collections: ingest jobs (item writes happen only here) and index upkeep (ingest-worker.ts).
  const ingest = startIngestWorker({ config, logger, layout, pipeline, store, workerOptions, collections, files, media: storage.media });

  // BullMQ re-emits its connections' errors (its own duplicates of `connection` too): those are
  // logged once per state change by the connections, anything else here.
  const queueError = (error: Error) => {
    if (!isRedisUnavailable(error)) logger.error({ err: error }, 'queue worker error');
  };
  for (const worker of [generations, embeddings, ingest.worker]) worker.on('error', queueError);
  // A job owns its upload folder until BullMQ has recorded its final state (apps/api/src/request-body.ts).
  const uploadNotRemoved = (error: unknown, jobId: string | undefined) => logger.warn({ err: error, jobId }, 'upload not removed');
  removeUploadsWhenFinal(generations, storage.uploads, uploadNotRemoved);
  removeUploadsWhenFinal(embeddings, storage.uploads, uploadNotRemoved);
  removeUploadsWhenFinal(ingest.worker, storage.uploads, uploadNotRemoved);
  // A job whose workers kept dying is failed by BullMQ when a worker next takes it, outside any processor (lost-job.ts).
  generations.on('failed', (job) => {
    if (job?.id && lostByItsWorkers(job, config.worker.maxStalledCount)) {
      // a video's part: the video is what its followers see fail
      const id = job.name === VIDEO_PART_JOB_NAME ? String((job.data as unknown as Partial<VideoPartJob>).videoId ?? job.id) : job.id;
      logger.error({ jobId: id, stalls: job.stalledCounter }, 'generation lost by its workers');
      store
        .failed(id, ERROR_CODES.WORKER_LOST, 'The job was lost by its worker too many times', config.resultTtlSeconds)
        .catch((error: unknown) => logger.error({ err: error, jobId: id }, 'WORKER_LOST not recorded'));
    }
  });
  // A job whose lock could not be renewed (this worker was cut off or paused past its lock) is
  // another worker's now, or soon: its run stops at the next step and records nothing.
  generations.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const jobId of jobIds) {
      if (generations.cancelJob(jobId, LOCK_LOST)) logger.warn({ jobId }, 'lock lost: the run stops');
    }
  });

  await subscriber.subscribe(layout.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (generations.cancelJob(jobId, 'canceled by its owner')) logger.info({ jobId }, 'cancel delivered to the running job');
    if (runningParts.abort(jobId, 'canceled by its owner') > 0) logger.info({ jobId }, 'cancel delivered to the running parts of the video');
  });

  const heartbeat = startHeartbeat(redis, layout, config.worker.name, description, config.worker.heartbeatIntervalMs, { warmUpMs }, config.worker.heartbeatFile);
  await heartbeat.first;
  // The sweeper asks BullMQ whether a job still owns an upload folder (named after its job id).
  const uploadOwners = [layout.generationQueue, layout.embeddingQueue, layout.ingestQueue].map((name) => new Queue(name, { connection: redis, prefix: layout.prefix }));
  for (const queue of [...uploadOwners, webhookQueue, videoParts]) queue.on('error', queueError);
  const isOwned = liveJobOwns(uploadOwners);
  const targets = [
    { store: storage.results, ttlMs: config.resultTtlSeconds * 1000 },
    { store: storage.uploads, ttlMs: UPLOAD_GRACE_MS, isOwned },
  ];
  // object storage: the local folder too (bodies an api on this machine was receiving, inputs fetched by a run that died)
  if (storage.uploads.kind !== 'file') targets.push({ store: new FileStore(storage.spoolDir), ttlMs: UPLOAD_GRACE_MS, isOwned });
  const stopSweeper = startSweeper({
    targets,
    intervalMs: config.sweepIntervalSeconds * 1000,
    onSwept: (dir, removed) => logger.info({ dir, removed: removed.length }, 'expired files removed'),
    onError: (error) => logger.warn({ err: error }, 'sweep failed'),
  });
  await Promise.all([generations.waitUntilReady(), embeddings.waitUntilReady(), ingest.worker.waitUntilReady()]);
  logger.info('worker ready');

  return {
    name: config.worker.name,
    pipeline,
    metricsUrl: metricsServer?.url ?? null,
    async close() {
      stopSweeper();
      await metricsServer?.close();
      await heartbeat.stop().catch(() => undefined);
      // no new jobs; the running ones finish within A2I_SHUTDOWN_GRACE_MS, or go back to the queue
      await Promise.all([handBack.closeWithin([generations, embeddings], config.shutdownGraceMs, logger), ingest.close(), ...[...uploadOwners, webhookQueue, videoParts].map((queue) => queue.close())]);
      await pipeline.close();
      collections.close();
      await Promise.all([subscriber.quit(), redis.quit(), connection.quit()]);
    },
  };
}
