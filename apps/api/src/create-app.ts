import { mkdir } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Server as SocketServer } from 'socket.io';
import { JobStateStore, redisLayout, type EmbeddingJob, type EmbeddingResult, type GenerationJob, type ServerConfig } from '@a2i/protocol';
import { GenerationService } from './generation-service.js';
import { createHttpApp } from './http-routes.js';
import { JobEventHub } from './job-event-hub.js';
import { createApiMetrics } from './metrics.js';
import { PackSource } from './pack-source.js';
import { QueuePositions } from './queue-position.js';
import { attachSocketServer } from './socket-server.js';

export interface CreateAppOptions {
  config: ServerConfig;
  logger: Logger;
  /** Command connection (defaults to a new one from config.redis.url). */
  redis?: Redis;
  /** The generation queue (defaults to one on `redis`). */
  queue?: Queue<GenerationJob>;
}

export interface ApiApp {
  server: HttpServer;
  io: SocketServer;
  service: GenerationService;
  /** Starts listening (port 0 = any free port); resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the whole api on its dependencies, not yet listening: tests build the real thing on
 * an ephemeral port, `main.ts` on the configured one. Connections it made itself, it closes.
 */
export async function createApp(options: CreateAppOptions): Promise<ApiApp> {
  const { config, logger } = options;
  const layout = redisLayout(config.redis.prefix);
  await mkdir(config.dirs.uploads, { recursive: true });
  const owned: Array<{ quit(): Promise<unknown> } | { close(): Promise<unknown> }> = [];
  const redis = options.redis ?? new Redis(config.redis.url);
  if (!options.redis) owned.push(redis);
  const subscriber = new Redis(config.redis.url);
  const generations = options.queue ?? new Queue<GenerationJob>(layout.generationQueue, { connection: redis, prefix: layout.prefix });
  if (!options.queue) owned.push(generations);
  const embeddings = new Queue<EmbeddingJob, EmbeddingResult>(layout.embeddingQueue, { connection: redis, prefix: layout.prefix });
  // BullMQ leaves a connection it was given open on close(): it is ours to quit.
  const embeddingEventsConnection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const embeddingEvents = new QueueEvents(layout.embeddingQueue, { connection: embeddingEventsConnection, prefix: layout.prefix });
  owned.push(embeddings, embeddingEvents, embeddingEventsConnection);

  const store = new JobStateStore(redis, layout);
  const positions = new QueuePositions(redis, layout.prefix, layout.generationQueue);
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
  const service = new GenerationService({ config, layout, redis, store, generations, embeddings, embeddingEvents, positions, pack });

  const app = createHttpApp({ config, service, hub, pack, redis, metrics, logger });
  const httpLogger = pinoHttp({
    logger,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-job-token"]', 'req.headers.cookie'],
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') }),
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
  });
  const server = createServer((req, res) => {
    httpLogger(req, res);
    app(req, res);
  });
  const io = attachSocketServer(server, { service, hub, metrics, logger });

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
    async close() {
      io.close();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      server.closeAllConnections();
      await hub.close();
      for (const resource of owned) await ('quit' in resource ? resource.quit() : resource.close()).catch(() => undefined);
    },
  };
}
