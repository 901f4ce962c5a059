import express, { type NextFunction, type Request, type Response } from 'express';
import type { RedisClient } from '@a2i/protocol';
import type { Logger } from 'pino';
import { ERROR_CODES, REDIS_RETRY_AFTER_SECONDS, TERMINAL_EVENT_TYPES, errorBody, type ServerConfig } from '@a2i/protocol';
import { ApiError, errorAnswer } from './api-error.js';
import { sseFrame } from './event-encoding.js';
import type { GenerationService } from './generation-service.js';
import type { HistoryService } from './history-service.js';
import { credentialsOf, newJobId } from './job-access.js';
import type { JobEventHub } from './job-event-hub.js';
import type { ApiMetrics } from './metrics.js';
import { createBodyReader, withRequestBody } from './request-body.js';
import { sendStoredImage } from './image-delivery.js';
import { serverStorageOf, type ServerStorage } from '@a2i/storage';
import { mountApiDocs } from './api-docs-routes.js';
import type { ClientGuards } from './client-guards.js';
import type { PackSource } from './pack-source.js';
import { createCollectionsRouter } from './collections-routes.js';
import type { CollectionsService } from './search-service.js';
import { sseShutdownFrame, type ShutdownNotice } from './shutdown-notice.js';
import { serveClientBundle } from './client-bundle.js';

const SSE_KEEPALIVE_MS = 15_000;

export interface RouteDeps {
  config: ServerConfig;
  service: GenerationService;
  hub: JobEventHub;
  pack: PackSource;
  redis: RedisClient;
  metrics: ApiMetrics;
  logger: Logger;
  /** SSE streams end with `server:shutdown` when the instance stops. */
  shutdown: ShutdownNotice;
  /** Collections, search and classification (collections-routes.ts); absent: those routes are not mounted. */
  collections?: CollectionsService;
  /** Per-client limits, CORS and security headers (client-guards.ts). */
  guards: ClientGuards;
  /** GET /v1/generations (history-service.ts); absent: that route is not mounted. */
  history?: HistoryService;
  /** Where uploads and results live; absent: the configuration's (A2I_STORAGE). */
  storage?: ServerStorage;
}

/** `?include=images` (a comma list; `images` is the one thing it knows). */
function includesImages(include: unknown): boolean {
  if (include === undefined) return false;
  const items = typeof include === 'string' ? include.split(',').map((item) => item.trim()) : [];
  if (items.length === 0 || items.some((item) => item !== 'images')) throw new ApiError(ERROR_CODES.INVALID_REQUEST, 'Expected include=images or nothing');
  return true;
}

type Handler = (req: Request, res: Response) => Promise<void>;
/** Express 5 passes rejected promises to the error handler; this only types the handlers. */
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

export function createHttpApp(deps: RouteDeps): express.Express {
  const { config, service, hub, pack, redis, metrics, logger, shutdown } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.guards.trustProxy);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const routePath = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics.httpRequests.observe({ method: req.method, route: routePath, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  // origin refusal, CORS, security headers, the minimum body rate: before every route
  app.use(deps.guards.http);
  const json = express.json({ limit: config.limits.jsonBytes });
  // Owns each request's upload folder until its job is enqueued (see request-body.ts).
  const storage = deps.storage ?? serverStorageOf(config);
  const readBody = createBodyReader({
    spoolDir: storage.spoolDir,
    uploads: storage.uploads,
    limits: { fileBytes: config.limits.uploadBytes, files: config.limits.uploadFiles, fieldBytes: config.limits.fieldBytes },
    budget: deps.guards.uploads,
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get(
    '/readyz',
    route(async (_req, res) => {
      // Answered at once from the connection's state while Redis is away (no ping waiting on a dead socket);
      // when connected, the checks are bounded by A2I_REDIS_COMMAND_TIMEOUT_MS (a fast-failing connection).
      const redisOk =
        redis.status === 'ready' &&
        (await redis.ping().then(
          (reply) => reply === 'PONG',
          () => false,
        ));
      const workers = redisOk ? await pack.workersAlive().catch(() => 0) : 0;
      const published = redisOk && workers > 0 ? await pack.published().catch(() => null) : null;
      if (!redisOk || workers === 0 || !published) {
        const why = !redisOk ? 'Redis does not answer' : workers === 0 ? 'no worker has its models loaded' : 'no model pack published';
        res.status(503).set('retry-after', String(REDIS_RETRY_AFTER_SECONDS)).json(errorBody(ERROR_CODES.NOT_READY, `Not ready: ${why}`));
        return;
      }
      // warmUpMs: the warm-up of the worker that last published the pack (null: it ran none, A2I_WARM_UP=false)
      res.json({ ready: true, workers, pack: published.description.name, warmUpMs: published.warmUpMs });
    }),
  );
  app.get(
    '/metrics',
    route(async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    }),
  );
  // GET /openapi.json and GET /docs (openapi-document.ts, docs-page.ts)
  mountApiDocs(app);

  const v1 = express.Router();
  // per-client rate limits (Redis, shared by all instances), before any body is read
  v1.post('/generations', deps.guards.limit('generations'));
  v1.post(['/embeddings', '/classify', '/collections/:name/search', '/collections/:name/items'], deps.guards.limit('embeddings'));
  v1.get(
    '/pack',
    route(async (_req, res) => {
      res.json(await service.requirePack());
    }),
  );

  v1.post(
    '/generations',
    json,
    route(async (req, res) => {
      const credentials = credentialsOf(req);
      service.requireApiKey(credentials);
      await service.requireQueueRoom();
      const id = newJobId();
      const created = await withRequestBody(readBody, req, res, id, (received) => service.submit(received.body, id, credentials, received.files));
      metrics.generationsSubmitted.inc({ outcome: 'accepted' });
      res.status(202).location(created.links.self).json(created);
    }),
  );

  const { history } = deps;
  if (history) {
    v1.get(
      '/generations',
      route(async (req, res) => {
        res.json(await history.list(req.query, credentialsOf(req), req.get('x-job-tokens')));
      }),
    );
  }

  v1.get(
    '/generations/:id',
    route(async (req, res) => {
      res.json(await service.status(String(req.params.id), credentialsOf(req), { includeImages: includesImages(req.query.include) }));
    }),
  );

  v1.post(
    '/generations/:id/cancel',
    route(async (req, res) => {
      res.json(await service.cancel(String(req.params.id), credentialsOf(req)));
    }),
  );

  v1.get(
    '/generations/:id/images/:n',
    route(async (req, res) => {
      const index = /^\d{1,5}$/.test(String(req.params.n)) ? Number(req.params.n) : -1;
      const image = await service.image(String(req.params.id), index, credentialsOf(req));
      await sendStoredImage(res, image, config.imageDelivery);
    }),
  );

  v1.get(
    '/generations/:id/video',
    route(async (req, res) => {
      await sendStoredImage(res, await service.video(String(req.params.id), credentialsOf(req)), config.imageDelivery);
    }),
  );

  v1.get(
    '/generations/:id/events',
    route(async (req, res) => {
      const id = String(req.params.id);
      await service.authorizedState(id, credentialsOf(req));
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': events of one generation (job:queued ... job:succeeded | job:failed | job:canceled)\n\n');
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepalive);
        unsubscribe?.();
        stopWatchingShutdown();
        res.end();
      };
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
      let unsubscribe: (() => void) | undefined;
      let stopWatchingShutdown: () => void = () => undefined;
      req.on('close', close);
      // The instance is stopping: the stream says so and ends, so the client reconnects elsewhere.
      stopWatchingShutdown = shutdown.onShutdown((event) => {
        if (closed) return;
        res.write(sseShutdownFrame(event));
        close();
      });
      unsubscribe = await hub.subscribe(id, {
        send(event) {
          if (closed) return;
          res.write(sseFrame(event));
          if (TERMINAL_EVENT_TYPES.has(event.type)) setImmediate(close);
        },
      });
      if (closed) unsubscribe();
    }),
  );

  v1.post(
    '/embeddings',
    json,
    route(async (req, res) => {
      service.requireApiKey(credentialsOf(req));
      res.json(await withRequestBody(readBody, req, res, `embed-${newJobId()}`, (received) => service.embed(received.body, received.files, credentialsOf(req))));
    }),
  );

  if (deps.collections) v1.use(createCollectionsRouter({ collections: deps.collections, json, readBody }));
  app.use('/v1', v1);
  // @a2i/client as one ES module for the page (client-bundle.ts)
  app.get('/client.js', serveClientBundle(logger));
  app.use(express.static(config.dirs.web, { index: 'index.html', maxAge: '1h' }));

  app.use((req, _res, next) => next(new ApiError(ERROR_CODES.NOT_FOUND, `No route for ${req.method} ${req.path}`)));

  // Every error becomes { error: { code, message } }: an input fault with its own message, a
  // server fault (or an uncoded error) as 5xx with a generic one, the error itself in the log.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = errorAnswer(error, `answer ${req.method} ${req.path}`);
    if (answer.serverFault) logger.error({ err: error, code: answer.code, method: req.method, url: req.path }, 'request failed');
    if (req.path.startsWith('/v1/generations') && req.method === 'POST' && !req.path.endsWith('/cancel')) {
      metrics.generationsSubmitted.inc({ outcome: answer.code });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (answer.retryAfterSeconds !== undefined) res.set('retry-after', String(answer.retryAfterSeconds));
    res.status(answer.status).json(errorBody(answer.code, answer.message));
  });
  return app;
}
