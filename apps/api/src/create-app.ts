import { mkdir } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '@a2i/protocol';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Server as SocketServer } from 'socket.io';
import {
  JobStateStore,
  OwnerJobIndex,
  WebhookNotifier,
  createRedisConnection,
  isRedisUnavailable,
  redisLayout,
  requestLimitsOf,
  untilRedisReady,
  type EmbeddingJob,
  type EmbeddingResult,
  type GenerationJob,
  type IngestJob,
  type IngestResult,
  type ServerConfig,
  type WebhookDelivery,
} from '@a2i/protocol';
import { lazyCollectionStore } from '@a2i/collections';
import { serverStorageOf, type ServerStorage } from '@a2i/storage';
import { GenerationService } from './generation-service.js';
import { HistoryService } from './history-service.js';
import { LabelEmbeddingCache } from './label-embedding-cache.js';
import { CollectionsService } from './search-service.js';
import { createHttpApp } from './http-routes.js';
import { JobEventHub } from './job-event-hub.js';
import { createApiMetrics } from './metrics.js';
import { PackSource } from './pack-source.js';
import { QueuePositions } from './queue-position.js';
import { attachSocketServer } from './socket-server.js';
import { createClientGuards } from './client-guards.js';
import { closeServing } from './graceful-close.js';
import { ShutdownNotice } from './shutdown-notice.js';
import { startWebhookWorker } from './webhook-worker.js';
import { createLivePainter } from './live-painter.js';
import { attachLiveSound } from './live-socket.js';
import { LiveStreams } from './live-streams.js';

/** The origin presigned URLs of the results store point at (none for a directory). */
async function presignedOrigin(storage: ServerStorage): Promise<string[]> {
  const url = await storage.results.presignGet('origin-probe', { expiresInSeconds: 1 });
  return url === null ? [] : [new URL(url).origin];
}

/** How long the api waits for Redis when it starts (then it stops with a message). */
const REDIS_STARTUP_WAIT_MS = 10_000;

export interface CreateAppOptions {
  config: ServerConfig;
  logger: Logger;
  /** Command connection (defaults to a new one from config.redis.url). */
  redis?: RedisClient;
  /** The generation queue (defaults to one on `redis`). */
  queue?: Queue<GenerationJob>;
  /** Where uploads and results live (defaults to the configuration's, A2I_STORAGE). */
  storage?: ServerStorage;
}

export interface ApiApp {
  server: HttpServer;
  io: SocketServer;
  service: GenerationService;
  /** Starts listening (port 0 = any free port); resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Tells every follower `server:shutdown` and lets go of it, gives requests in flight up to
   * `graceMs` (default A2I_SHUTDOWN_GRACE_MS), then closes its connections (graceful-close.ts).
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Builds the whole api on its dependencies, not yet listening: tests build the real thing on
 * an ephemeral port, `main.ts` on the configured one. Connections it made itself, it closes.
 */
export async function createApp(options: CreateAppOptions): Promise<ApiApp> {
  const { config, logger } = options;
  const layout = redisLayout(config.redis.prefix);
  // the local folder bodies are received into; with object storage, the bucket is checked with these credentials now
  const storage = options.storage ?? serverStorageOf(config);
  await mkdir(storage.spoolDir, { recursive: true });
  await storage.uploads.check();
  const owned: Array<{ quit(): Promise<unknown> } | { close(): Promise<unknown> }> = [];
  // One module builds every connection with the options of its use (@a2i/protocol redis-connections.ts):
  // the request path fails fast while Redis is away, the subscriber re-subscribes, QueueEvents waits.
  const connections = { url: config.redis.url, commandTimeoutMs: config.redis.commandTimeoutMs, logger };
  const redis = options.redis ?? createRedisConnection('request', 'api-commands', connections);
  if (!options.redis) owned.push(redis);
  const subscriber = createRedisConnection('subscriber', 'api-events', connections);
  await Promise.all([untilRedisReady(redis, REDIS_STARTUP_WAIT_MS), untilRedisReady(subscriber, REDIS_STARTUP_WAIT_MS)]);
  const generations = options.queue ?? new Queue<GenerationJob>(layout.generationQueue, { connection: redis, prefix: layout.prefix });
  if (!options.queue) owned.push(generations);
  const embeddings = new Queue<EmbeddingJob, EmbeddingResult>(layout.embeddingQueue, { connection: redis, prefix: layout.prefix });
  // BullMQ leaves a connection it was given open on close(): it is ours to quit.
  const embeddingEventsConnection = createRedisConnection('blocking', 'api-embedding-events', connections);
  const embeddingEvents = new QueueEvents(layout.embeddingQueue, { connection: embeddingEventsConnection, prefix: layout.prefix });
  owned.push(embeddings, embeddingEvents, embeddingEventsConnection);
  // BullMQ re-emits its connections' errors: the connections log their state changes, anything else is logged here.
  const queueError = (error: Error) => {
    if (!isRedisUnavailable(error)) logger.error({ err: error }, 'queue error');
  };
  generations.on('error', queueError);
  embeddings.on('error', queueError);
  embeddingEvents.on('error', queueError);

  // Webhooks (README "Webhooks"): changes recorded here (cancels) queue their deliveries; this instance sends them.
  const webhookQueue = new Queue<WebhookDelivery>(layout.webhookQueue, { connection: redis, prefix: layout.prefix });
  webhookQueue.on('error', queueError);
  owned.push(webhookQueue);
  const notifier = WebhookNotifier.fromConfig(redis, layout, webhookQueue, config, logger);
  const store = new JobStateStore(redis, layout, Date.now, { tombstoneTtlSeconds: config.tombstoneTtlSeconds, recorder: notifier });
  if (config.webhooks.secret !== undefined) {
    const webhookConnection = createRedisConnection('blocking', 'api-webhooks', connections);
    const webhookWorker = startWebhookWorker({ config: { ...config.webhooks, secret: config.webhooks.secret }, layout, connection: webhookConnection, logger });
    webhookWorker.on('error', queueError);
    owned.push(webhookWorker, webhookConnection);
  }
  const positions = new QueuePositions(redis, layout.prefix, layout.generationQueue, config.queuePositionIntervalMs);
  const pack = new PackSource(redis, layout, config.worker.heartbeatIntervalMs);
  let hub: JobEventHub;
  const metrics = createApiMetrics({ queueDepth: () => positions.depth(), workersAlive: () => pack.workersAlive(), subscribers: () => hub.subscriberCount });
  hub = new JobEventHub(
    subscriber,
    layout,
    store,
    positions,
    logger,
    (event) => metrics.eventsDelivered.inc({ type: event.type }),
    (channel, bytes) => {
      metrics.pubsubMessages.inc({ channel });
      metrics.pubsubBytes.inc({ channel }, bytes);
    },
  );
  await hub.start();
  // Collections: the store opens on first use (generations read it too: `item` inputs, `neighbors`).
  const collectionStore = lazyCollectionStore(config, logger);
  const service = new GenerationService({ config, layout, redis, store, generations, embeddings, embeddingEvents, positions, pack, storage, collections: () => collectionStore.get() });

  const shutdown = new ShutdownNotice(config.shutdownGraceMs);
  // Ingest jobs go to the workers' `ingest` queue.
  const ingestQueue = new Queue<IngestJob, IngestResult>(layout.ingestQueue, { connection: redis, prefix: layout.prefix });
  ingestQueue.on('error', queueError);
  owned.push(ingestQueue, { close: async () => collectionStore.close() });
  const collections = new CollectionsService({
    config,
    generations: service,
    collections: () => collectionStore.get(),
    ingestQueue,
    jobs: store,
    labels: new LabelEmbeddingCache(config.collections.labelCacheSize),
    media: storage.media,
  });
  // Per-client limits, CORS, security headers, body and connection caps (client-guards.ts).
  // presigned redirects send the page's <img> requests to the bucket: its origin, from a URL signed now
  const imageOrigins = config.imageDelivery.mode === 'presigned' ? await presignedOrigin(storage) : [];
  const guards = createClientGuards({ config, redis, logger, imageOrigins });
  const history = new HistoryService({ apiKeys: config.apiKeys, store, index: new OwnerJobIndex(redis, layout), service });
  const app = createHttpApp({ config, service, hub, pack, redis, metrics, logger, shutdown, collections, guards, history, storage });
  const httpLogger = pinoHttp({
    logger,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-job-token"]', 'req.headers["x-job-tokens"]', 'req.headers.cookie'],
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // probes and scrapes: answered many times a minute, and /readyz answers 503 while the models load
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
    // A 5xx the api answers on purpose (503 NOT_READY while the models load or Redis is away,
    // 503 busy, 504 timeout) is a warning without a stack trace; an error thrown in a route keeps its stack.
    customLogLevel: (_req, res, error) => (error ?? res.err ? 'error' : res.statusCode >= 500 ? 'warn' : 'info'),
    customErrorObject: (_req, res, error, value) => (res.err || !error.message.startsWith('failed with status code') ? value : { res: value.res, responseTime: value.responseTime }),
  });
  const server = createServer(guards.httpServerOptions, (req, res) => {
    httpLogger(req, res);
    app(req, res);
  });
  const io = attachSocketServer(server, { service, hub, metrics, logger, shutdown, guards: guards.sockets });
  // Live sound (README "Live sound"): pictures of streamed windows, as `live` jobs on the generations queue.
  // Its QueueEvents (every event of the generations queue) are opened on the first live picture only.
  let liveEvents: { connection: ReturnType<typeof createRedisConnection>; events: QueueEvents } | null = null;
  const openLiveEvents = (): QueueEvents => {
    if (!liveEvents) {
      const connection = createRedisConnection('blocking', 'api-live-events', connections);
      const events = new QueueEvents(layout.generationQueue, { connection, prefix: layout.prefix });
      events.on('error', queueError);
      liveEvents = { connection, events };
    }
    return liveEvents.events;
  };
  const liveStreams = new LiveStreams(config.live, createLivePainter({ queue: generations, events: openLiveEvents, timeoutMs: config.embedTimeoutMs }), logger);
  attachLiveSound(io, { streams: liveStreams, service, pack, requestLimits: requestLimitsOf(config), live: config.live, rates: guards.rates, trust: guards.trust, logger });
  owned.unshift({ close: async () => liveStreams.close() });
  owned.push({
    close: async () => {
      if (!liveEvents) return;
      await liveEvents.events.close();
      await liveEvents.connection.quit();
    },
  });

  return {
    server,
    io,
    service,
    listen(port = config.http.port, host = config.http.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
        });
      });
    },
    async close(closeOptions = {}) {
      await closeServing({ server, io, shutdown, graceMs: closeOptions.graceMs ?? config.shutdownGraceMs, logger });
      await hub.close();
      for (const resource of owned) await ('quit' in resource ? resource.quit() : resource.close()).catch(() => undefined);
    },
  };
}
