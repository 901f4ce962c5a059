import { mkdir } from 'node:fs/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ERROR_CODES, JobStateStore, redisLayout, type GenerationJob, type GenerationPipeline, type ServerConfig } from '@a2i/protocol';
import { createEmbeddingProcessor } from './embedding-processor.js';
import { createGenerationProcessor } from './generation-processor.js';
import { startHeartbeat } from './heartbeat.js';
import { lostByItsWorkers } from './lost-job.js';
import { pipelineSpecOf, ThreadedPipeline } from '@a2i/pipeline';
import { startSweeper, UPLOAD_GRACE_MS } from './result-sweeper.js';
import { liveJobOwns, removeUploadsWhenFinal } from './upload-cleanup.js';

export interface RunningWorker {
  readonly name: string;
  readonly pipeline: GenerationPipeline;
  close(): Promise<void>;
}

/**
 * A worker process's whole life: load the pipeline once (in its thread), then take jobs from
 * the generation and embedding queues until closed. Cancel requests arrive on
 * `<prefix>:cancel`; each worker aborts the job only if it holds it.
 */
export async function startWorker({ config, logger }: { config: ServerConfig; logger: Logger }): Promise<RunningWorker> {
  const layout = redisLayout(config.redis.prefix);
  await mkdir(config.dirs.results, { recursive: true });
  await mkdir(config.dirs.uploads, { recursive: true });

  const pipeline = await ThreadedPipeline.start(pipelineSpecOf(config));
  const description = pipeline.describe();
  logger.info({ pipeline: config.pipeline, pack: description.name, dim: description.dim }, 'pipeline loaded');

  // BullMQ's workers need maxRetriesPerRequest: null (they block on Redis).
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const redis = new Redis(config.redis.url);
  const subscriber = new Redis(config.redis.url);
  const store = new JobStateStore(redis, layout);

  const workerOptions = {
    connection,
    prefix: layout.prefix,
    name: config.worker.name,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
  };
  const generations = new Worker<GenerationJob>(
    layout.generationQueue,
    createGenerationProcessor({
      pipeline,
      store,
      logger,
      resultsDir: config.dirs.results,
      resultTtlSeconds: config.resultTtlSeconds,
      progressIntervalMs: config.worker.progressIntervalMs,
    }),
    { ...workerOptions, concurrency: config.worker.concurrency },
  );
  const embeddings = new Worker(layout.embeddingQueue, createEmbeddingProcessor(pipeline, logger), { ...workerOptions, concurrency: 2 });

  for (const worker of [generations, embeddings]) {
    worker.on('error', (error) => logger.error({ err: error }, 'queue worker error'));
  }
  // A job owns its upload folder until BullMQ has recorded its final state (apps/api/src/request-body.ts).
  const uploadNotRemoved = (error: unknown, jobId: string | undefined) => logger.warn({ err: error, jobId }, 'upload not removed');
  removeUploadsWhenFinal(generations, config.dirs.uploads, uploadNotRemoved);
  removeUploadsWhenFinal(embeddings, config.dirs.uploads, uploadNotRemoved);
  // A job whose workers kept dying is failed by BullMQ's stalled checker, outside any processor.
  generations.on('failed', (job) => {
    if (job?.id && lostByItsWorkers(job, config.worker.maxStalledCount)) {
      logger.error({ jobId: job.id, stalls: job.stalledCounter }, 'generation lost by its workers');
      void store.failed(job.id, ERROR_CODES.WORKER_LOST, 'The job was lost by its worker too many times', config.resultTtlSeconds);
    }
  });

  await subscriber.subscribe(layout.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (generations.cancelJob(jobId, 'canceled by its owner')) logger.info({ jobId }, 'cancel delivered to the running job');
  });

  const heartbeat = startHeartbeat(redis, layout, config.worker.name, description, config.worker.heartbeatIntervalMs);
  await heartbeat.first;
  // The sweeper asks BullMQ whether a job still owns an upload folder (named after its job id).
  const uploadOwners = [layout.generationQueue, layout.embeddingQueue].map((name) => new Queue(name, { connection: redis, prefix: layout.prefix }));
  const stopSweeper = startSweeper({
    targets: [
      { dir: config.dirs.results, ttlMs: config.resultTtlSeconds * 1000 },
      { dir: config.dirs.uploads, ttlMs: UPLOAD_GRACE_MS, isOwned: liveJobOwns(uploadOwners) },
    ],
    intervalMs: config.sweepIntervalSeconds * 1000,
    onSwept: (dir, removed) => logger.info({ dir, removed: removed.length }, 'expired files removed'),
    onError: (error) => logger.warn({ err: error }, 'sweep failed'),
  });
  await Promise.all([generations.waitUntilReady(), embeddings.waitUntilReady()]);
  logger.info('worker ready');

  return {
    name: config.worker.name,
    pipeline,
    async close() {
      stopSweeper();
      await heartbeat.stop().catch(() => undefined);
      await Promise.all([generations.close(), embeddings.close(), ...uploadOwners.map((queue) => queue.close())]);
      await pipeline.close();
      await Promise.all([subscriber.quit(), redis.quit(), connection.quit()]);
    },
  };
}
