import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisLayout, removeKeysWithPrefix, type PackDescription } from '@a2i/protocol';
import { startHeartbeat } from '../src/heartbeat.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';

describe('the heartbeat file a container health check reads (A2I_HEARTBEAT_FILE)', () => {
  const prefix = `a2i-test-beat-${randomBytes(6).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await removeKeysWithPrefix(REDIS_URL, prefix);
  });

  it('is written after each beat Redis took, so its age says the worker is alive and reaches Redis', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'a2i-beat-'));
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => redis.quit());
    const file = join(dir, 'heartbeat');
    const layout = redisLayout(prefix);
    const beat = startHeartbeat(redis, layout, 'w1', { name: 'synthetic' } as PackDescription, 50, { warmUpMs: null }, file);
    await beat.first;
    expect(await redis.zscore(layout.workersKey, 'w1')).not.toBeNull();
    const first = Number(await readFile(file, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = await stat(file);
    await beat.stop();
    expect(later.mtimeMs).toBeGreaterThan(first);
    expect(await redis.zscore(layout.workersKey, 'w1')).toBeNull();
  });
});
