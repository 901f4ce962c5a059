import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { RedisClient } from '@a2i/protocol';
import type { Logger } from 'pino';
import proxyaddr from 'proxy-addr';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';
import { sha256Hex, type Credentials } from './job-access.js';

// ---------------------------------------------------------------- who a client is: its address

/** A2I_TRUST_PROXY as parsed: off, on, a hop count, or trusted proxy addresses / subnets. */
export type TrustProxySetting = boolean | number | string[];
export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * The same trust rule express applies for `app.set('trust proxy', setting)`, as a function, so
 * socket.io's raw handshake requests read the client's address exactly as HTTP routes do.
 */
export function compileTrust(setting: TrustProxySetting): TrustFunction {
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyaddr.compile(setting);
}

/** The client's address: the socket's peer, or the last untrusted X-Forwarded-For hop behind trusted proxies. */
export function clientAddress(req: IncomingMessage, trust: TrustFunction): string {
  if (!req.socket?.remoteAddress) return 'unknown';
  return proxyaddr(req, trust);
}

/**
 * The key a per-address limit counts under: IPv4 as is (also when IPv4-mapped, ::ffff:a.b.c.d);
 * IPv6 by its /64, the block one subscriber is usually given (counting single IPv6 addresses
 * would let one client pick a fresh address per request).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  // an embedded IPv4 tail (::1.2.3.4) becomes two groups
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}

// ---------------------------------------------------------------- how much it may do

/** What a client spends its budget on (A2I_RATE_GENERATIONS, A2I_RATE_EMBEDDINGS, A2I_RATE_CONNECTIONS). */
export type RateKind = 'generations' | 'embeddings' | 'connections';
/** `points` per `seconds`; null: no limit. */
export type Rate = { points: number; seconds: number } | null;

const WHAT: Record<RateKind, string> = { generations: 'generations created', embeddings: 'embedding requests', connections: 'socket.io connections opened' };

/**
 * Per-client rate limits, counted in Redis so every api instance spends from the same budget
 * (rate-limiter-flexible's RateLimiterRedis: one atomic Lua step per request, SET NX EX +
 * INCRBY, a fixed window that starts with the client's first request). Over budget: 429
 * RATE_LIMITED with Retry-After = the seconds until the window ends.
 *
 * A client is its API key when that key is one of A2I_API_KEYS (an unknown key counts as its
 * address, so inventing keys buys nothing), else its address (IPv6: its /64).
 *
 * Redis unreachable: the limit is not enforced (logged); the request meets the same Redis on
 * its own path and is answered 503 there, so a limiter adds no new way to fail.
 */
export class RateLimits {
  private readonly limiters = new Map<RateKind, RateLimiterRedis>();
  private readonly knownKeys: Set<string>;
  private readonly logger: Logger;

  constructor(options: { redis: RedisClient; prefix: string; rates: Record<RateKind, Rate>; apiKeys: string[]; logger: Logger }) {
    this.knownKeys = new Set(options.apiKeys.map(sha256Hex));
    for (const [kind, rate] of Object.entries(options.rates) as Array<[RateKind, Rate]>) {
      if (!rate) continue;
      this.limiters.set(
        kind,
        new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: `${options.prefix}:rate:${kind}`,
          points: rate.points,
          duration: rate.seconds,
          rejectIfRedisNotReady: true,
        }),
      );
    }
    this.logger = options.logger;
  }

  /** The key a client's budget is counted under. */
  clientKey(credentials: Credentials, address: string): string {
    if (credentials.apiKeyHash !== undefined && this.knownKeys.has(credentials.apiKeyHash)) return `key:${credentials.apiKeyHash.slice(0, 32)}`;
    return `addr:${addressKey(address)}`;
  }

  /** Spends one unit of `kind` for the client; throws 429 RATE_LIMITED (with Retry-After) when none is left. */
  async consume(kind: RateKind, clientKey: string): Promise<void> {
    const limiter = this.limiters.get(kind);
    if (!limiter) return;
    try {
      await limiter.consume(clientKey);
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) {
        const retryAfterSeconds = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
        throw new ApiError(
          ERROR_CODES.RATE_LIMITED,
          `Expected at most ${limiter.points} ${WHAT[kind]} per ${limiter.duration} s from one client; try again in ${retryAfterSeconds} s`,
          retryAfterSeconds,
        );
      }
      this.logger.warn({ err: outcome, kind }, 'rate limit not enforced: its Redis store failed');
    }
  }
}
