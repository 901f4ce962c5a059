import type { Redis } from 'ioredis';
import { packDescriptionSchema, type PackDescription, type RedisLayout } from '@a2i/protocol';

/**
 * What the api knows of the workers: the pack description they last published (the api
 * never loads a model) and how many sent a heartbeat lately. The description is cached for
 * `cacheMs` so each request does not read it.
 */
export class PackSource {
  private cached: { description: PackDescription; at: number } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly layout: RedisLayout,
    private readonly heartbeatIntervalMs: number,
    private readonly cacheMs = 2000,
  ) {}

  async description(): Promise<PackDescription | null> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.description;
    const raw = await this.redis.get(this.layout.packKey);
    const parsed = raw === null ? null : packDescriptionSchema.safeParse(JSON.parse(raw));
    const description = parsed?.success ? parsed.data : null;
    // Only a description is cached: the first worker's pack is used as soon as it appears.
    if (description) this.cached = { description, at: now };
    return description;
  }

  /** Workers whose last heartbeat is within 3 intervals. */
  async workersAlive(): Promise<number> {
    return this.redis.zcount(this.layout.workersKey, Date.now() - 3 * this.heartbeatIntervalMs, '+inf');
  }
}
