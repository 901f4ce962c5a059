import type { Job } from 'bullmq';

/**
 * True for a job BullMQ failed because its workers kept dying. BullMQ 6's stalled checker
 * (moveStalledJobsToWait) counts each stall in `stalledCounter`; past `maxStalledCount` it
 * does not fail the job itself but marks it (`deferredFailure`) and puts it back in the
 * queue, and the next worker that takes it fails it at once, without running the processor.
 * So the processor never sees this failure; the worker's `failed` event does.
 */
export function lostByItsWorkers(job: Job, maxStalledCount: number): boolean {
  return Boolean(job.deferredFailure) && job.stalledCounter > maxStalledCount;
}
