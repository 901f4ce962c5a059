import type { Job, QueueEvents } from 'bullmq';

/** BullMQ keeps its own, later time-out only to drop its listeners of a job nobody waits for. */
const LISTENER_GRACE_MS = 1000;

/** The wait for a job's outcome ran out: a type of its own, so no caller reads BullMQ's wording. */
export class JobWaitTimeout extends Error {
  override readonly name = 'JobWaitTimeout';
  constructor(
    readonly jobId: string | undefined,
    readonly timeoutMs: number,
  ) {
    super(`Job ${jobId ?? '(no id)'} did not finish within ${timeoutMs} ms`);
  }
}

/**
 * The job's return value once it completes (BullMQ's waitUntilFinished through QueueEvents);
 * rejects with the job's failure (an Error whose message is BullMQ's `failedReason`), or with
 * JobWaitTimeout after `timeoutMs`.
 */
export async function waitForJob(job: Job, events: QueueEvents, timeoutMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new JobWaitTimeout(job.id, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([job.waitUntilFinished(events, timeoutMs + LISTENER_GRACE_MS), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
