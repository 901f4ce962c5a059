import type { Redis } from 'ioredis';
import type { PackDescription, RedisLayout } from '@a2i/protocol';

/**
 * Tells the api this worker is alive with its pipeline loaded: every `intervalMs` it sets
 * `<prefix>:workers[name] = now` and (re)writes the pack description the api validates
 * requests against. The api counts a worker as alive for 3 intervals.
 */
export function startHeartbeat(redis: Redis, layout: RedisLayout, name: string, description: PackDescription, intervalMs: number) {
  const beat = () => redis.multi().set(layout.packKey, JSON.stringify(description)).zadd(layout.workersKey, Date.now(), name).exec();
  const timer = setInterval(() => void beat().catch(() => undefined), intervalMs);
  timer.unref();
  return {
    first: beat(),
    async stop(): Promise<void> {
      clearInterval(timer);
      await redis.zrem(layout.workersKey, name);
    },
  };
}
