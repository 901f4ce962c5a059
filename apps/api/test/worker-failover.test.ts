import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { JobStateStore, decodeEnvelope, redisLayout } from '@a2i/protocol';
import { json, REDIS_URL, postJson, useApiWithWorkerProcesses, waitFor } from './harness.js';
import { waitForReadyServer } from '../../../test/support/server-ready.js';

const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const JOBS = 20;
// Long enough (about half a second of UNet steps on the demo pack) to be killed mid-job.
const STEPS = 100;

describe('a worker killed mid-job (SIGKILL)', () => {
  const run = useApiWithWorkerProcesses();
  /**
   * One real worker process on the real models; two on one machine: one onnxruntime thread each.
   * Each batches at most 8 images, so neither can take all 20 jobs before the other is fetching
   * (with the pack's default of 32, a worker ready first once held them all: the victim had none).
   */
  const spawnWorker = (name: string) => run.spawnWorker(name, 'onnx', { A2I_PACK_DIR: DEMO, A2I_ORT_THREADS: '1', A2I_MAX_BATCH_ROWS: '8' });

  it('loses no job: another worker picks it up and all 20 succeed exactly once', async () => {
    const layout = redisLayout(run.config.redis.prefix);
    const events = new Redis(REDIS_URL);
    const succeeded = new Map<string, number>();
    events.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      const { event } = decodeEnvelope(message);
      if (event.type === 'job:succeeded') succeeded.set(event.payload.id, (succeeded.get(event.payload.id) ?? 0) + 1);
    });

    const victim = spawnWorker('victim');
    spawnWorker('survivor');
    // both ready (the api is ready with one)
    await waitForReadyServer(run.url, { workers: 2, timeoutMs: 90_000 });

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const created = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: `a small red star in the sea ${i}` }], steps: STEPS, prior: 'off', previewEvery: 0 });
      expect(created.status).toBe(202);
      ids.push(created.body.id);
      // each job has its own events channel (a job of 100 steps cannot finish before this)
      await events.ssubscribe(layout.jobEventsChannel(created.body.id));
    }

    // Kill the victim while it holds a job that has made progress.
    const queue = new Queue(layout.generationQueue, { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: layout.prefix });
    const storeRedis = new Redis(REDIS_URL);
    const store = new JobStateStore(storeRedis, layout);
    const held = await waitFor(async () => {
      for (const job of await queue.getActive()) {
        if (job.processedBy !== 'victim') continue;
        const state = await store.get(job.id!);
        if (state?.stage === 'decode' && (state.step ?? 0) >= 1) return job.id!;
      }
      return undefined;
    }, 'victim mid-job');
    await victim.stop('SIGKILL');
    // Under load the victim may have finished that job (and taken others) between the poll and
    // the kill: the jobs it held when it died (several: it batches) are those BullMQ still lists as
    // active by it (their locks have not run out yet, so no stalled check has moved them).
    const heldAtKill = (await queue.getActive()).filter((job) => job.processedBy === 'victim').map((job) => job.id!);
    expect(heldAtKill.length, `jobs the victim held at the kill (polled: ${held})`).toBeGreaterThan(0);

    await waitFor(() => (ids.every((id) => succeeded.has(id)) ? true : undefined), 'all jobs succeeded', 60_000);
    // Give a duplicate (if any) time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ids.map((id) => succeeded.get(id))).toEqual(ids.map(() => 1));
    expect(await queue.getCompletedCount()).toBe(JOBS);
    expect(await queue.getFailedCount()).toBe(0);
    // Every job the victim held was started again by the survivor (second attempt).
    for (const lost of heldAtKill) {
      expect((await store.get(lost))!.attempt, `attempts of ${lost}`).toBeGreaterThanOrEqual(2);
      expect((await queue.getJob(lost))?.processedBy, `the worker that finished ${lost}`).toBe('survivor');
    }

    await queue.close();
    await events.quit();
    await storeRedis.quit();
  }, 90_000);
});
