import { Cluster, type Redis } from 'ioredis';
import { redisClientOf, type RedisClient } from './redis-connections.js';
import { parseRedisTarget } from './redis-target.js';

/** A client that tries once: no retries, no error events (admin checks and clean-ups). */
function adminClient(url: string, lazyConnect: boolean): RedisClient {
  const client = redisClientOf(parseRedisTarget(url), { lazyConnect, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  return client;
}

/** Whether a Redis (one node, a Cluster or a Sentinel-watched master) answers PING at `url` within about a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  let client: RedisClient;
  try {
    client = adminClient(url, true);
  } catch {
    return false;
  }
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Deletes every key of a prefix (queues, job states, heartbeats): tests and benchmarks clean up
 * with it. `prefix` is A2I_REDIS_PREFIX or a layout's `{prefix}`: both the shared keys
 * (`{a2i}:*`) and the per-job ones (`a2i:*`) go (redis-layout.ts). On a Cluster, every master
 * is scanned and each key deleted on its own (keys of different slots cannot share a command).
 */
export async function removeKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const base = prefix.replace(/^\{(.*)\}$/, '$1');
  const redis = adminClient(url, false);
  try {
    const nodes: Redis[] = redis instanceof Cluster ? await clusterMasters(redis) : [redis];
    for (const node of nodes) {
      for (const pattern of [`${base}:*`, `{${base}}:*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          if (keys.length === 0) continue;
          if (redis instanceof Cluster) await Promise.all(keys.map((key) => redis.unlink(key)));
          else await redis.unlink(...keys);
        } while (cursor !== '0');
      }
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function clusterMasters(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status !== 'ready') await new Promise((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('end', () => reject(new Error('Expected the Redis Cluster to be ready but it ended')));
  });
  return cluster.nodes('master');
}
