import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { useBullmqOnRedis } from './bullmq-on-redis.js';
import { HANDED_BACK, HandBack } from '../src/hand-back.js';

const quiet = { info: () => undefined, warn: () => undefined };

/** A processor that runs `ms` unless aborted (then it throws the abort's reason, as the pipeline does). */
function runFor(ms: number, seen: string[]) {
  return (job: Job, _token?: string, signal?: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve(`done ${job.id}`), ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        seen.push(String(signal.reason));
        reject(new Error(`aborted: ${String(signal.reason)}`));
      });
    });
}

describe('HandBack: a stopping worker finishes what it can within the grace, then gives the rest back (real Redis)', () => {
  const { prefix, open } = useBullmqOnRedis('handback');

  it('puts a job that outlives the grace back in the queue (no failure, no retry spent) for another worker to run as its next attempt', async () => {
    const queue = open((connection) => new Queue('generations', { connection, prefix }));
    const seen: string[] = [];
    const handBack = new HandBack();
    const stopping = open((connection) => new Worker('generations', handBack.wrap(runFor(10_000, seen)), { connection, prefix, name: 'stopping' }));
    const failed: string[] = [];
    stopping.on('failed', (job) => failed.push(String(job?.id)));
    const job = await queue.add('generate', {}, { attempts: 1 });
    const deadline = Date.now() + 10_000;
    while (handBack.holding === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handBack.holding).toBe(1);

    const began = Date.now();
    const outcome = await handBack.closeWithin([stopping], 300, quiet);
    const closedMs = Date.now() - began;
    expect(outcome).toEqual({ handedBack: 1 });
    expect(seen).toEqual([HANDED_BACK]);
    expect(closedMs).toBeGreaterThanOrEqual(290);
    expect(closedMs).toBeLessThan(3000);
    expect(failed).toEqual([]);
    expect(await queue.getJobState(job.id!)).toBe('waiting');
    expect((await queue.getJob(job.id!))?.attemptsMade).toBe(0);

    // another worker takes it: attempt 2 (a run's changes are fenced to its attempt)
    const next = open((connection) => new Worker('generations', runFor(50, []), { connection, prefix, name: 'next' }));
    const completed = await new Promise<Job>((resolve) => next.once('completed', (done) => resolve(done)));
    expect(completed.id).toBe(job.id);
    expect([completed.returnvalue, completed.attemptsStarted, completed.processedBy]).toEqual([`done ${job.id}`, 2, 'next']);
  });

  it('lets a job that ends within the grace complete as usual, and aborts nothing', async () => {
    const queue = open((connection) => new Queue('generations', { connection, prefix }));
    const seen: string[] = [];
    const handBack = new HandBack();
    const stopping = open((connection) => new Worker('generations', handBack.wrap(runFor(200, seen)), { connection, prefix }));
    const active = new Promise<void>((resolve) => stopping.once('active', () => resolve()));
    const job = await queue.add('generate', {}, { attempts: 1 });
    await active;
    expect(await handBack.closeWithin([stopping], 2000, quiet)).toEqual({ handedBack: 0 });
    expect(seen).toEqual([]);
    expect(await queue.getJobState(job.id!)).toBe('completed');
  });

  it('never aborts a run it did not wrap (a processor that would take the abort for a cancel)', async () => {
    const queue = open((connection) => new Queue('generations', { connection, prefix }));
    const seen: string[] = [];
    const handBack = new HandBack();
    const stopping = open((connection) => new Worker('generations', runFor(600, seen), { connection, prefix }));
    const active = new Promise<void>((resolve) => stopping.once('active', () => resolve()));
    const job = await queue.add('generate', {}, { attempts: 1 });
    await active;
    expect(await handBack.closeWithin([stopping], 100, quiet)).toEqual({ handedBack: 0 });
    expect(seen).toEqual([]);
    expect(await queue.getJobState(job.id!)).toBe('completed');
  });
});
