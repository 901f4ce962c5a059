import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEnvelope, JobStateStore, redisLayout, removeKeysWithPrefix, type GenerationJob, type JobEvent } from '@a2i/protocol';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitFor } from '../support/wait-for.js';
import { REDIS_URL } from '../support/redis-server.js';

const MAX_STALLED_COUNT = 1;

/**
 * How many worker deaths a job survives (README, A2I_MAX_STALLED_COUNT), counted on real
 * worker processes SIGKILLed while they hold it. BullMQ 6.7's moveStalledJobsToWait adds one
 * to the job's stalled counter per death and marks it for failure once the counter is MORE
 * than maxStalledCount; the next worker that takes it fails it. So with
 * A2I_MAX_STALLED_COUNT = 1 the job runs again after the first death and fails WORKER_LOST
 * at the second: its final state reaches its followers and its upload goes at once.
 */
describe('a job whose workers keep dying (real worker processes)', () => {
  const prefix = `a2i-test-lost-${randomBytes(6).toString('hex')}`;
  const layout = redisLayout(prefix);
  const processes: ServerProcess[] = [];
  let tmp = '';

  afterAll(async () => {
    for (const child of processes) await child.stop('SIGTERM', 5000);
    await removeKeysWithPrefix(REDIS_URL, prefix);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it(`fails WORKER_LOST at death number A2I_MAX_STALLED_COUNT + 1 (${MAX_STALLED_COUNT + 1}), with its state recorded and its upload removed`, async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-lost-'));
    const uploads = join(tmp, 'uploads');
    const env: Record<string, string> = {
      A2I_REDIS_URL: REDIS_URL,
      A2I_REDIS_PREFIX: prefix,
      A2I_UPLOADS_DIR: uploads,
      A2I_RESULTS_DIR: join(tmp, 'results'),
      A2I_LOG_LEVEL: 'silent',
      A2I_SYNTHETIC_STEP_MS: '20',
      A2I_PROGRESS_INTERVAL_MS: '0',
      A2I_HEARTBEAT_INTERVAL_MS: '300',
      A2I_LOCK_DURATION_MS: '1000',
      A2I_STALLED_INTERVAL_MS: '300',
      A2I_MAX_STALLED_COUNT: String(MAX_STALLED_COUNT),
    };
    const redis = new Redis(REDIS_URL);
    const events = new Redis(REDIS_URL);
    const queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue<GenerationJob>(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
    const store = new JobStateStore(redis, layout);
    try {
      // One job with an uploaded sound, as the api leaves it; about 4 s of steps, so it is held when killed.
      const id = 'doomed-job';
      const uploadDir = join(uploads, id);
      await mkdir(uploadDir, { recursive: true });
      await writeFile(join(uploadDir, 'part-0'), sampleSoundWav({ seconds: 0.5 }));
      await store.create({ id, tokenHash: '0'.repeat(64), owner: '', seed: 1, numImages: 1, format: 'png', createdAt: Date.now() }, 600);
      const heard: JobEvent[] = [];
      events.on('smessageBuffer', (_channel: Buffer, message: Buffer) => heard.push(decodeEnvelope(message).event));
      await events.ssubscribe(layout.jobEventsChannel(id));
      await queue.add(
        'generate',
        {
          id,
          createdAt: Date.now(),
          inputs: [{ modality: 'audio', weight: 1, file: join(uploadDir, 'part-0') }],
          options: { prompt: '', seed: 1, steps: 200, guidance: 3, usePrior: false, noiseLevel: 0, numImages: 1, format: 'png', previewEvery: 0, priority: 'normal' },
          uploadDir,
        },
        { jobId: id, attempts: 2 },
      );

      let deaths = 0;
      for (let attempt = 1; ; attempt++) {
        const name = `w${attempt}`;
        const worker = startWorkerProcess({ ...env, A2I_WORKER_NAME: name });
        processes.push(worker);
        const outcome = await waitFor(async () => {
          const state = await store.get(id);
          if (state?.status === 'failed') return 'failed' as const;
          const job = await queue.getJob(id);
          return state?.status === 'running' && state.attempt === attempt && job?.processedBy === name ? ('held' as const) : undefined;
        }, `${name} to take the job or fail it`);
        if (outcome === 'failed') break;
        // The job is alive after `deaths` deaths: it survived all of them so far.
        expect(deaths).toBeLessThanOrEqual(MAX_STALLED_COUNT);
        worker.child.kill('SIGKILL');
        await worker.exited;
        deaths += 1;
      }

      expect(deaths).toBe(MAX_STALLED_COUNT + 1);
      const state = await store.get(id);
      expect(state).toMatchObject({ status: 'failed', errorCode: 'WORKER_LOST', attempt: MAX_STALLED_COUNT + 1 });
      // Its followers saw it fail (one final event), and its upload is gone at once, not at the 24 h sweep.
      await waitFor(() => (heard.some((event) => event.type === 'job:failed') ? true : undefined), 'the follower to hear job:failed', 5000);
      expect(heard.filter((event) => event.type === 'job:failed').map((event) => (event.payload as { code: string }).code)).toEqual(['WORKER_LOST']);
      expect(heard.filter((event) => event.type === 'job:started').length).toBe(MAX_STALLED_COUNT + 1);
      await waitFor(async () => ((await readdir(uploads)).length === 0 ? true : undefined), 'the upload to be removed', 5000);
      expect(await queue.getJobState(id)).toBe('failed');
      expect((await queue.getJob(id))?.stalledCounter).toBe(MAX_STALLED_COUNT + 1);
    } finally {
      await queue.close();
      await Promise.all([redis.quit(), events.quit(), queueConnection.quit()]);
    }
  }, 90_000);
});
