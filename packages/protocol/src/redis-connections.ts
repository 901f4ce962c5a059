import { Redis, type RedisOptions } from 'ioredis';
import { CodedError } from './errors.js';

/**
 * Every ioredis client of the api and the worker is built here, with the options its use
 * needs, and watched the same way: an `error` listener (no "[ioredis] Unhandled error event"),
 * and one log line per change of state (up -> down, down -> up), not one per retry.
 *
 *  use          offline queue  retries per command  command timeout  for
 *  request      off            0                    commandTimeoutMs the api's request path: fails at once
 *                                                                    while Redis is away (-> 503 NOT_READY)
 *  subscriber   off            0                    commandTimeoutMs pub/sub; ioredis re-subscribes every
 *                                                                    channel (SUBSCRIBE and SSUBSCRIBE) itself
 *  blocking     on             null (wait)          none             BullMQ workers and QueueEvents (they block)
 *  background   on             null (wait)          none             the worker's state records, heartbeat:
 *                                                                    a write waits until Redis is back
 *
 * Every client reconnects every 100 ms .. 1 s, so the api is ready again within about a
 * second of Redis coming back.
 */
export type RedisUse = 'request' | 'subscriber' | 'blocking' | 'background';

/** The part of a pino logger the watcher uses. */
export interface ConnectionLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RedisConnectionSettings {
  url: string;
  /** Bound of one command on the request path (A2I_REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number;
  logger: ConnectionLog;
}

/** Retry-After (seconds) of the 503 a request gets while Redis is away. */
export const REDIS_RETRY_AFTER_SECONDS = 5;

const reconnectDelay = (times: number) => Math.min(100 * times, 1000);

/** The ioredis options of one use (see the table above). */
export function redisOptionsFor(use: RedisUse, commandTimeoutMs: number): RedisOptions {
  const common: RedisOptions = { retryStrategy: reconnectDelay, connectTimeout: Math.max(1000, commandTimeoutMs) };
  switch (use) {
    case 'request':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs };
    case 'subscriber':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs, autoResubscribe: true };
    case 'blocking':
    case 'background':
      return { ...common, maxRetriesPerRequest: null };
  }
}

/** A new client for `use`, named `name` in the log (and in CLIENT LIST), already watched. */
export function createRedisConnection(use: RedisUse, name: string, settings: RedisConnectionSettings): Redis {
  const client = new Redis(settings.url, { ...redisOptionsFor(use, settings.commandTimeoutMs), connectionName: `a2i-${name}` });
  watchRedisConnection(client, name, settings.logger);
  return client;
}

/**
 * Listens to `client`'s errors (so none is "unhandled") and logs its state changes once:
 * "Redis connection lost" (warn, with the first error) when it starts reconnecting, "Redis
 * connection back" (info, with how long it was away) when it is ready again. Closing it on
 * purpose (quit, disconnect) logs nothing.
 */
export function watchRedisConnection(client: Redis, name: string, log: ConnectionLog): void {
  let down: { since: number; error: string | undefined } | null = null;
  let lastError: string | undefined;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  client.on('reconnecting', () => {
    if (down) return;
    down = { since: Date.now(), error: lastError };
    log.warn({ connection: name, err: lastError }, 'Redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    lastError = undefined;
    if (!down) return;
    log.info({ connection: name, downMs: Date.now() - down.since }, 'Redis connection back');
    down = null;
  });
}

/** Resolves once `client` is ready; rejects after `timeoutMs` (a server that cannot start without Redis). */
export function untilRedisReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', ready);
      reject(new RedisUnavailableError(`Expected Redis to answer within ${timeoutMs} ms but received no connection`));
    }, timeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', ready);
  });
}

/** Redis cannot be reached now: come back later (503 NOT_READY with Retry-After). */
export class RedisUnavailableError extends CodedError {
  override readonly name = 'RedisUnavailableError';
  constructor(message: string) {
    super('NOT_READY', message);
  }
}

/** Messages of ioredis (and Redis replies) that mean "Redis is not there right now". */
const UNAVAILABLE =
  /Stream isn't writeable|enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|^LOADING |^MASTERDOWN |^TRYAGAIN |^CLUSTERDOWN /;

/**
 * Whether `error` says Redis is unreachable (not that a command was wrong): a client with no
 * connection and no offline queue, a command timeout, retries used up, a closed connection,
 * a Redis still loading its data after a restart, or a RedisUnavailableError.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH)$/.test(code)) return true;
  return UNAVAILABLE.test(error.message);
}

/**
 * `work` bounded by `timeoutMs`: past it, a RedisUnavailableError (for calls whose own
 * connection does not fail fast, such as BullMQ's Queue.add). The work itself is not stopped:
 * it may still land once Redis answers.
 */
export async function withinRedisTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Expected ${what} to finish within ${timeoutMs} ms but Redis did not answer`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
