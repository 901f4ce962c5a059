import type { Job, JobState, Queue, Worker } from 'bullmq';
import type { ObjectStore } from '@a2i/storage';

/**
 * The worker's part in the life of an upload folder (the whole life is written at the top of
 * apps/api/src/request-body.ts): once a job is in the queue it owns the folder its data names
 * (`uploadDir`, named after the job's id), and the folder goes when BullMQ has recorded the
 * job's final state:
 * - completed (after the processor recorded success and BullMQ moved the job to completed);
 * - failed with no retry left (BullMQ stamps `finishedOn`): refused input, canceled, canceled
 *   before it started, or server faults on every attempt.
 * A failure that will be retried keeps the folder: the next attempt reads the same files.
 * A generation's folder also goes as soon as its success is recorded (generation-processor.ts):
 * the answer to BullMQ's final move can be lost after Redis wrote it, and then no event comes.
 * A worker that dies between the final state and the removal leaves the folder to the sweeper
 * (`liveJobOwns` says whether a job still needs a folder).
 */

/**
 * Removes a finished job's upload folder (a path, or an s3:// location: the store's
 * locationOf), but only one inside the uploads store: it comes from job data, and job data is input.
 */
export async function removeUploadDir(uploads: ObjectStore, uploadDir: string | undefined): Promise<void> {
  if (uploadDir === undefined) return;
  const key = uploads.keyOf(uploadDir);
  if (key === null) return;
  await uploads.deletePrefix(`${key}/`);
}

/** True once BullMQ has recorded the job's last outcome: completed, or failed without a retry. */
function reachedFinalState(job: Job, outcome: 'completed' | 'failed'): boolean {
  return outcome === 'completed' || job.finishedOn !== undefined;
}

/**
 * Removes each job's upload folder when `worker` has recorded the job's final state (listens
 * to its 'completed' and 'failed' events, which BullMQ emits after the move is written).
 */
export function removeUploadsWhenFinal<D extends { uploadDir?: string | undefined }, R>(
  worker: Worker<D, R>,
  uploads: ObjectStore,
  onError: (error: unknown, jobId: string | undefined) => void,
): void {
  const remove = (job: Job<D, R> | undefined, outcome: 'completed' | 'failed') => {
    if (!job || !reachedFinalState(job, outcome)) return;
    const uploadDir = typeof job.data?.uploadDir === 'string' ? job.data.uploadDir : undefined;
    removeUploadDir(uploads, uploadDir).catch((error: unknown) => onError(error, job.id));
  };
  worker.on('completed', (job) => remove(job, 'completed'));
  worker.on('failed', (job) => remove(job, 'failed'));
}

/** Job states in which a job may still read its uploads. */
const LIVE_STATES: ReadonlySet<JobState | 'unknown'> = new Set(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children']);
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Whether a job still needs the upload folder `name` (= the id of its job) in any of `queues`:
 * true while that job waits, is delayed for a retry or runs; false once it is completed,
 * failed, removed, or was never added. A name that cannot be a job id is nobody's.
 */
export function liveJobOwns(queues: ReadonlyArray<Pick<Queue, 'getJobState'>>): (name: string) => Promise<boolean> {
  return async (name) => {
    if (!JOB_ID.test(name)) return false;
    for (const queue of queues) {
      if (LIVE_STATES.has(await queue.getJobState(name))) return true;
    }
    return false;
  };
}
