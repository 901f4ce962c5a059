import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStateStore, redisLayout, removeKeysWithPrefix, type GenerationJob, type GenerationPipeline, type RedisLayout } from '@a2i/protocol';
import { SyntheticPipeline } from '@a2i/pipeline';
import { FileStore } from '@a2i/storage';
import { createGenerationProcessor } from '../src/generation-processor.js';
import { sweepExpired } from '../src/result-sweeper.js';
import { liveJobOwns, removeUploadsWhenFinal } from '../src/upload-cleanup.js';
import { sampleSoundWav } from '../../../test/support/sample-sound.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';

const silent = pino({ level: 'silent' });

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** A short valid WAV (the shared test sound). */
const wav = (samples = 1600): Buffer => Buffer.from(sampleSoundWav({ seconds: samples / 16_000 }));

describe('a generation job owns its upload folder until BullMQ records its final state (real Redis)', () => {
  let prefix: string;
  let layout: RedisLayout;
  let tmp: string;
  let uploads: string;
  let redis: Redis;
  let connection: Redis;
  let queue: Queue<GenerationJob>;
  let store: JobStateStore;
  let worker: Worker<GenerationJob> | undefined;
  const errors: unknown[] = [];

  beforeEach(async () => {
    prefix = `a2i-test-uploads-${randomBytes(6).toString('hex')}`;
    layout = redisLayout(prefix);
    tmp = await mkdtemp(join(tmpdir(), 'a2i-upload-cleanup-'));
    uploads = join(tmp, 'uploads');
    redis = new Redis(REDIS_URL);
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue<GenerationJob>(layout.generationQueue, { connection: redis, prefix });
    store = new JobStateStore(redis, layout);
    errors.length = 0;
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await queue.close();
    await Promise.all([redis.quit(), connection.quit()]);
    await removeKeysWithPrefix(REDIS_URL, prefix);
    await rm(tmp, { recursive: true, force: true });
  });

  /** A queued job whose one input is a WAV in `<uploads>/<id>/part-0`, as the api leaves it. */
  async function uploadedJob(id: string): Promise<GenerationJob> {
    const dir = join(uploads, id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'part-0'), wav());
    await store.create({ id, tokenHash: '0'.repeat(64), owner: '', seed: 1, numImages: 1, format: 'png', createdAt: Date.now() }, 600);
    return {
      id,
      createdAt: Date.now(),
      inputs: [{ modality: 'audio', weight: 1, file: join(dir, 'part-0') }],
      options: { prompt: '', seed: 1, steps: 2, guidance: 3, usePrior: false, noiseLevel: 0, numImages: 1, format: 'png', previewEvery: 0, priority: 'normal' },
      uploadDir: dir,
    };
  }

  /** `hearFinalState` false: BullMQ's completed / failed events are not listened to (as when the answer to its final move is lost). */
  function startWorker(pipeline: GenerationPipeline, jobStore: JobStateStore = store, hearFinalState = true): Worker<GenerationJob> {
    const processor = createGenerationProcessor({ pipeline, store: jobStore, logger: silent, results: new FileStore(join(tmp, 'results')), uploads: new FileStore(uploads), scratchDir: uploads, resultTtlSeconds: 600, progressIntervalMs: 0 });
    worker = new Worker<GenerationJob>(layout.generationQueue, processor, { connection, prefix });
    if (hearFinalState) removeUploadsWhenFinal(worker, new FileStore(uploads), (error) => errors.push(error));
    return worker;
  }

  it('removes the upload once the success is recorded, without waiting for BullMQ\'s final state', async () => {
    // A worker whose move to completed Redis wrote but whose answer was lost (Redis killed just
    // after it) never hears the job complete; the success, recorded before, is enough.
    const id = 'final-state-unheard';
    const job = await uploadedJob(id);
    startWorker(new SyntheticPipeline({ stepMs: 0 }), store, false);
    await queue.add('generate', job, { jobId: id, attempts: 2 });
    await waitFor(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 'the job to complete');
    expect((await store.get(id))?.status).toBe('succeeded');
    expect(await exists(job.uploadDir!)).toBe(false);
  });

  it('keeps the upload when recording success fails, so the retry reads it and succeeds; then removes it', async () => {
    const id = 'recording-fails-once';
    const job = await uploadedJob(id);
    // The first attempt's success cannot be recorded (Redis went away for a moment).
    const flaky = new JobStateStore(redis, layout);
    const record = flaky.succeeded.bind(flaky);
    let failures = 0;
    flaky.succeeded = async (...args) => {
      if (failures++ === 0) throw new Error('Connection is closed.');
      return record(...args);
    };
    startWorker(new SyntheticPipeline({ stepMs: 0 }), flaky);
    await queue.add('generate', job, { jobId: id, attempts: 2 });

    await waitFor(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 'the job to complete');
    const finished = await queue.getJob(id);
    expect(finished?.attemptsMade).toBe(2);
    expect((await store.get(id))?.status).toBe('succeeded');
    await waitFor(async () => ((await exists(job.uploadDir!)) ? undefined : true), 'the upload folder to go');
    expect(await readdir(uploads)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('keeps the upload while a failed job waits for its retry, and removes it after the last attempt', async () => {
    const id = 'server-fault-twice';
    const job = await uploadedJob(id);
    const broken: GenerationPipeline = {
      describe: () => new SyntheticPipeline().describe(),
      embed: () => Promise.reject(new Error('not used')),
      generate: () => Promise.reject(new Error('the GPU fell off the bus')),
    };
    startWorker(broken);
    await queue.add('generate', job, { jobId: id, attempts: 2, backoff: { type: 'fixed', delay: 400 } });

    await waitFor(async () => ((await queue.getJobState(id)) === 'delayed' ? true : undefined), 'the retry to be scheduled');
    expect(await exists(job.uploadDir!)).toBe(true);
    await waitFor(async () => ((await queue.getJobState(id)) === 'failed' ? true : undefined), 'the last attempt to fail');
    await waitFor(async () => ((await exists(job.uploadDir!)) ? undefined : true), 'the upload folder to go');
    expect((await store.get(id))?.status).toBe('failed');
  });

  it('removes the upload of a job canceled while it waited, when a worker takes it', async () => {
    const id = 'canceled-while-waiting';
    const job = await uploadedJob(id);
    await store.canceled(id, 600);
    await queue.add('generate', job, { jobId: id, attempts: 2 });
    startWorker(new SyntheticPipeline({ stepMs: 0 }));
    // Its state is final: the worker does not run it, it completes the BullMQ job at once.
    await waitFor(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 'the job to be completed unrun');
    await waitFor(async () => ((await exists(job.uploadDir!)) ? undefined : true), 'the upload folder to go');
    expect((await store.get(id))?.status).toBe('canceled');
  });

  it('the sweeper removes only old folders no live job owns', async () => {
    const now = Date.now();
    const grace = 60_000;
    const embeddings = new Queue(layout.embeddingQueue, { connection: redis, prefix });
    const finisherConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      // One job completed, then one left waiting on each queue (no worker runs them).
      await queue.add('generate', await uploadedJob('finished-job'), { jobId: 'finished-job' });
      const finisher = new Worker(layout.generationQueue, async () => ({ images: 0 }), { connection: finisherConnection, prefix });
      await waitFor(async () => ((await queue.getJobState('finished-job')) === 'completed' ? true : undefined), 'finished-job to complete');
      await finisher.close();
      await queue.add('generate', await uploadedJob('waiting-job'), { jobId: 'waiting-job' });
      await embeddings.add('embed', { inputs: [] }, { jobId: 'embed-waiting' });
      for (const name of ['embed-waiting', 'never-enqueued', 'not a job id', 'fresh-request']) await mkdir(join(uploads, name), { recursive: true });

      const old = new Date(now - 2 * grace);
      for (const name of ['waiting-job', 'embed-waiting', 'finished-job', 'never-enqueued', 'not a job id']) await utimes(join(uploads, name), old, old);
      const removed = await sweepExpired(new FileStore(uploads), grace, now, liveJobOwns([queue, embeddings]));
      // Old and owned by no live job: a finished job's, a request's whose job never came, a stray name.
      expect(removed.sort()).toEqual(['finished-job', 'never-enqueued', 'not a job id']);
      // A waiting job's folder stays however old it is; an ownerless one stays within the grace period.
      expect((await readdir(uploads)).sort()).toEqual(['embed-waiting', 'fresh-request', 'waiting-job']);
    } finally {
      await embeddings.close();
      await finisherConnection.quit();
    }
  });
});
