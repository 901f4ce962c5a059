import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { redisLayout, removeKeysWithPrefix, resultPath, type ImageFormat } from '@a2i/protocol';
import { freePort, REDIS_URL } from '../support/redis-server.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startApiProcess, startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { waitFor } from '../support/wait-for.js';

const JOBS = 30;
const LOCK_MS = 1500;
const STALLED_MS = 500;
const TERMINAL = new Set(['job:succeeded', 'job:failed', 'job:canceled']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The fault drill of issue #14 on real processes: an api and two workers on the shared Redis
 * (a prefix of its own), the synthetic pipeline at ~0.5 s a job, 30 jobs with an uploaded
 * sound, each followed by its own socket.io client. Mid-run one worker is SIGKILLed (and a
 * replacement started) and another is SIGSTOPped past its lock, then SIGCONTinued (its job
 * is taken over meanwhile; the paused run must stop and record nothing). Every job must end
 * once in a final state its follower saw, with its results, and leave no upload behind.
 */
describe('workers killed and paused under load (real api and worker processes)', () => {
  const prefix = `a2i-test-faults-${randomBytes(6).toString('hex')}`;
  const processes: ServerProcess[] = [];
  const sockets: Socket[] = [];
  let tmp = '';

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const child of processes) {
      if (child.alive()) child.child.kill('SIGCONT');
      await child.stop('SIGTERM', 5000);
    }
    await removeKeysWithPrefix(REDIS_URL, prefix);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('loses, duplicates and hangs nothing: every job ends once, seen by its follower', async () => {
    const began = Date.now();
    tmp = await mkdtemp(join(tmpdir(), 'a2i-faults-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      A2I_REDIS_URL: REDIS_URL,
      A2I_REDIS_PREFIX: prefix,
      A2I_PORT: String(port),
      A2I_UPLOADS_DIR: join(tmp, 'uploads'),
      A2I_RESULTS_DIR: join(tmp, 'results'),
      A2I_LOG_LEVEL: 'silent',
      A2I_SYNTHETIC_STEP_MS: '25',
      A2I_PROGRESS_INTERVAL_MS: '0',
      A2I_HEARTBEAT_INTERVAL_MS: '300',
      A2I_LOCK_DURATION_MS: String(LOCK_MS),
      A2I_STALLED_INTERVAL_MS: String(STALLED_MS),
      // a job survives one lost worker (it fails WORKER_LOST at the second: lost-job.ts)
      A2I_MAX_STALLED_COUNT: '1',
      A2I_MAX_QUEUE_DEPTH: String(JOBS * 2),
      // one test client on one address opens every job and socket: per-client rate limits off
      A2I_RATE_GENERATIONS: 'off',
      A2I_RATE_CONNECTIONS: 'off',
    };
    const worker = (name: string) => {
      const started = startWorkerProcess({ ...env, A2I_WORKER_NAME: name });
      processes.push(started);
      return started;
    };
    const api = startApiProcess(env);
    processes.push(api);
    const killed = worker('w1');
    const paused = worker('w2');
    await waitForReadyServer(url, { timeoutMs: 60_000 });

    // 30 jobs, each with an uploaded sound, each followed by its own client from the moment it is accepted.
    const sound = sampleSoundWav({ seconds: 0.5 });
    const jobs: Array<{ id: string; token: string; format: ImageFormat; events: string[] }> = [];
    for (let i = 0; i < JOBS; i++) {
      const body = new FormData();
      body.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 20, prior: 'off', previewEvery: 0, seed: i + 1 }));
      body.set('sound', new Blob([sound]), 'sound.wav');
      const response = await fetch(`${url}/v1/generations`, { method: 'POST', body });
      expect(response.status).toBe(202);
      const created = (await response.json()) as { id: string; token: string };
      const job = { id: created.id, token: created.token, format: 'png' as ImageFormat, events: [] as string[] };
      const socket = io(url, { auth: { jobId: job.id, token: job.token }, transports: ['websocket'], reconnection: false, forceNew: true });
      socket.onAny((type: string) => job.events.push(type));
      sockets.push(socket);
      jobs.push(job);
    }

    const queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('generations', { connection: queueConnection, prefix: redisLayout(prefix).prefix });
    try {
      const heldBy = async (name: string) => (await queue.getActive()).find((job) => job.processedBy === name)?.id;

      // 1. SIGKILL w1 while it holds a job; a replacement joins.
      const killedJob = await waitFor(() => heldBy('w1'), 'w1 to hold a job', 30_000);
      killed.child.kill('SIGKILL');
      await killed.exited;
      worker('w3');

      // 2. SIGSTOP w2 while it holds a job, past its lock and two stalled checks; then SIGCONT.
      const pausedJob = await waitFor(() => heldBy('w2'), 'w2 to hold a job', 30_000);
      paused.child.kill('SIGSTOP');
      await sleep(LOCK_MS + 2 * STALLED_MS + 1000);
      paused.child.kill('SIGCONT');

      // 3. Every follower sees its job end.
      await waitFor(() => (jobs.every((job) => job.events.some((type) => TERMINAL.has(type))) ? true : undefined), 'every follower to see its job end', 60_000);
      await sleep(1000); // a late duplicate would arrive here

      const terminalCounts = jobs.map((job) => job.events.filter((type) => TERMINAL.has(type)).length);
      const lost = terminalCounts.filter((n) => n === 0).length;
      const duplicated = terminalCounts.filter((n) => n > 1).length;
      const succeededOnce = jobs.filter((job) => job.events.filter((type) => type === 'job:succeeded').length === 1).length;
      // Each job's state, as GET answers it.
      const statuses = await Promise.all(
        jobs.map(async (job) => (await (await fetch(`${url}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } })).json()) as { status: string; images?: unknown[] }),
      );
      const uploadsLeft = await waitFor(async () => {
        const left = await readdir(join(tmp, 'uploads')).catch(() => []);
        return left.length === 0 ? left : undefined;
      }, 'the uploads folder to empty', 10_000).catch(async () => readdir(join(tmp, 'uploads')));
      const missingResults = (
        await Promise.all(jobs.map(async (job) => ((await stat(resultPath(join(tmp, 'results'), job.id, 0, job.format)).catch(() => null)) ? 0 : 1)))
      ).reduce((a: number, b: number) => a + b, 0);
      const stagingLeft = (await readdir(join(tmp, 'results'))).filter((name) => name.startsWith('.staging-'));
      const killedState = (await queue.getJob(killedJob))?.attemptsStarted;
      const pausedState = (await queue.getJob(pausedJob))?.attemptsStarted;

      const seconds = ((Date.now() - began) / 1000).toFixed(1);
      console.info(
        `worker-kill drill: ${JOBS} jobs, lost ${lost}, duplicated ${duplicated}, followers hanging ${lost}, succeeded once ${succeededOnce}, ` +
          `uploads left ${uploadsLeft.length}, results missing ${missingResults}, staging left ${JSON.stringify(stagingLeft)}; killed job started ${killedState}x, paused job ${pausedState}x; ${seconds} s`,
      );
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      expect(succeededOnce).toBe(JOBS);
      expect(statuses.map((s) => s.status)).toEqual(jobs.map(() => 'succeeded'));
      expect(missingResults).toBe(0);
      expect(uploadsLeft).toEqual([]);
      // Only the killed run may have left a staging folder (killed while writing); the sweeper takes it after the result TTL.
      expect(stagingLeft.filter((name) => !name.startsWith(`.staging-${killedJob}-1-`))).toEqual([]);
      // The killed worker's job ran again (attempt 2); so did the paused worker's.
      expect(killedState).toBeGreaterThanOrEqual(2);
      expect(pausedState).toBeGreaterThanOrEqual(2);
      expect(await queue.getCompletedCount()).toBe(JOBS);
      // Processes alive at the end: the api, the paused-and-resumed worker, the replacement.
      expect(processes.filter((p) => p !== killed).map((p) => p.alive())).toEqual([true, true, true]);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      await queue.close();
      await queueConnection.quit();
    }
  }, 150_000);
});
