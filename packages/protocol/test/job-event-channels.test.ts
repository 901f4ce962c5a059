import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, type JobStateStore, type RedisLayout } from '../src/index.js';
import { REDIS_URL, createJob, openJobStateRedis, type JobStateRedis } from './job-state-redis.js';

const PREVIEW = { stage: 'decode', step: 1, index: 0, width: 1, height: 1, mime: 'image/webp', image: new Uint8Array([1]) } as const;

describe('where JobStateStore publishes (real Redis)', () => {
  let layout: RedisLayout;
  let store: JobStateStore;
  let opened: JobStateRedis;
  const heard: Array<{ channel: string; text: string }> = [];

  beforeEach(async () => {
    ({ layout, store } = opened = openJobStateRedis('a2i-test-channels'));
    heard.length = 0;
    opened.listener.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const text = channel.toString() === layout.queueMovedChannel ? message.toString() : decodeEnvelope(message).event.type;
      heard.push({ channel: channel.toString(), text });
    });
    await opened.listener.ssubscribe(layout.jobEventsChannel('job1'), layout.jobEventsChannel('job2'), layout.queueMovedChannel);
    for (const id of ['job1', 'job2']) await createJob(store, id);
  });
  afterEach(() => opened.close());

  it("puts each job's events on its own shard channel, and says on queue-moved when the queue may have moved", async () => {
    // A plain (not sharded) subscriber on everything under the prefix hears nothing: no global channel is left.
    const plain = new Redis(REDIS_URL);
    const plainHeard: string[] = [];
    plain.on('pmessage', (_pattern: string, channel: string) => plainHeard.push(channel));
    await plain.psubscribe(`${layout.prefix}:*`, `${layout.base}:*`);

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
    // in the job's own Cluster slot (hash tag: its id), beside its state
    expect(job1).toBe(`${layout.base}:events:{job1}`);
    expect(layout.jobKey('job1')).toBe(`${layout.base}:job:{job1}`);
    // each event on its job's channel, in order; the ones that can move the queue (a job
    // queued, started or finished) followed by the job's id on queue-moved
    const channels = { job1, job2 };
    const movesQueue = new Set(['job:queued', 'job:started', 'job:succeeded', 'job:canceled']);
    const events: Array<[keyof typeof channels, string]> = [
      ['job1', 'job:queued'], ['job1', 'job:started'], ['job1', 'job:progress'], ['job1', 'job:preview'],
      ['job2', 'job:queued'], ['job1', 'job:succeeded'], ['job2', 'job:canceled'],
    ];
    expect(heard).toEqual(
      events.flatMap(([job, type]) => [{ channel: channels[job], text: type }, ...(movesQueue.has(type) ? [{ channel: moved, text: job }] : [])]),
    );
    expect(plainHeard).toEqual([]);
    await plain.quit();
  });
});
