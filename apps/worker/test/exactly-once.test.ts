import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  JobStateStore,
  redisLayout,
  removeKeysWithPrefix,
  type GenerationJob,
  type GenerationPipeline,
  type JobEvent,
  type RedisLayout,
} from '@a2i/protocol';
import { SyntheticPipeline } from '@a2i/pipeline';
import { FileStore } from '@a2i/storage';
import { createGenerationProcessor } from '../src/generation-processor.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';

const silent = pino({ level: 'silent' });

/** The synthetic pipeline, counting its runs and how each ended. */
function countingPipeline(stepMs: number) {
  const synthetic = new SyntheticPipeline({ stepMs });
  const runs: Array<{ startedAt: number; endedAt?: number; outcome?: 'done' | 'aborted' }> = [];
  const pipeline: GenerationPipeline = {
    describe: () => synthetic.describe(),
    embed: (inputs, signal) => synthetic.embed(inputs, signal),
    async generate(job, hooks) {
      const run: (typeof runs)[number] = { startedAt: Date.now() };
      runs.push(run);
      try {
        const output = await synthetic.generate(job, hooks);
        run.outcome = 'done';
        return output;
      } catch (error) {
        run.outcome = 'aborted';
        throw error;
      } finally {
        run.endedAt = Date.now();
      }
    },
  };
  return { pipeline, runs };
}

describe('a job runs to completion once, as its clients see it', () => {
  let prefix: string;
  let layout: RedisLayout;
  let tmp: string;
  let results: string;
  let redis: Redis;
  let events: Redis;
  let queue: Queue<GenerationJob>;
  let store: JobStateStore;
  const closers: Array<() => Promise<unknown>> = [];
  const heard = new Map<string, JobEvent[]>();

  beforeEach(async () => {
    prefix = `a2i-test-once-${randomBytes(6).toString('hex')}`;
    layout = redisLayout(prefix);
    tmp = await mkdtemp(join(tmpdir(), 'a2i-once-'));
    results = join(tmp, 'results');
    await mkdir(results, { recursive: true });
    redis = new Redis(REDIS_URL);
    events = new Redis(REDIS_URL);
    events.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      const { event } = decodeEnvelope(message);
      const list = heard.get(event.payload.id) ?? [];
      list.push(event);
      heard.set(event.payload.id, list);
    });
    queue = new Queue<GenerationJob>(layout.generationQueue, { connection: redis, prefix });
    store = new JobStateStore(redis, layout, Date.now, { tombstoneTtlSeconds: 120 });
    heard.clear();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await queue.close();
    await Promise.all([redis.quit(), events.quit()]);
    await removeKeysWithPrefix(REDIS_URL, prefix);
    await rm(tmp, { recursive: true, force: true });
  });

  const typesOf = (id: string) => (heard.get(id) ?? []).map((event) => event.type);

  async function newJob(id: string, steps: number): Promise<GenerationJob> {
    await store.create({ id, tokenHash: '0'.repeat(64), owner: '', seed: 7, numImages: 1, format: 'png', createdAt: Date.now() }, 600);
    await events.ssubscribe(layout.jobEventsChannel(id));
    return {
      id,
      createdAt: Date.now(),
      inputs: [{ modality: 'text', weight: 1, text: 'a bell in the fog' }],
      options: { prompt: '', seed: 7, steps, guidance: 3, usePrior: false, noiseLevel: 0, numImages: 1, format: 'png', previewEvery: 0, priority: 'normal' },
    };
  }

  function startWorker(pipeline: GenerationPipeline, options: Partial<WorkerOptions> = {}): Worker<GenerationJob> {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const processor = createGenerationProcessor({ pipeline, store, logger: silent, results: new FileStore(results), uploads: new FileStore(join(tmp, 'uploads')), scratchDir: join(tmp, 'uploads'), resultTtlSeconds: 600, progressIntervalMs: 0 });
    const worker = new Worker<GenerationJob>(layout.generationQueue, processor, { connection, prefix, ...options });
    worker.on('error', () => undefined); // a run that lost its lock cannot move its job: BullMQ says so here
    closers.push(async () => {
      await worker.close(true);
      await connection.quit();
    });
    return worker;
  }

  it('records a success once: a second success is refused, publishes nothing and keeps the first images', async () => {
    const id = 'twice-succeeded';
    await newJob(id, 1);
    expect((await store.started(id, 1)).applied).toBe(true);
    const first = [{ index: 0, url: `/v1/generations/${id}/images/0`, width: 8, height: 8, seed: 7, format: 'png' as const, bytes: 10 }];
    expect((await store.succeeded(id, first, 600)).applied).toBe(true);
    const second = await store.succeeded(id, [{ ...first[0]!, bytes: 99 }], 600);
    expect(second).toEqual({ applied: false, reason: 'status' });
    expect((await store.failed(id, 'INTERNAL', 'late', 600)).applied).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(typesOf(id).filter((type) => type === 'job:succeeded')).toHaveLength(1);
    expect((await store.get(id))?.images).toEqual(first);
    // The tombstone that outlives the state: owner's token hash and the final status.
    expect(await store.tombstone(id)).toMatchObject({ tokenHash: '0'.repeat(64), owner: '', status: 'succeeded' });
    expect(await redis.ttl(layout.tombstoneKey(id))).toBeGreaterThan(100);
  });

  it('fences changes to the attempt that holds the job', async () => {
    const id = 'fenced';
    await newJob(id, 1);
    await store.started(id, 1);
    await store.started(id, 2); // taken over by a second attempt
    expect(await store.progress(id, { stage: 'decode', step: 1, steps: 2, etaMs: null }, 1)).toEqual({ applied: false, reason: 'attempt' });
    expect(await store.succeeded(id, [], 600, 1)).toEqual({ applied: false, reason: 'attempt' });
    expect(await store.requeued(id, 1)).toEqual({ applied: false, reason: 'attempt' });
    expect((await store.progress(id, { stage: 'decode', step: 1, steps: 2, etaMs: null }, 2)).applied).toBe(true);
    expect((await store.get(id))?.status).toBe('running');
  });

  it('does not run again a job whose state is final: completes it at once, results untouched', async () => {
    const id = 'already-succeeded';
    const job = await newJob(id, 4);
    await store.started(id, 1);
    await mkdir(join(results, id));
    await writeFile(join(results, id, '0.png'), 'the first run');
    const images = [{ index: 0, url: `/v1/generations/${id}/images/0`, width: 8, height: 8, seed: 7, format: 'png' as const, bytes: 13 }];
    await store.succeeded(id, images, 600);
    const { pipeline, runs } = countingPipeline(0);
    startWorker(pipeline);
    await queue.add('generate', job, { jobId: id, attempts: 2 });

    await waitFor(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 'the job to complete');
    expect(runs).toHaveLength(0);
    expect((await queue.getJob(id))?.returnvalue).toEqual({ finished: 'succeeded' });
    expect(await readFile(join(results, id, '0.png'), 'utf8')).toBe('the first run');
    expect((await store.get(id))?.images).toEqual(images);
    expect(typesOf(id).filter((type) => type === 'job:succeeded')).toHaveLength(1);
    expect(typesOf(id).filter((type) => type === 'job:started')).toHaveLength(1); // the first run's, above
  });

  it('a worker whose lock ran out stops at its next step; the job succeeds once, by the worker that took it over', async () => {
    const id = 'lock-ran-out';
    const job = await newJob(id, 40);
    // Worker A never renews its lock (as if paused or cut off past it): after 800 ms the job is up for grabs.
    const a = countingPipeline(50);
    const workerA = startWorker(a.pipeline, { lockDuration: 800, skipLockRenewal: true, skipStalledCheck: true, name: 'a' });
    await queue.add('generate', job, { jobId: id, attempts: 2 });
    await waitFor(() => (a.runs.length === 1 ? true : undefined), 'worker A to start');
    // Worker B looks for stalled jobs every 200 ms and takes the job once A's lock has run out.
    const b = countingPipeline(50);
    startWorker(b.pipeline, { lockDuration: 5000, stalledInterval: 200, name: 'b' });

    await waitFor(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 'the job to complete', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a late duplicate would show up here
    expect(a.runs).toHaveLength(1);
    expect(b.runs).toHaveLength(1);
    // A stopped (aborted) soon after B started, long before its 40 steps x 50 ms were done.
    expect(a.runs[0]!.outcome).toBe('aborted');
    expect(a.runs[0]!.endedAt! - b.runs[0]!.startedAt).toBeLessThan(1000);
    expect(b.runs[0]!.outcome).toBe('done');

    const types = typesOf(id);
    expect(types.filter((type) => type === 'job:succeeded')).toHaveLength(1);
    expect(types.filter((type) => type === 'job:started')).toHaveLength(2);
    const state = await store.get(id);
    expect(state?.status).toBe('succeeded');
    expect(state?.attempt).toBe(2);
    expect((await queue.getJob(id))?.processedBy).toBe('b');
    // One result set, in place; no staging folder left.
    expect(await readdir(results)).toEqual([id]);
    expect(await readdir(join(results, id))).toEqual(['0.png']);
    expect(state?.images?.[0]?.bytes).toBe((await readFile(join(results, id, '0.png'))).length);
    await workerA.close(true);
  });
});
