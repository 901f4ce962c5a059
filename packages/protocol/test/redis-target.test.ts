import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FailoverAwareSentinelConnector } from '../src/sentinel-failover.js';
import { ConfigError, isRedisUnavailable, loadServerConfig, parseRedisTarget, redactRedisUrl, redisClientOf, redisLayout, RedisUrlError } from '../src/index.js';

/**
 * Redis Cluster's hash-tag rule (redis.io "Redis cluster specification", Hash tags): when a key
 * has a `{` and, after it, a `}` with at least one character between, only that part is hashed.
 */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close <= open + 1 ? key : key.slice(open + 1, close);
}

describe('A2I_REDIS_URL: one node, a Cluster or Sentinel', () => {
  it('keeps a one-node URL as it is (ioredis reads it)', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379')).toEqual({ kind: 'node', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisTarget('rediss://:secret@cache.example:6380/2')).toEqual({ kind: 'node', url: 'rediss://:secret@cache.example:6380/2' });
  });

  it('reads a Cluster as its seed nodes, with credentials and TLS', () => {
    expect(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,node-4')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
        { host: 'node-4', port: 6379 },
      ],
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://a2i:p%40ss@h1:7000')).toEqual({ kind: 'cluster', nodes: [{ host: 'h1', port: 7000 }], tls: true, username: 'a2i', password: 'p@ss' });
  });

  it("reads Sentinel as the sentinels, the master's name, its db and the sentinels' own credentials", () => {
    expect(parseRedisTarget('redis+sentinel://:pw@s1:26380,s2/mymaster/3?sentinelPassword=sp')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 3,
      tls: false,
      password: 'pw',
      sentinelPassword: 'sp',
    });
  });

  it('refuses what it cannot use, by the form it expected, never echoing a password', () => {
    const refusal = (url: string) => {
      try {
        parseRedisTarget(url);
      } catch (error) {
        expect(error).toBeInstanceOf(RedisUrlError);
        return (error as Error).message;
      }
      throw new Error(`Expected ${url} to be refused`);
    };
    expect(refusal('http://h:1')).toMatch(/^Expected redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or redis\+sentinel:\/\/ URL for A2I_REDIS_URL/);
    expect(refusal('redis://h1:1,h2:2')).toMatch(/several nodes of a Cluster: redis\+cluster/);
    expect(refusal('redis+cluster://h1:1/2')).toMatch(/no database/);
    expect(refusal('redis+cluster://h1:99999')).toMatch(/ports between 1 and 65535/);
    expect(refusal('redis+sentinel://s1:26379')).toMatch(/the master's name/);
    expect(refusal('redis+sentinel://u:topsecret@s1/m?other=1')).toMatch(/only sentinelUsername and sentinelPassword/);
    expect(refusal('redis+sentinel://u:topsecret@s1/m?other=1')).not.toMatch(/topsecret/);
    expect(redactRedisUrl('redis+sentinel://u:pw@s1/m?sentinelPassword=x')).toBe('redis+sentinel://u:***@s1/m?sentinelPassword=***');
  });

  it('is checked with the rest of the configuration (CONFIG_INVALID, password redacted)', () => {
    expect(loadServerConfig({ A2I_REDIS_URL: 'redis+cluster://h1:7000,h2:7001' }).redis.url).toBe('redis+cluster://h1:7000,h2:7001');
    expect(() => loadServerConfig({ A2I_REDIS_URL: 'redis://:hunter2@h1:1,h2:2' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ A2I_REDIS_URL: 'redis://:hunter2@h1:1,h2:2' })).toThrow(/for A2I_REDIS_URL but received "redis:\/\/:\*\*\*@h1:1,h2:2"/);
  });

  it("builds ioredis's own client for each: a Redis, a Redis asking the sentinels, a Cluster", () => {
    const lazy = { lazyConnect: true, maxRetriesPerRequest: 0 };
    const node = redisClientOf(parseRedisTarget('redis://127.0.0.1:1'), lazy);
    const sentinel = redisClientOf(parseRedisTarget('redis+sentinel://127.0.0.1:2/main/1'), lazy);
    const cluster = redisClientOf(parseRedisTarget('redis+cluster://127.0.0.1:3,127.0.0.1:4'), { ...lazy, enableOfflineQueue: false }, { shardedSubscribers: true });
    try {
      expect(node).toBeInstanceOf(Redis);
      expect(sentinel).toBeInstanceOf(Redis);
      expect(sentinel.options).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: 2 }], name: 'main', db: 1, Connector: FailoverAwareSentinelConnector });
      // ioredis's own detector can end a reconnecting client (sentinel-failover.ts): not used
      expect((sentinel as Redis).options.failoverDetector).toBeFalsy();
      expect(cluster).toBeInstanceOf(Cluster);
      // the offline queue is the Cluster's; the per-command options go to its node connections
      expect((cluster as Cluster).options).toMatchObject({ enableOfflineQueue: false, shardedSubscribers: true, lazyConnect: true, redisOptions: { maxRetriesPerRequest: 0 } });
    } finally {
      for (const client of [node, sentinel, cluster]) client.disconnect();
    }
  });
});

describe('a failover is "Redis is not there right now" (503 NOT_READY, retried), not a bad command', () => {
  it('reads the replies and client errors of a Cluster or Sentinel failover as unavailability', () => {
    for (const message of [
      'UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)',
      "READONLY You can't write against a read only replica.",
      'CLUSTERDOWN The cluster is down',
      'Failed to refresh slots cache.',
      'All sentinels are unreachable. Retrying from scratch after 10ms.',
    ]) {
      expect(isRedisUnavailable(new Error(message)), message).toBe(true);
    }
    expect(isRedisUnavailable(new Error("ERR wrong number of arguments for 'hset' command"))).toBe(false);
    expect(isRedisUnavailable(new Error('CROSSSLOT Keys in request don\'t hash to the same slot'))).toBe(false);
  });
});

describe('the Redis layout on a Cluster: which keys share a slot', () => {
  const layout = redisLayout('a2i');

  it("puts each job's state, events channel and tombstone in the job's own slot", () => {
    for (const id of ['0b7c1f2e', 'job-2']) {
      expect([layout.jobKey(id), layout.jobEventsChannel(id), layout.tombstoneKey(id)].map(hashTag)).toEqual([id, id, id]);
    }
    expect(hashTag(layout.jobKey('a'))).not.toBe(hashTag(layout.jobKey('b')));
  });

  it("puts BullMQ's queues and the keys shared by all jobs in the prefix's slot", () => {
    expect(layout.prefix).toBe('{a2i}');
    const bullmqKeys = [layout.generationQueue, layout.embeddingQueue, layout.ingestQueue, layout.webhookQueue].map((queue) => `${layout.prefix}:${queue}:wait`);
    const shared = [layout.workersKey, layout.packKey, layout.queueMovedChannel, layout.cancelChannel, layout.ownerJobsKey('owner'), ...bullmqKeys];
    expect(new Set(shared.map(hashTag))).toEqual(new Set(['a2i']));
  });
});
