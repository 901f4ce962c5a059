import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';
import { addressKey } from './client-address.js';
import { sha256Hex, type Credentials } from './job-access.js';

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

  constructor(options: { redis: Redis; prefix: string; rates: Record<RateKind, Rate>; apiKeys: string[]; logger: Logger }) {
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
