import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REVIVE_DELAY_MS, watchRedisConnection } from '../src/redis-connections.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { REDIS_URL } from './job-state-redis.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A log that keeps its lines. */
function recordingLog() {
  const lines: Array<{ level: 'info' | 'warn' | 'error'; message: string; fields: object }> = [];
  const at = (level: 'info' | 'warn' | 'error') => (fields: object, message: string) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

describe('watchRedisConnection: a client that ends without being closed', () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** A client that gives up at its first lost connection (retryStrategy null): ioredis ends it, as its Sentinel connector could. */
  async function givingUpClient() {
    const client = new Redis(REDIS_URL, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    clients.push(client);
    const log = recordingLog();
    watchRedisConnection(client, 'test', log);
    await waitFor(() => client.status === 'ready', 'the client to be ready', 5000);
    return { client, log };
  }

  it('is said as an error and connects again after REVIVE_DELAY_MS', async () => {
    const { client, log } = await givingUpClient();
    const killer = new Redis(REDIS_URL);
    try {
      await killer.client('KILL', 'ID', String(await client.client('ID')));
    } finally {
      killer.disconnect();
    }
    await waitFor(() => client.status === 'end', 'ioredis to end the client', 5000);
    expect(log.lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(['Redis connection ended without being closed; connecting again']);
    await waitFor(() => client.status === 'ready', 'the client to connect again', REVIVE_DELAY_MS + 3000);
    expect(await client.ping()).toBe('PONG');
    expect(log.lines.map((line) => `${line.level} ${line.message}`)).toContain('info Redis connection back');
  });

  it.each(['quit', 'disconnect'] as const)('stays closed after %s(), and says nothing', async (close) => {
    const { client, log } = await givingUpClient();
    if (close === 'quit') await client.quit();
    else client.disconnect();
    await waitFor(() => client.status === 'end', 'the client to end', 5000);
    await sleep(REVIVE_DELAY_MS + 300);
    expect(client.status).toBe('end');
    expect(log.lines).toEqual([]);
  });
});
