import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { RequestHandler } from 'express';
import type { RedisClient } from '@a2i/protocol';
import type { Logger } from 'pino';
import type { ServerConfig } from '@a2i/protocol';
import { credentialsOf } from './job-access.js';
import { OriginPolicy, securityHeaders } from './browser-policy.js';
import { RateLimits, clientAddress, compileTrust, type RateKind, type TrustFunction } from './rate-limits.js';
import { SocketAdmission } from './socket-admission.js';
import { UploadBudget, bodyRateFloor } from './upload-limits.js';

/**
 * Everything that keeps one client from taking the api for itself (README "Limits"), built
 * once per api instance from the configuration (`config.clients`):
 * - `httpServerOptions`: Node's header and whole-request timeouts;
 * - `http`: handlers mounted before every route: origin refusal, CORS, security headers
 *   (browser-policy.ts), and the minimum body rate (upload-limits.ts);
 * - `limit(kind)`: a route's per-client rate limit, counted in Redis (rate-limits.ts);
 * - `uploads`: the cap on upload bytes in flight and on disk (upload-limits.ts);
 * - `sockets`: socket.io's origin check, connection caps and rate limit (socket-admission.ts).
 */
export interface ClientGuards {
  /** express's `trust proxy` setting (A2I_TRUST_PROXY). */
  trustProxy: ServerConfig['clients']['trustProxy'];
  trust: TrustFunction;
  httpServerOptions: HttpServerOptions;
  http: RequestHandler[];
  limit(kind: RateKind): RequestHandler;
  rates: RateLimits;
  uploads: UploadBudget;
  sockets: SocketAdmission;
}

/** How often Node looks for connections past their header / request timeouts (its default, 30 s, would add up to that much to each). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

export function createClientGuards(options: {
  config: ServerConfig;
  redis: RedisClient;
  logger: Logger;
  /** Origins the page's images may also come from (the bucket's, with presigned redirects). */
  imageOrigins?: readonly string[];
}): ClientGuards {
  const { config, redis, logger } = options;
  const clients = config.clients;
  const trust = compileTrust(clients.trustProxy);
  const origins = new OriginPolicy(clients.corsOrigins, clients.trustProxy !== false);
  const rates = new RateLimits({ redis, prefix: config.redis.prefix, rates: clients.rates, apiKeys: config.apiKeys, logger });
  const uploads = new UploadBudget({
    uploadsDir: config.dirs.uploads,
    inFlightBytes: clients.uploadsInFlightBytes,
    diskBytes: clients.uploadsDiskBytes,
    maxRequestBytes: config.limits.uploadFiles * config.limits.uploadBytes + 16 * config.limits.fieldBytes,
    retryAfterSeconds: config.queueRetryAfterSeconds,
  });
  return {
    trustProxy: clients.trustProxy,
    trust,
    httpServerOptions: {
      headersTimeout: clients.headersTimeoutMs,
      requestTimeout: clients.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    http: [...securityHeaders(origins, options.imageOrigins), bodyRateFloor({ minBytesPerSecond: clients.bodyMinBytesPerSecond, windowMs: clients.bodyRateWindowMs })],
    limit: (kind) => (req, _res, next) => {
      rates.consume(kind, rates.clientKey(credentialsOf(req), clientAddress(req, trust))).then(() => next(), next);
    },
    rates,
    uploads,
    sockets: new SocketAdmission({ perAddress: clients.socketsPerAddress, total: clients.socketsTotal }, trust, origins, rates),
  };
}
