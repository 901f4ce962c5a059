import type { RedisClient } from '@a2i/protocol';
import { packDescriptionSchema, type PackDescription, type RedisLayout } from '@a2i/protocol';

/**
 * What the api knows of the workers: the pack description they last published (the api
 * never loads a model) and how many sent a heartbeat lately. The description is cached for
 * `cacheMs` so each request does not read it.
 */
export class PackSource {
  private cached: { description: PackDescription; warmUpMs: number | null; at: number } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly layout: RedisLayout,
    private readonly heartbeatIntervalMs: number,
    private readonly cacheMs = 2000,
  ) {}

  async description(): Promise<PackDescription | null> {
    return (await this.published())?.description ?? null;
  }

  /** The description with the publishing worker's warm-up time (apps/worker heartbeat.ts; null: none ran). */
  async published(): Promise<{ description: PackDescription; warmUpMs: number | null } | null> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached;
    const raw = await this.redis.get(this.layout.packKey);
    const json: unknown = raw === null ? null : JSON.parse(raw);
    const parsed = json === null ? null : packDescriptionSchema.safeParse(json);
    if (!parsed?.success) return null;
    const warmUpMs = (json as { warmUpMs?: unknown }).warmUpMs;
    // Only a description is cached: the first worker's pack is used as soon as it appears.
    this.cached = { description: parsed.data, warmUpMs: typeof warmUpMs === 'number' ? warmUpMs : null, at: now };
    return this.cached;
  }

  /** Workers whose last heartbeat is within 3 intervals. */
  async workersAlive(): Promise<number> {
    return this.redis.zcount(this.layout.workersKey, Date.now() - 3 * this.heartbeatIntervalMs, '+inf');
  }
}
