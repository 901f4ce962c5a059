import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, snapshotEvents, toGenerationStatus, type DecodedEnvelope, type JobStateStore, type RedisLayout } from '../src/index.js';
import { createJob, openJobStateRedis, type JobStateRedis } from './job-state-redis.js';

describe('JobStateStore (real Redis)', () => {
  let redis: Redis;
  let layout: RedisLayout;
  let store: JobStateStore;
  let opened: JobStateRedis;
  const received: DecodedEnvelope[] = [];

  beforeEach(async () => {
    ({ redis, layout, store } = opened = openJobStateRedis('a2i-test-store'));
    received.length = 0;
    opened.listener.on('smessageBuffer', (_c: Buffer, m: Buffer) => received.push(decodeEnvelope(m)));
    await opened.listener.ssubscribe(layout.jobEventsChannel('job1'));
    await createJob(store, 'job1');
  });
  afterEach(() => opened.close());

  it('numbers each change, publishes it, and refuses any change after a terminal one', async () => {
    expect(await store.started('job1', 1)).toEqual({ applied: true, seq: 2 });
    expect(await store.progress('job1', { stage: 'decode', step: 1, steps: 4, etaMs: 30 })).toEqual({ applied: true, seq: 3 });
    expect(await store.publishPreview('job1', { stage: 'decode', step: 1, index: 0, width: 1, height: 1, mime: 'image/webp', image: new Uint8Array([1]) })).toEqual({
      applied: true,
      seq: 3,
    });
    expect(await store.canceled('job1', 30)).toEqual({ applied: true, seq: 4 });
    expect(await store.progress('job1', { stage: 'decode', step: 2, steps: 4, etaMs: 20 })).toEqual({ applied: false, reason: 'status' });
    expect(await store.succeeded('job1', [], 30)).toEqual({ applied: false, reason: 'status' });
    expect(await store.publishPreview('job1', { stage: 'decode', step: 2, index: 0, width: 1, height: 1, mime: 'image/webp', image: new Uint8Array([1]) })).toEqual({
      applied: false,
      reason: 'status',
    });
    expect(await store.started('missing', 1)).toEqual({ applied: false, reason: 'not-found' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.map((r) => [r.event.type, r.seq, r.ephemeral])).toEqual([
      ['job:started', 2, false],
      ['job:progress', 3, false],
      ['job:preview', 3, true],
      ['job:canceled', 4, false],
    ]);
    const state = (await store.get('job1'))!;
    expect(state.status).toBe('canceled');
    expect(await redis.ttl(layout.jobKey('job1'))).toBeLessThanOrEqual(30);
    expect(toGenerationStatus(state, null).status).toBe('canceled');
  });

  it('keeps progress in the state so a late subscriber can be brought up to date', async () => {
    await store.started('job1', 1);
    await store.progress('job1', { stage: 'prior', step: 2, steps: 5, etaMs: null });
    const state = (await store.get('job1'))!;
    expect(snapshotEvents(state, null, 7)).toEqual([
      { type: 'job:started', payload: { id: 'job1', seq: 3, at: 7, attempt: 1 } },
      { type: 'job:progress', payload: { id: 'job1', seq: 3, at: 7, stage: 'prior', step: 2, steps: 5, etaMs: null } },
    ]);
    // A retry clears the old progress.
    await store.requeued('job1');
    await store.started('job1', 2);
    expect(snapshotEvents((await store.get('job1'))!, null, 7).map((e) => e.type)).toEqual(['job:started']);
  });
});
