import { rm } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout, type RedisLayout } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { startOwnRedis, type OwnRedis } from '../../../test/support/redis-server.js';
import { createApp, QueuePositions, type ApiApp } from '../src/index.js';
import { connectSocket, postJson, silent, testConfig, waitFor, type TestSocket } from './harness.js';

const INTERVAL_MS = 300;

async function calls(redis: Redis): Promise<Record<string, number>> {
  const text = (await redis.info('commandstats')) as string;
  return Object.fromEntries([...text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/**
 * Issue #14, defect 10: positions of queued jobs are read by the instance whose clients follow
 * them, at most once per A2I_QUEUE_POSITION_INTERVAL_MS, in one batched read, and sent only
 * when they changed. On a Redis of the test's own, so INFO commandstats counts only this test.
 */
describe('queue positions of followed jobs', () => {
  let redis: OwnRedis;
  let admin: Redis;
  let config: Awaited<ReturnType<typeof testConfig>>;
  let layout: RedisLayout;
  let worker: RunningWorker;
  let api: ApiApp;
  let url: string;
  let queue: Queue;
  let queueConnection: Redis;
  beforeAll(async () => {
    redis = await startOwnRedis();
    admin = new Redis(redis.url);
    config = await testConfig({
      A2I_REDIS_URL: redis.url,
      A2I_QUEUE_POSITION_INTERVAL_MS: String(INTERVAL_MS),
      A2I_MAX_QUEUE_DEPTH: '1000',
      A2I_RATE_GENERATIONS: 'off',
      A2I_SYNTHETIC_STEP_MS: '5',
    });
    layout = redisLayout(config.redis.prefix);
    worker = await startWorker({ config, logger: silent });
    api = await createApp({ config, logger: silent });
    url = await api.listen(0, '127.0.0.1');
    queueConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
    await waitFor(async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), 'a ready api');
  });
  afterAll(async () => {
    await api?.close({ graceMs: 1000 });
    await worker?.close();
    await queue?.close();
    await queueConnection?.quit();
    await admin?.quit();
    await redis?.dispose();
    if (config) await rm(config.tmp, { recursive: true, force: true });
  });

  const submitMany = async (count: number, priority?: string) => {
    const jobs: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < count; i++) {
      const created = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: `gull ${i}` }], steps: 2, ...(priority ? { priority } : {}) });
      expect(created.status).toBe(202);
      jobs.push(created.body);
    }
    return jobs;
  };

  it('positions of many jobs in one read equal those read one by one, across the wait list and the prioritized set', async () => {
    await queue.pause();
    const positions = new QueuePositions(admin, layout.prefix, layout.generationQueue);
    const jobs = await submitMany(3, 'low');
    // a job without priority (a retry's way back) goes to the wait list, ahead of every prioritized job
    await queue.add('generate', {} as never, { jobId: 'plain-1' });
    const ids = ['plain-1', ...jobs.map((job) => job.id), 'not-a-job'];
    const batched = await positions.positions(ids);
    expect(batched).toEqual([1, 2, 3, 4, null]);
    expect(await Promise.all(ids.map((id) => positions.position(id)))).toEqual(batched);
    await queue.obliterate({ force: true });
    await queue.resume();
  });

  it('nobody follows: the queue drains without a single position read', async () => {
    await queue.pause();
    await admin.config('RESETSTAT');
    const jobs = await submitMany(20);
    await queue.resume();
    await waitFor(async () => (((await queue.getJobCounts('completed')).completed ?? 0) >= jobs.length ? true : undefined), 'every job done', 30_000);
    const counted = await calls(admin);
    expect(counted.zrank ?? 0).toBe(0);
    expect(counted.lpos ?? 0).toBe(0);
    await queue.obliterate({ force: true });
  });

  it('followed jobs: one job:queued on subscribe, then one per change at most once per interval, each position lower than the last, none published', async () => {
    await queue.pause();
    const jobs = await submitMany(40);
    const socket: TestSocket = connectSocket(url);
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    const queued = new Map<string, Array<{ position: number | null; at: number }>>();
    const startedAt = new Map<string, number>();
    socket.on('job:queued', (payload) => queued.set(payload.id, [...(queued.get(payload.id) ?? []), { position: payload.position, at: Date.now() }]));
    socket.on('job:started', (payload) => startedAt.set(payload.id, Date.now()));
    const succeeded = new Set<string>();
    socket.on('job:succeeded', (payload) => succeeded.add(payload.id));
    const acks = await Promise.all(jobs.map((job) => socket.emitWithAck('job:subscribe', { id: job.id, token: job.token })));
    expect(acks.every((ack) => 'ok' in ack)).toBe(true);
    // the snapshot: every follower knows its place at once
    jobs.forEach((job, i) => expect(queued.get(job.id)?.[0]?.position).toBe(i + 1));

    // nothing is published for a position: a plain client on every job's channel sees no job:queued
    const listener = new Redis(redis.url);
    let publishedQueued = 0;
    listener.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      if (message.toString().includes('"job:queued"')) publishedQueued += 1;
    });
    await listener.ssubscribe(...jobs.map((job) => layout.jobEventsChannel(job.id)));
    await admin.config('RESETSTAT');
    const resumedAt = Date.now();
    await queue.resume();
    await waitFor(() => (succeeded.size === jobs.length ? true : undefined), 'every job succeeded', 60_000);
    const drainedMs = Date.now() - resumedAt;
    const counted = await calls(admin);
    await listener.quit();
    socket.close();

    expect(publishedQueued).toBe(0);
    let refreshDeliveries = 0;
    for (const job of jobs) {
      const seen = queued.get(job.id)!;
      const positions = seen.map((entry) => entry.position);
      // sent only on a change, and the queue only moves forward here
      for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeLessThan(positions[i - 1]!);
      const refreshes = seen.slice(1);
      refreshDeliveries += refreshes.length;
      // at most one per interval (the timer may fire a little early or late: a 20 % margin)
      for (let i = 1; i < refreshes.length; i++) expect(refreshes[i]!.at - refreshes[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL_MS * 0.8);
      const waited = (startedAt.get(job.id) ?? Date.now()) - resumedAt;
      expect(refreshes.length).toBeLessThanOrEqual(Math.ceil(waited / INTERVAL_MS) + 1);
    }
    // the queue moved while the jobs waited, and followers heard of it
    expect(refreshDeliveries).toBeGreaterThan(0);
    // one batched read per interval: one ZRANK per followed queued job per read, no more
    const reads = Math.ceil(drainedMs / INTERVAL_MS) + 2;
    expect(counted.zrank ?? 0).toBeGreaterThan(0);
    expect(counted.zrank ?? 0).toBeLessThanOrEqual(reads * jobs.length);
    expect(counted.hgetall ?? 0).toBeLessThan(jobs.length * 3);
  }, 90_000);
});
