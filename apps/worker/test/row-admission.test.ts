import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { useBullmqOnRedis } from './bullmq-on-redis.js';
import { generationRows, RowAdmission } from '../src/row-admission.js';
import { waitFor } from '../../../test/support/wait-for.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RowAdmission: a batching worker takes jobs from BullMQ while it has rows free (real Redis)', () => {
  const { prefix, open } = useBullmqOnRedis('rows');

  /** A worker whose jobs run until the test releases them by name. */
  function heldWorker(queueName: string, admission: RowAdmission) {
    const held = new Map<string, () => void>();
    const order: string[] = [];
    const processor = (job: Job) =>
      new Promise<void>((resolve) => {
        order.push(job.name);
        held.set(job.name, resolve);
      }).finally(() => held.delete(job.name));
    const worker = open((connection) => {
      const made = new Worker(queueName, admission.wrap(processor, generationRows), { connection, prefix, concurrency: 1, drainDelay: 1 });
      // a failed test leaves jobs held: let them go so the worker can close
      return Object.assign(made, { close: () => (held.forEach((release) => release()), Worker.prototype.close.call(made, true)) });
    });
    admission.attach(worker);
    return { held, order, worker };
  }

  const job = (numImages: number) => ({ options: { numImages } });

  it('counts images as rows, admits while fewer than the maximum are in flight, and takes the highest priority first when rows free up', async () => {
    const queue = open((connection) => new Queue('generations', { connection, prefix }));
    const admission = new RowAdmission(4);
    await queue.add('a', job(3), { priority: 5 });
    await queue.add('b', job(2), { priority: 5 });
    await queue.add('c', job(1), { priority: 5 });
    const { held, order } = heldWorker('generations', admission);
    // a (3 rows) leaves room, b (2) fills it past 4: c waits in the queue, not in the worker
    await waitFor(() => (held.has('a') && held.has('b') ? true : undefined), 'a and b to be held', 10_000);
    await sleep(300);
    expect([...held.keys()].sort()).toEqual(['a', 'b']);
    expect(admission.rowsInFlight).toBe(5);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(1);
    // a higher-priority job arrives while there is no room; when a ends, it goes before c
    await queue.add('urgent', job(1), { priority: 1 });
    held.get('a')!();
    await waitFor(() => (held.has('urgent') ? true : undefined), 'urgent to be held', 10_000);
    expect(order.slice(0, 3)).toEqual(['a', 'b', 'urgent']);
    // b 2 + urgent 1 = 3 < 4: room for c too, without any job ending
    await waitFor(() => (held.has('c') ? true : undefined), 'c to be held', 10_000);
    expect(admission.rowsInFlight).toBe(4);
    for (const name of ['b', 'urgent', 'c']) held.get(name)!();
    await waitFor(async () => ((await queue.getCompletedCount()) === 4 ? true : undefined), 'all four completed', 10_000);
    expect(admission.rowsInFlight).toBe(0);
    expect(admission.jobsInFlight).toBe(0);
  });

  it('with one row, holds one job at a time whatever its size (the unbatched worker)', async () => {
    const queue = open((connection) => new Queue('generations', { connection, prefix }));
    const admission = new RowAdmission(1);
    for (const name of ['x', 'y']) await queue.add(name, job(4));
    const { held } = heldWorker('generations', admission);
    await waitFor(() => (held.has('x') ? true : undefined), 'x to be held', 10_000);
    await sleep(300);
    expect([...held.keys()]).toEqual(['x']);
    held.get('x')!();
    await waitFor(() => (held.has('y') ? true : undefined), 'y to be held', 10_000);
    expect([...held.keys()]).toEqual(['y']);
    held.get('y')!();
  });

  it('reads a job without a valid image count as one row', () => {
    expect(generationRows({ data: { options: { numImages: 3 } } })).toBe(3);
    expect(generationRows({ data: { videoId: 'v' } })).toBe(1);
    expect(generationRows({ data: { options: { numImages: 0 } } })).toBe(1);
    expect(() => new RowAdmission(0)).toThrow(/positive integer for maxRows/);
  });
});
