import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, type DecodedEnvelope } from '../src/index.js';
import { createJob, openJobStateRedis, type JobStateRedis } from './job-state-redis.js';

// A video's frames progress (JobStateStore.framesStarted / frameDone, issue #19), on the real
// Redis: parts on several workers report frames in any order, some twice (a part run again).
describe('the frames progress of a video job (real Redis)', () => {
  let opened: JobStateRedis;
  const received: DecodedEnvelope[] = [];

  beforeEach(async () => {
    opened = openJobStateRedis('a2i-test-frames');
    received.length = 0;
    opened.listener.on('smessageBuffer', (_c: Buffer, m: Buffer) => received.push(decodeEnvelope(m)));
    await opened.listener.ssubscribe(opened.layout.jobEventsChannel('video1'));
    await createJob(opened.store, 'video1');
    await opened.store.started('video1', 1);
  });
  afterEach(() => opened.close());

  it('counts each frame once, in any order, and publishes counts that never go back', async () => {
    const { store } = opened;
    expect(await store.framesStarted('video1', 5, 1)).toMatchObject({ applied: true });
    for (const frame of [3, 0, 3, 4, 0, 1]) await store.frameDone('video1', frame, 5, 60);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const progress = received.filter((r) => r.event.type === 'job:progress').map((r) => r.event.payload as { stage: string; step: number; steps: number; etaMs: number | null });
    // framesStarted, then frames 3, 0, 4, 1: the repeats of 3 and 0 publish nothing
    expect(progress.map((p) => [p.stage, p.step, p.steps])).toEqual([
      ['frames', 0, 5],
      ['frames', 1, 5],
      ['frames', 2, 5],
      ['frames', 3, 5],
      ['frames', 4, 5],
    ]);
    expect(progress.slice(1).every((p) => typeof p.etaMs === 'number' && p.etaMs >= 0)).toBe(true);
    const state = await store.get('video1');
    expect(state).toMatchObject({ stage: 'frames', step: 4, steps: 5 });
    expect(await store.frameDone('video1', 1, 5, 60)).toEqual({ applied: true, seq: 0, counted: false });
  });

  it('refuses a frame once the video is no longer running, so its parts stop', async () => {
    const { store } = opened;
    await store.framesStarted('video1', 3, 1);
    await store.canceled('video1', 60);
    expect(await store.frameDone('video1', 0, 3, 60)).toEqual({ applied: false, reason: 'status' });
    expect(await store.frameDone('missing', 0, 3, 60)).toEqual({ applied: false, reason: 'not-found' });
  });
});
