import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { JobStateStore, redisLayout, type RedisLayout } from '../src/index.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';
export { REDIS_URL } from '../../../test/support/redis-server.js';

/** A JobStateStore on the real Redis under a fresh key prefix, a second connection to subscribe with, and their cleanup. */
export interface JobStateRedis {
  redis: Redis;
  listener: Redis;
  layout: RedisLayout;
  /** Its clock stands at 1000 ms. */
  store: JobStateStore;
  /** Deletes every key under the prefix and closes both connections. */
  close(): Promise<void>;
}

export function openJobStateRedis(prefix: string): JobStateRedis {
  const layout = redisLayout(`${prefix}-${randomBytes(6).toString('hex')}`);
  const redis = new Redis(REDIS_URL);
  const listener = new Redis(REDIS_URL);
  return {
    redis,
    listener,
    layout,
    store: new JobStateStore(redis, layout, () => 1000),
    async close() {
      const keys = await redis.keys(`${layout.prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await listener.quit();
      await redis.quit();
    },
  };
}

/** Creates a queued job with the fields these tests share (seed 9, one png), kept 60 s. */
export async function createJob(store: JobStateStore, id: string): Promise<void> {
  await store.create({ id, tokenHash: 'ab', owner: '', seed: 9, numImages: 1, format: 'png', createdAt: 1000 }, 60);
}
