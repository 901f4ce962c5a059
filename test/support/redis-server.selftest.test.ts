import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startOwnRedis } from './redis-server.js';

describe('startOwnRedis (fault tests own their Redis)', () => {
  it('keeps an append-only write across a restart and loses a plain one', async () => {
    for (const appendonly of [true, false]) {
      const redis = await startOwnRedis({ appendonly });
      try {
        const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        await client.set('k', 'v');
        client.disconnect();
        await redis.stop();
        await redis.start();
        const again = new Redis(redis.url);
        expect(await again.get('k')).toBe(appendonly ? 'v' : null);
        again.disconnect();
      } finally {
        await redis.dispose();
      }
    }
  });
});
