import { WaitingError, type Job, type Processor, type Worker } from 'bullmq';

/**
 * The abort reason of a run its stopping worker gives back to the queue: the grace period
 * (A2I_SHUTDOWN_GRACE_MS) ran out while it was still running.
 */
export const HANDED_BACK = 'a2i:handed-back';

/** The part of a pino logger the shutdown writes to. */
interface ShutdownLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * The jobs a worker process holds, and how it lets go of them when it stops (SIGTERM): BullMQ
 * workers whose processors are wrapped here can be closed within a grace period.
 *  1. No new job is taken (Worker.close interrupts the blocking wait for one).
 *  2. The jobs held finish if they can within `graceMs`: their results are recorded as usual.
 *  3. Past it, each run still going is aborted with HANDED_BACK: the processor stops at its next
 *     step (a generation records `job:queued` again: generation-processor.ts) and the wrapper
 *     moves the job back to the queue (BullMQ moveToWait, with this run's lock token), where
 *     another worker takes it at once, as its next attempt. Nothing is failed and nothing runs
 *     twice to completion: the run stopped, and its changes are fenced to its attempt.
 * A job whose processor is not wrapped (an ingest writing items, whose processor takes no abort;
 * a video, whose processors take any abort for a cancel) is never aborted here: it finishes, or,
 * should the process be killed first, BullMQ's stalled-job check gives it to another worker once
 * its lock expires.
 */
export class HandBack {
  /** `<queue>:<job id>` -> the job's queue and id, while its wrapped run goes on. */
  private readonly running = new Map<string, { queue: string; id: string }>();

  /** Jobs running now in the wrapped processors. */
  get holding(): number {
    return this.running.size;
  }

  /** `processor`, giving its job back to the queue when its run was aborted with HANDED_BACK. */
  wrap<T, R>(processor: Processor<T, R>): Processor<T, R> {
    return async (job: Job<T, R>, token?: string, signal?: AbortSignal) => {
      const key = `${job.queueName}:${job.id}`;
      this.running.set(key, { queue: job.queueName, id: String(job.id) });
      try {
        return await processor(job, token, signal);
      } catch (error) {
        if (signal?.aborted && signal.reason === HANDED_BACK && token !== undefined) {
          await job.moveToWait(token);
          // BullMQ's way of saying "moved elsewhere, not failed": no `failed` event, no retry counted
          throw new WaitingError();
        }
        throw error;
      } finally {
        this.running.delete(key);
      }
    };
  }

  /**
   * Closes `workers` (1 and 2 above) and, if they still hold jobs after `graceMs`, aborts those
   * runs with HANDED_BACK (3). Resolves once every worker has closed.
   */
  async closeWithin(workers: ReadonlyArray<Pick<Worker, 'name' | 'close' | 'cancelJob'>>, graceMs: number, log: ShutdownLog): Promise<{ handedBack: number }> {
    let handedBack = 0;
    if (this.holding > 0) log.info({ jobs: this.holding, graceMs }, 'taking no new jobs; the running ones get the grace period');
    const timer = setTimeout(() => {
      // only the wrapped runs: a processor that is not wrapped would take the abort for a cancel
      for (const { queue, id } of this.running.values()) {
        if (workers.some((worker) => worker.name === queue && worker.cancelJob(id, HANDED_BACK))) handedBack += 1;
      }
      if (handedBack > 0) log.warn({ jobs: handedBack, graceMs }, 'grace period over: running jobs go back to the queue');
    }, graceMs);
    try {
      await Promise.all(workers.map((worker) => worker.close()));
    } finally {
      clearTimeout(timer);
    }
    return { handedBack };
  }
}
