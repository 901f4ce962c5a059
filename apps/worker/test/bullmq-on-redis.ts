import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { removeKeysWithPrefix } from '@a2i/protocol';
import { REDIS_URL } from '../../../test/support/redis-server.js';
export { REDIS_URL } from '../../../test/support/redis-server.js';

/**
 * BullMQ queues and workers on the real Redis for one describe block: a fresh key prefix, and
 * `open(make)`, which gives `make` a connection of its own and closes both (newest first) after
 * each test, then removes every key under the prefix.
 */
export function useBullmqOnRedis(name: string): { prefix: string; open<T>(make: (connection: Redis) => T & { close(): Promise<unknown> }): T } {
  const prefix = `a2i-test-${name}-${randomBytes(6).toString('hex')}`;
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await removeKeysWithPrefix(REDIS_URL, prefix);
  });
  return {
    prefix,
    open(make) {
      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const made = make(connection);
      closers.push(async () => {
        await made.close();
        await connection.quit();
      });
      return made;
    },
  };
}
