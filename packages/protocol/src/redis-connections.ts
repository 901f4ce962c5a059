import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CodedError } from './errors.js';
import { parseRedisTarget, type RedisTarget } from './redis-target.js';
import { FailoverAwareSentinelConnector } from './sentinel-failover.js';

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
 *
 * A2I_REDIS_URL may name one node, a Redis Cluster or a Sentinel-watched master (redis-target.ts):
 * the same uses get ioredis's own client for each, a Redis (one node, or Sentinel: it asks the
 * sentinels for the master and again after a failover) or a Cluster (it learns the slots and
 * follows MOVED redirections and failovers; a subscriber holds one sharded-subscriber connection
 * per master, so each job's SSUBSCRIBE goes to the shard that owns its channel).
 */
export type RedisUse = 'request' | 'subscriber' | 'blocking' | 'background';

/** The part of a pino logger the watcher uses. */
export interface ConnectionLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
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

/** One Redis node's client or a Redis Cluster's: every connection of the api and the worker is one of these. */
export type RedisClient = Redis | Cluster;

/** A new client for `use`, named `name` in the log (and in CLIENT LIST), already watched. */
export function createRedisConnection(use: RedisUse, name: string, settings: RedisConnectionSettings): RedisClient {
  const options = { ...redisOptionsFor(use, settings.commandTimeoutMs), connectionName: `a2i-${name}` };
  const client = redisClientOf(parseRedisTarget(settings.url), options, { shardedSubscribers: use === 'subscriber' });
  watchRedisConnection(client, name, settings.logger);
  return client;
}

/** How often a Cluster subscriber reads the slots (ioredis's default: 5 s), so its subscriptions follow a failover within about a second. */
const SUBSCRIBER_SLOTS_REFRESH_MS = 1000;

/**
 * A failed-over master's old connection may still reach it as a replica, which refuses writes
 * (READONLY): reconnect (asking the sentinels again) and send the command again.
 */
const reconnectOnReadOnly = (error: Error) => (error.message.startsWith('READONLY') ? 2 : false);

/**
 * The ioredis client of `target` with `options` (one use's, redisOptionsFor): a Redis for one
 * node or a Sentinel-watched master, a Cluster for a Redis Cluster (the options then go to its
 * node connections, but the offline queue, lazyConnect and the reconnection (retryStrategy) are
 * the Cluster's own). A sentinel connection (asking for the master, or watching for a failover)
 * retries as the master's does.
 * `shardedSubscribers`: a Cluster subscriber keeps one connection per master for SSUBSCRIBE.
 */
export function redisClientOf(target: RedisTarget, options: RedisOptions, extra: { shardedSubscribers?: boolean } = {}): RedisClient {
  switch (target.kind) {
    case 'node':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.masterName,
        db: target.db,
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        sentinelRetryStrategy: options.retryStrategy ?? reconnectDelay,
        sentinelReconnectStrategy: options.retryStrategy ?? reconnectDelay,
        // the sentinels' +switch-master: reconnect to the new master at once, not at the next failed
        // command (ioredis's own failoverDetector can end a reconnecting client: sentinel-failover.ts)
        Connector: FailoverAwareSentinelConnector,
        reconnectOnError: reconnectOnReadOnly,
      });
    case 'cluster': {
      const { retryStrategy, enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
      return new Cluster(target.nodes, {
        clusterRetryStrategy: retryStrategy ?? reconnectDelay,
        enableOfflineQueue: enableOfflineQueue ?? true,
        lazyConnect: lazyConnect ?? false,
        shardedSubscribers: extra.shardedSubscribers === true,
        // a subscriber hears nothing of a failed-over shard until its slots are read again
        // (ioredis then moves its subscriptions to the new master): read them every second
        ...(extra.shardedSubscribers === true ? { slotsRefreshInterval: SUBSCRIBER_SLOTS_REFRESH_MS } : {}),
        // a failover moves slots: ask again soon after a node is lost, and retry a command a while
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        redisOptions: {
          ...nodeOptions,
          ...(target.username !== undefined ? { username: target.username } : {}),
          ...(target.password !== undefined ? { password: target.password } : {}),
          ...(target.tls ? { tls: {} } : {}),
        },
      });
    }
  }
}

/** How long a client that ended without being closed waits before it connects again. */
export const REVIVE_DELAY_MS = 1000;

/**
 * Listens to `client`'s errors (so none is "unhandled") and logs its state changes once:
 * "Redis connection lost" (warn, with the first error) when it starts reconnecting, "Redis
 * connection back" (info, with how long it was away) when it is ready again. Closing it on
 * purpose (quit, disconnect) logs nothing.
 *
 * A client that ends without being closed (ioredis gave up: its connector failed, as its own
 * Sentinel failover detector could make it do, see sentinel-failover.ts) would leave the process
 * alive and useless: that is logged as an error and the client connects again after
 * REVIVE_DELAY_MS, and again after each such end.
 */
export function watchRedisConnection(client: RedisClient, name: string, log: ConnectionLog): void {
  let down: { since: number; error: string | undefined } | null = null;
  let lastError: string | undefined;
  let closedOnPurpose = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  client.quit = ((...args: Parameters<typeof quit>) => {
    closedOnPurpose = true;
    return quit(...args);
  }) as typeof client.quit;
  client.disconnect = ((reconnect?: boolean) => {
    if (reconnect !== true) closedOnPurpose = true;
    return disconnect(reconnect);
  }) as typeof client.disconnect;
  client.on('end', () => {
    if (closedOnPurpose) return;
    log.error({ connection: name, err: lastError }, 'Redis connection ended without being closed; connecting again');
    down ??= { since: Date.now(), error: lastError };
    setTimeout(() => {
      if (closedOnPurpose || client.status !== 'end') return;
      client.connect().catch(() => undefined);
    }, REVIVE_DELAY_MS).unref();
  });
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
  // A Cluster stays up while one node goes (a failover, a topology change): said once per node
  // that leaves the client's pool, once the client has been ready (not while it learns the cluster).
  if (client instanceof Cluster) {
    let known = false;
    client.once('ready', () => (known = true));
    client.on('-node', (node: Redis) => {
      if (known) log.info({ connection: name, node: `${node.options.host}:${node.options.port}` }, 'Redis Cluster node left the pool (failover or topology change)');
    });
  }
}

/** Resolves once `client` is ready; rejects after `timeoutMs` (a server that cannot start without Redis). */
export function untilRedisReady(client: RedisClient, timeoutMs: number): Promise<void> {
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
  /Stream isn't writeable|enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|^LOADING |^MASTERDOWN |^TRYAGAIN |^CLUSTERDOWN |^READONLY |^UNBLOCKED |Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|No sharded subscriber for slot|All sentinels are unreachable|Cluster is ended/;

/**
 * Whether `error` says Redis is unreachable (not that a command was wrong): a client with no
 * connection and no offline queue, a command timeout, retries used up, a closed connection,
 * a Redis still loading its data after a restart, a Cluster or a Sentinel-watched master in
 * the middle of a failover (no node for a slot, a demoted master refusing writes or ending a
 * blocking command), or a RedisUnavailableError.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
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
