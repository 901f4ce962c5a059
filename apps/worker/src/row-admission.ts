import type { Job, Processor, Worker } from 'bullmq';

/**
 * Continuous batching's fetching rule (README "Continuous batching"): a worker takes another
 * generation from BullMQ while fewer than `maxRows` rows are in flight, and holds it until it
 * ends. A row is one image of one job: a job of 4 images is 4 rows (8 model rows under
 * classifier-free guidance, its [uncond; cond] pair; a video part or a live picture, 1). A job
 * brings all its images when it is admitted, so the rows in flight may pass `maxRows` by at most
 * the largest job's images - 1: with `maxRows` 1 that is today's worker, one job at a time
 * whatever its size. BullMQ hands out the highest priority first; the jobs taken are not
 * reordered here.
 *
 * How: BullMQ's worker fetches while it holds fewer jobs than its `concurrency`. After every
 * admission and every release the concurrency is set to the jobs held, plus one when there is
 * room, and BullMQ's fetch loop is woken (it waits for a job to end otherwise).
 */
export class RowAdmission {
  private rows = 0;
  private jobs = 0;
  private worker: Pick<Worker, 'concurrency'> | null = null;

  constructor(readonly maxRows: number) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`Expected a positive integer for maxRows but received ${maxRows}`);
  }

  /** Rows (images) of the jobs held now. */
  get rowsInFlight(): number {
    return this.rows;
  }

  /** Jobs held now. */
  get jobsInFlight(): number {
    return this.jobs;
  }

  /** Whether another job may be taken. */
  get hasRoom(): boolean {
    return this.rows < this.maxRows;
  }

  /** The concurrency BullMQ should fetch up to now: the jobs held, plus one when there is room. */
  concurrency(): number {
    return Math.max(1, this.jobs + (this.hasRoom ? 1 : 0));
  }

  /** Drives `worker`'s concurrency from now on (its initial concurrency should be 1). */
  attach(worker: Pick<Worker, 'concurrency'>): void {
    this.worker = worker;
    this.update();
  }

  /** `processor`, counting its job's rows from the moment it starts until it ends. */
  wrap<T, R>(processor: Processor<T, R>, rowsOf: (job: Job<T, R>) => number): Processor<T, R> {
    return async (job, token, signal) => {
      const rows = Math.max(1, rowsOf(job));
      this.rows += rows;
      this.jobs += 1;
      this.update();
      try {
        return await processor(job, token, signal);
      } finally {
        this.rows -= rows;
        this.jobs -= 1;
        this.update();
      }
    };
  }

  private update(): void {
    const worker = this.worker;
    if (!worker) return;
    const next = this.concurrency();
    if (worker.concurrency === next) return;
    const raised = next > worker.concurrency;
    worker.concurrency = next;
    // BullMQ's fetch loop waits for a running job to end before it looks at the concurrency again;
    // a resolved promise in its queue wakes it (as BullMQ's own resume() does)
    if (raised) (worker as unknown as { mainLoopQueue?: { add(promise: Promise<unknown>): void } | null }).mainLoopQueue?.add(Promise.resolve());
  }
}

/** The rows of an image generation: its images (anything without a valid numImages: 1). */
export function generationRows(job: Pick<Job<unknown>, 'data'>): number {
  const images = (job.data as { options?: { numImages?: unknown } } | undefined)?.options?.numImages;
  return typeof images === 'number' && Number.isInteger(images) && images > 0 ? images : 1;
}
