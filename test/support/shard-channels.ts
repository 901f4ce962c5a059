import type { Redis } from 'ioredis';

/**
 * The sharded pub/sub channels of a prefix that some client is subscribed to, sorted: the
 * shared ones (`{a2i}:*`, e.g. queue-moved) and the per-job ones (`a2i:events:{<id>}`). `prefix`
 * is A2I_REDIS_PREFIX or a layout's `{prefix}` (packages/protocol/src/redis-layout.ts).
 */
export async function shardChannels(redis: Redis, prefix: string): Promise<string[]> {
  const base = prefix.replace(/^\{(.*)\}$/, '$1');
  const lists = await Promise.all([`{${base}}:*`, `${base}:*`].map((pattern) => redis.call('PUBSUB', 'SHARDCHANNELS', pattern) as Promise<string[]>));
  return lists.flat().sort();
}
