import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { allEnded, followOverSocket, submitGeneration, tally, type DrillJob } from '../support/job-drill.js';
import { freePort } from '../support/redis-server.js';
import { startRedisSentinel, type OwnRedisSentinel } from '../support/redis-sentinel.js';
import { startApiProcess, startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { waitFor } from '../support/wait-for.js';

const JOBS = 16;

/**
 * Issue #18, Sentinel: a master, a replica and three sentinels of the test's own
 * (test/support/redis-sentinel.ts); an api and two synthetic workers given
 * A2I_REDIS_URL=redis+sentinel://.../<master>; 16 followed generations. Once four have ended the
 * master is killed (SIGKILL): the sentinels promote the replica, ioredis asks them for the new
 * master and every connection moves there. Every job must end once, succeeded.
 */
describe('Redis Sentinel: the master crashes mid-run (real api and worker processes)', () => {
  const processes: ServerProcess[] = [];
  const sockets: Socket[] = [];
  let sentinel: OwnRedisSentinel | null = null;
  let tmp = '';

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const child of processes) await child.stop('SIGTERM', 5000);
    await sentinel?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('moves every connection to the promoted replica: every job ends once, succeeded', async () => {
    const began = Date.now();
    sentinel = await startRedisSentinel({ sentinels: 3 });
    tmp = await mkdtemp(join(tmpdir(), 'a2i-sentinel-run-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      A2I_REDIS_URL: sentinel.url,
      A2I_REDIS_PREFIX: `a2i-test-sentinel-${randomBytes(4).toString('hex')}`,
      A2I_PORT: String(port),
      A2I_UPLOADS_DIR: join(tmp, 'uploads'),
      A2I_RESULTS_DIR: join(tmp, 'results'),
      A2I_LOG_LEVEL: 'warn',
      A2I_LOG_FORMAT: 'json',
      A2I_SYNTHETIC_STEP_MS: '25',
      A2I_PROGRESS_INTERVAL_MS: '0',
      A2I_HEARTBEAT_INTERVAL_MS: '300',
      A2I_LOCK_DURATION_MS: '4000',
      A2I_STALLED_INTERVAL_MS: '1000',
      A2I_RATE_GENERATIONS: 'off',
      A2I_RATE_CONNECTIONS: 'off',
    };
    processes.push(startApiProcess(env, 'pipe'), ...['w1', 'w2'].map((name) => startWorkerProcess({ ...env, A2I_WORKER_NAME: name }, 'synthetic', 'pipe')));
    await waitForReadyServer(url, { workers: 2, timeoutMs: 60_000 });

    const jobs: DrillJob[] = [];
    for (let i = 0; i < JOBS; i++) {
      const job: DrillJob = { ...(await submitGeneration(url, i + 1, { steps: 20 })), events: [], acceptedAt: Date.now() };
      sockets.push(followOverSocket(url, job));
      jobs.push(job);
    }
    await waitFor(() => jobs.filter((job) => job.endedAt !== undefined).length >= 4, 'four jobs to end', 30_000);
    const lostAt = Date.now();
    const crash = await sentinel.killMaster();
    await waitFor(() => allEnded(jobs), 'every follower to see its job end', 60_000).catch((error: unknown) => {
      const hanging = jobs.filter((job) => job.endedAt === undefined).map((job) => `${job.id}: ${job.events.join(' ')}`);
      throw new Error(`${(error as Error).message}\nhanging: ${hanging.join('\n')}\n${processes.map((child) => child.output.stdout.slice(-4000)).join('\n----\n')}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const firstAfter = Math.min(...jobs.map((job) => job.endedAt ?? Infinity).filter((at) => at > lostAt));
    const counts = tally(jobs);
    const stderr = processes.map((child) => child.output.stderr).join('');
    console.info(
      `redis-sentinel drill: ${JOBS} jobs, lost ${counts.lost}, duplicated ${counts.duplicated}, succeeded once ${counts.succeededOnce}; master ${crash.from} killed, ` +
        `${crash.to} named master ${crash.ms} ms later; the next job ended ${firstAfter - lostAt} ms after the crash; ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    expect({ lost: counts.lost, duplicated: counts.duplicated }).toEqual({ lost: 0, duplicated: 0 });
    expect(counts.succeededOnce).toBe(JOBS);
    expect(stderr).not.toMatch(/Unhandled error event|UnhandledPromiseRejection/);
    expect(processes.map((child) => child.alive())).toEqual([true, true, true]);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  }, 120_000);
});
