import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStateStore, decodeEnvelope, redisLayout, type RedisLayout } from '../src/index.js';

const REDIS_URL = process.env.A2I_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREVIEW = { stage: 'decode', step: 1, index: 0, width: 1, height: 1, mime: 'image/webp', image: new Uint8Array([1]) } as const;

describe('where JobStateStore publishes (real Redis)', () => {
  let redis: Redis;
  let listener: Redis;
  let layout: RedisLayout;
  let store: JobStateStore;
  const heard: Array<{ channel: string; text: string }> = [];

  beforeEach(async () => {
    layout = redisLayout(`a2i-test-channels-${randomBytes(6).toString('hex')}`);
    redis = new Redis(REDIS_URL);
    listener = new Redis(REDIS_URL);
    store = new JobStateStore(redis, layout, () => 1000);
    heard.length = 0;
    listener.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const text = channel.toString() === layout.queueMovedChannel ? message.toString() : decodeEnvelope(message).event.type;
      heard.push({ channel: channel.toString(), text });
    });
    await listener.ssubscribe(layout.jobEventsChannel('job1'), layout.jobEventsChannel('job2'), layout.queueMovedChannel);
    for (const id of ['job1', 'job2']) await store.create({ id, tokenHash: 'ab', owner: '', seed: 9, numImages: 1, format: 'png', createdAt: 1000 }, 60);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${layout.prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await listener.quit();
    await redis.quit();
  });

  it("puts each job's events on its own shard channel, and says on queue-moved when the queue may have moved", async () => {
    // A plain (not sharded) subscriber on everything under the prefix hears nothing: no global channel is left.
    const plain = new Redis(REDIS_URL);
    const plainHeard: string[] = [];
    plain.on('pmessage', (_pattern: string, channel: string) => plainHeard.push(channel));
    await plain.psubscribe(`${layout.prefix}:*`);

    await store.publishPosition('job1', 2);
    await store.started('job1', 1);
    await store.progress('job1', { stage: 'decode', step: 1, steps: 2, etaMs: null });
    await store.publishPreview('job1', PREVIEW);
    await store.publishPosition('job2', 1);
    await store.succeeded('job1', [{ index: 0, url: '/x', width: 1, height: 1, seed: 9, format: 'png', bytes: 1 }], 30);
    // refused (finished job): no event, and no queue-moved either
    await store.canceled('job1', 30);
    await store.canceled('job2', 30);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const job1 = layout.jobEventsChannel('job1');
    const job2 = layout.jobEventsChannel('job2');
    const moved = layout.queueMovedChannel;
    expect(job1).toBe(`${layout.prefix}:events:job1`);
    expect(heard).toEqual([
      { channel: job1, text: 'job:queued' },
      { channel: moved, text: 'job1' },
      { channel: job1, text: 'job:started' },
      { channel: moved, text: 'job1' },
      { channel: job1, text: 'job:progress' },
      { channel: job1, text: 'job:preview' },
      { channel: job2, text: 'job:queued' },
      { channel: moved, text: 'job2' },
      { channel: job1, text: 'job:succeeded' },
      { channel: moved, text: 'job1' },
      { channel: job2, text: 'job:canceled' },
      { channel: moved, text: 'job2' },
    ]);
    expect(plainHeard).toEqual([]);
    await plain.quit();
  });
});
