import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { redisLayout, removeKeysWithPrefix, resultPath } from '@a2i/protocol';
import { freePort, REDIS_URL } from '../support/redis-server.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startApiProcess, startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { waitFor } from '../support/wait-for.js';

const JOBS = 16;
const LOCK_MS = 2000;
const STALLED_MS = 500;

/**
 * Continuous batching under a SIGKILL (issue #15), on real processes and the real queue: an api
 * and two ONNX workers on the demo pack, batching (A2I_MAX_BATCH_ROWS=8) on two pipeline instances
 * each (A2I_PIPELINE_INSTANCES=2), 16 jobs of 60 steps.
 * The first worker is SIGKILLed while it holds several jobs in one batch; a replacement joins.
 * Every job must run again elsewhere and succeed exactly once, and since a job's image does not
 * depend on its company, jobs of the same request and seed must have the same pixels whichever
 * batches they (and their re-runs) were in.
 */
describe('a batching worker killed while it holds a batch (real api, ONNX workers, demo pack)', () => {
  const prefix = `a2i-test-batchkill-${randomBytes(6).toString('hex')}`;
  const processes: ServerProcess[] = [];
  let tmp = '';

  afterAll(async () => {
    for (const child of processes) await child.stop('SIGTERM', 5000);
    await removeKeysWithPrefix(REDIS_URL, prefix);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('runs every job of the killed batch again elsewhere, once to completion, with the same pixels', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-batchkill-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      A2I_REDIS_URL: REDIS_URL,
      A2I_REDIS_PREFIX: prefix,
      A2I_PORT: String(port),
      A2I_UPLOADS_DIR: join(tmp, 'uploads'),
      A2I_RESULTS_DIR: join(tmp, 'results'),
      A2I_LOG_LEVEL: 'silent',
      A2I_PACK_VERIFY_CHECKSUMS: 'false',
      A2I_ORT_THREADS: '1',
      A2I_MAX_BATCH_ROWS: '8',
      // the killed worker's batch spread over two pipeline threads (the default on 2 cores), on any machine
      A2I_PIPELINE_INSTANCES: '2',
      A2I_HEARTBEAT_INTERVAL_MS: '300',
      A2I_LOCK_DURATION_MS: String(LOCK_MS),
      A2I_STALLED_INTERVAL_MS: String(STALLED_MS),
      A2I_MAX_STALLED_COUNT: '1',
      A2I_MAX_QUEUE_DEPTH: String(JOBS * 2),
      A2I_RATE_GENERATIONS: 'off',
      A2I_RATE_CONNECTIONS: 'off',
    };
    const worker = (name: string) => {
      const started = startWorkerProcess({ ...env, A2I_WORKER_NAME: name }, 'onnx');
      processes.push(started);
      return started;
    };
    processes.push(startApiProcess(env));
    const killed = worker('w1');
    await waitForReadyServer(url, { timeoutMs: 90_000 });

    const sound = sampleSoundWav({ seconds: 0.5 });
    const jobs: Array<{ id: string; token: string; seed: number }> = [];
    for (let i = 0; i < JOBS; i++) {
      const seed = 1 + (i % 2);
      const body = new FormData();
      body.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 60, prior: 'off', previewEvery: 0, seed, scheduler: i % 4 < 2 ? 'ddim' : 'euler' }));
      body.set('sound', new Blob([sound]), 'sound.wav');
      const response = await fetch(`${url}/v1/generations`, { method: 'POST', body });
      expect(response.status).toBe(202);
      const created = (await response.json()) as { id: string; token: string };
      jobs.push({ ...created, seed });
    }

    const queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('generations', { connection: queueConnection, prefix: redisLayout(prefix).prefix });
    try {
      // w1 alone holds a batch of several jobs (rows 8: up to 8 one-image jobs); then SIGKILL, and two workers take over
      const heldByW1 = await waitFor(async () => {
        const held = (await queue.getActive()).filter((job) => job.processedBy === 'w1').map((job) => String(job.id));
        return held.length >= 4 ? held : undefined;
      }, 'w1 to hold 4 jobs at once', 60_000);
      killed.child.kill('SIGKILL');
      await killed.exited;
      worker('w2');
      worker('w3');

      const statuses = await waitFor(async () => {
        const all = await Promise.all(jobs.map(async (job) => ((await (await fetch(`${url}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } })).json()) as { status: string }).status));
        return all.every((status) => status === 'succeeded' || status === 'failed' || status === 'canceled') ? all : undefined;
      }, 'every job to end', 120_000);
      expect(statuses).toEqual(jobs.map(() => 'succeeded'));
      expect(await queue.getCompletedCount()).toBe(JOBS);
      for (const id of heldByW1) expect((await queue.getJob(id))?.attemptsStarted).toBeGreaterThanOrEqual(2);

      // the same request and seed gives the same pixels whatever the batch (and the killed run) was
      const pixels = await Promise.all(jobs.map(async (job) => (await sharp(await readFile(resultPath(join(tmp, 'results'), job.id, 0, 'png'))).raw().toBuffer()).toString('base64')));
      for (let group = 0; group < 4; group++) {
        const members = pixels.filter((_, i) => i % 4 === group);
        expect(new Set(members).size, `request group ${group}`).toBe(1);
      }
      expect(new Set(pixels).size).toBe(4);
      console.info(`batched worker kill: w1 held ${heldByW1.length} jobs when killed; ${JOBS} jobs succeeded once`);
    } finally {
      await queue.close();
      await queueConnection.quit();
    }
  }, 240_000);
});
