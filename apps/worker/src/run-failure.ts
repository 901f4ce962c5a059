import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { codeOf, isInputFault, jobFailureReason, serverFaultMessage, type GenerationPipeline, type JobStateStore } from '@a2i/protocol';
import type { ObjectStore } from '@a2i/storage';

/**
 * The abort reason a worker gives a job whose BullMQ lock it could not renew (worker-app.ts,
 * 'lockRenewalFailed'): another worker has taken the job, or will; this run stops at its next
 * step and records nothing.
 */
export const LOCK_LOST = 'a2i:lock-lost';

/** A run that stopped because its job belongs to another attempt now. Nothing was recorded. */
export class AttemptLostError extends Error {
  override readonly name = 'AttemptLostError';
}

/** What every processor that runs the pipeline for a job of the generations queue is given. */
export interface PipelineJobDeps {
  pipeline: GenerationPipeline;
  store: JobStateStore;
  logger: Logger;
  /** Where results go (attempt-results.ts). */
  results: ObjectStore;
  /** Where the job's files are (job-inputs.ts); fetched into `scratchDir` from object storage. */
  uploads: ObjectStore;
  scratchDir: string;
  resultTtlSeconds: number;
}

export interface RunFailure {
  job: Job;
  /** The job whose state records the failure (a video's part records it on its video). */
  id: string;
  /** The run's attempt, when the store's writes are fenced to it. */
  attempt?: number;
  store: JobStateStore;
  resultTtlSeconds: number;
  log: Logger;
  /** `generation`, `video`, `video part`: for the log lines. */
  what: string;
  /** What the server could not do, for the message clients see ("generate the images"). */
  action: string;
  /** A server fault with attempts left: record `job:queued` again (BullMQ retries the job). */
  requeue: boolean;
}

/**
 * Records the error a run ended with, when it is not a cancel or a lost attempt, and throws what
 * BullMQ should see: bad input fails the job at once, with its code, and is never retried
 * (UnrecoverableError); a server fault fails it on its last attempt (with a message that names
 * the code, not the internals) and otherwise puts it back for BullMQ's retry.
 */
export async function recordRunFailure(error: unknown, failure: RunFailure): Promise<never> {
  const { job, id, attempt, store, resultTtlSeconds, log, what } = failure;
  if (isInputFault(error)) {
    await store.failed(id, error.code, error.message, resultTtlSeconds, attempt);
    log.info({ code: error.code }, `${what} refused its input`);
    throw new UnrecoverableError(jobFailureReason(error.code, error.message));
  }
  const code = codeOf(error);
  const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  log.error({ err: error, code, willRetry: !last }, `${what} failed`);
  if (last) await store.failed(id, code, serverFaultMessage(failure.action, code), resultTtlSeconds, attempt);
  else if (failure.requeue) await store.requeued(id, attempt);
  throw error;
}
