import type { Redis } from 'ioredis';

/** The sharded pub/sub channels under `prefix` that some client is subscribed to, sorted. */
export async function shardChannels(redis: Redis, prefix: string): Promise<string[]> {
  return ((await redis.call('PUBSUB', 'SHARDCHANNELS', `${prefix}:*`)) as string[]).sort();
}
