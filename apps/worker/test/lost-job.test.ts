import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { useBullmqOnRedis } from './bullmq-on-redis.js';
import { lostByItsWorkers } from '../src/lost-job.js';


describe('lostByItsWorkers (BullMQ failing a job whose workers died)', () => {
  const { prefix, open } = useBullmqOnRedis('lost');

  it('is true for the failure of a job that stalled more than maxStalledCount times, false for a failure of its own', async () => {
    const name = 'generations';
    const options = { prefix, lockDuration: 500, stalledInterval: 200, maxStalledCount: 0 };
    const queue = open((connection) => new Queue(name, { connection, prefix }));

    // A worker takes the job and dies holding it: it never finishes, its lock runs out.
    const dying = open((connection) => new Worker(name, () => new Promise(() => undefined), { ...options, connection }));
    const started = new Promise<void>((resolve) => dying.once('active', () => resolve()));
    const lost = await queue.add('generate', { n: 1 }, { attempts: 2 });
    await started;
    await dying.close(true);

    // Another worker's stalled checker finds it; BullMQ fails it on the next take.
    const failures: Array<{ job: Job; message: string }> = [];
    const survivor = open((connection) => new Worker(name, async () => { throw new Error('a failure of its own'); }, { ...options, connection }));
    survivor.on('failed', (job, error) => {
      if (job) failures.push({ job, message: error.message });
    });
    const own = await queue.add('generate', { n: 2 }, { attempts: 1 });

    const deadline = Date.now() + 20_000;
    while (failures.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const byId = new Map(failures.map((f) => [f.job.id, f.job]));
    expect(lostByItsWorkers(byId.get(lost.id!)!, options.maxStalledCount)).toBe(true);
    expect(lostByItsWorkers(byId.get(own.id!)!, options.maxStalledCount)).toBe(false);
    // a worker configured to tolerate more stalls would not call it lost
    expect(lostByItsWorkers(byId.get(lost.id!)!, 5)).toBe(false);
  });
});
