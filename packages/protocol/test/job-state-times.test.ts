import { afterEach, describe, expect, it } from 'vitest';
import { JobStateStore, OwnerJobIndex, HISTORY_MAX_JOBS_PER_OWNER, toGenerationStatus } from '../src/index.js';
import { createJob, openJobStateRedis, type JobStateRedis } from './job-state-redis.js';

describe('job times and the owner index (real Redis)', () => {
  let opened: JobStateRedis | undefined;
  afterEach(() => opened?.close());

  it('stamps startedAt when a worker takes the job, clears it on requeue, stamps completedAt at the end', async () => {
    opened = openJobStateRedis('a2i-test-times');
    let now = 1000;
    const store = new JobStateStore(opened.redis, opened.layout, () => now);
    await createJob(store, 'job1');
    now = 1500;
    await store.started('job1', 1);
    expect(await store.get('job1')).toMatchObject({ startedAt: 1500 });
    await store.requeued('job1', 1);
    expect((await store.get('job1'))!.startedAt).toBeUndefined();
    now = 2500;
    await store.started('job1', 2);
    now = 4000;
    await store.failed('job1', 'INTERNAL', 'x', 60, 2);
    const status = toGenerationStatus((await store.get('job1'))!, null);
    expect(status).toMatchObject({
      createdAt: 1000,
      createdAtIso: '1970-01-01T00:00:01.000Z',
      startedAt: 2500,
      startedAtIso: '1970-01-01T00:00:02.500Z',
      completedAt: 4000,
      completedAtIso: '1970-01-01T00:00:04.000Z',
      updatedAtIso: '1970-01-01T00:00:04.000Z',
    });
  });

  it('indexes a generation with an owner (not one without, not an ingest job) and keeps the newest HISTORY_MAX_JOBS_PER_OWNER', async () => {
    opened = openJobStateRedis('a2i-test-owner-index');
    const { store, layout, redis } = opened;
    const base = { tokenHash: 'ab', seed: 1, numImages: 1, format: 'png' };
    await store.create({ ...base, id: 'anon', owner: '', createdAt: 1 }, 60);
    await store.create({ ...base, id: 'ingest', owner: 'k1', createdAt: 2, kind: 'ingest', collection: 'c' }, 60);
    for (let i = 0; i <= HISTORY_MAX_JOBS_PER_OWNER; i++) await store.create({ ...base, id: `g${i}`, owner: 'k1', createdAt: 10 + i }, 60);
    const index = new OwnerJobIndex(redis, layout);
    const listed = await index.list('k1');
    expect(listed).toHaveLength(HISTORY_MAX_JOBS_PER_OWNER);
    expect(listed.some((job) => job.id === 'g0' || job.id === 'ingest')).toBe(false);
    expect(listed.at(-1)).toEqual({ id: `g${HISTORY_MAX_JOBS_PER_OWNER}`, createdAt: 10 + HISTORY_MAX_JOBS_PER_OWNER });
    expect(await redis.keys(`${layout.prefix}:owner-jobs:*`)).toEqual([layout.ownerJobsKey('k1')]);
    await index.forget('k1', ['g1', 'g2']);
    expect(await index.list('k1')).toHaveLength(HISTORY_MAX_JOBS_PER_OWNER - 2);
  });
});
