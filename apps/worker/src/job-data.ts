import { UnrecoverableError, type Job } from 'bullmq';
import { ERROR_CODES, jobFailureReason, type JobStateStore } from '@a2i/protocol';

/** What the job schemas (zod) offer: a parse that says why it failed. */
interface JobSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

/**
 * A job's data read with its schema. Data that does not parse (written by an older or foreign
 * producer) fails the job as INVALID_JOB, recorded for its followers, and is not retried.
 */
export async function parseJobData<T>(
  job: Job,
  schema: JobSchema<T>,
  kind: string,
  record: { store: JobStateStore; resultTtlSeconds: number },
): Promise<T> {
  const parsed = schema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  await record.store.failed(job.id!, ERROR_CODES.INVALID_JOB, `The job data is not a valid ${kind} job`, record.resultTtlSeconds);
  throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, parsed.error.message));
}
