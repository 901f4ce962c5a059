import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStateStore, decodeEnvelope, redisLayout } from '@a2i/protocol';
import { createApp, type ApiApp } from '../src/index.js';
import { json, REDIS_URL, postJson, removePrefix, silent, testConfig, waitFor } from './harness.js';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const JOBS = 20;
// Long enough (about half a second of UNet steps on the demo pack) to be killed mid-job.
const STEPS = 100;

/** One real worker process on the real models (`tsx apps/worker/src/main.ts --pipeline onnx`). */
function spawnWorker(name: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN, '--pipeline', 'onnx'], {
    env: { ...process.env, ...env, A2I_WORKER_NAME: name },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('a worker killed mid-job (SIGKILL)', () => {
  let config: Awaited<ReturnType<typeof testConfig>>;
  let env: Record<string, string>;
  let api: ApiApp;
  let url: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const prefix = `a2i-test-failover-${process.pid}-${Date.now()}`;
    config = await testConfig({ A2I_REDIS_PREFIX: prefix });
    env = {
      A2I_REDIS_URL: REDIS_URL,
      A2I_REDIS_PREFIX: prefix,
      A2I_UPLOADS_DIR: config.dirs.uploads,
      A2I_RESULTS_DIR: config.dirs.results,
      A2I_LOG_LEVEL: 'silent',
      A2I_PACK_DIR: DEMO,
      // two workers on one machine: one onnxruntime thread each
      A2I_ORT_THREADS: '1',
      A2I_PROGRESS_INTERVAL_MS: '0',
      // A lost worker's lock runs out after 2 s; others look for stalled jobs every second.
      A2I_LOCK_DURATION_MS: '2000',
      A2I_STALLED_INTERVAL_MS: '1000',
      A2I_HEARTBEAT_INTERVAL_MS: '300',
    };
    api = await createApp({ config, logger: silent });
    url = await api.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : null)));
    await api?.close();
    await removePrefix(config.redis.prefix);
    await rm(config.tmp, { recursive: true, force: true });
  });

  it('loses no job: another worker picks it up and all 20 succeed exactly once', async () => {
    const layout = redisLayout(config.redis.prefix);
    const events = new Redis(REDIS_URL);
    const succeeded = new Map<string, number>();
    events.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      const { event } = decodeEnvelope(message);
      if (event.type === 'job:succeeded') succeeded.set(event.payload.id, (succeeded.get(event.payload.id) ?? 0) + 1);
    });

    const victim = spawnWorker('victim', env);
    const survivor = spawnWorker('survivor', env);
    children.push(victim, survivor);
    await waitFor(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 'workers ready', 90_000);

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const created = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: `a small red star in the sea ${i}` }], steps: STEPS, prior: 'off', previewEvery: 0 });
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
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));

    await waitFor(() => (ids.every((id) => succeeded.has(id)) ? true : undefined), 'all jobs succeeded', 60_000);
    // Give a duplicate (if any) time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ids.map((id) => succeeded.get(id))).toEqual(ids.map(() => 1));
    expect(await queue.getCompletedCount()).toBe(JOBS);
    expect(await queue.getFailedCount()).toBe(0);
    // The job the victim held was started again by the survivor (second attempt).
    expect((await store.get(held))!.attempt).toBeGreaterThanOrEqual(2);
    const finished = await queue.getJob(held);
    expect(finished?.processedBy).toBe('survivor');

    await queue.close();
    await events.quit();
    await storeRedis.quit();
  }, 90_000);
});
