import { randomInt } from 'node:crypto';
import type { Queue, QueueEvents } from 'bullmq';
import {
  ERROR_CODES,
  LIVE_JOB_NAME,
  QUEUE_PRIORITY,
  liveResultSchema,
  priorApplies,
  resolveInputs,
  type LiveJob,
  type LiveStart,
  type PackDescription,
  type RequestLimits,
} from '@a2i/protocol';
import { CodedError, faultOf, parseJobFailureReason } from '@a2i/protocol/errors';
import { ApiError } from './api-error.js';
import { JobWaitTimeout, waitForJob } from './job-wait.js';
import type { LiveJobTemplate, LivePainter } from './live-streams.js';

/**
 * A live stream's picture job, all but its window, from its live:start and the pack: the fixed
 * inputs checked as a request's are, the decoder's defaults, `steps` from the request or
 * A2I_LIVE_STEPS (both within the pack's limit), one seed for the whole stream (the same noise
 * for every picture: a steady sound gives a steady picture), prior "auto" as for an audio input.
 */
export function liveJobTemplate(request: LiveStart, pack: PackDescription, limits: RequestLimits, liveSteps: number): LiveJobTemplate {
  if (!pack.modalities.includes('audio')) throw new ApiError(ERROR_CODES.UNSUPPORTED_MODALITY, `Expected a pack with an audio encoder for live sound but ${pack.name} has none`);
  const inputs = resolveInputs(request.inputs, pack, limits);
  const maxSteps = Math.min(pack.limits.maxSteps, limits.maxSteps);
  const steps = request.steps ?? Math.min(liveSteps, maxSteps);
  if (steps > maxSteps) throw new ApiError(ERROR_CODES.LIMIT_EXCEEDED, `Expected steps of at most ${maxSteps} but received ${steps}`);
  const counted = [{ modality: 'audio', weight: request.soundWeight }, ...inputs];
  return {
    sampleRate: request.sampleRate,
    soundWeight: request.soundWeight,
    inputs,
    options: {
      prompt: request.prompt ?? '',
      seed: request.seed ?? randomInt(0, 0xffff_ffff),
      steps,
      guidance: request.guidance ?? pack.defaults.guidance,
      usePrior: priorApplies('auto', counted, pack.prior.available ? { defaultFor: pack.prior.defaultFor } : null),
      noiseLevel: pack.defaults.noiseLevel,
      numImages: 1,
      format: 'webp',
      previewEvery: 0,
      priority: 'normal',
    },
  };
}

/**
 * Paints a live window as a job on the generations queue (name `live`, apps/worker
 * live-processor.ts) and waits for its picture through QueueEvents (`events` opens them on the
 * first picture: an api whose clients never stream reads none of the queue's event stream). The job waits in the queue
 * at `normal` priority, first in, first out with the ordinary jobs of that priority: a stream
 * never has more than one job queued or running (LiveStream), so a job queued after it waits for
 * at most one picture per stream, and a stream cannot hold a worker from the jobs queued before
 * its picture (README "Live sound": measured). A picture not made within `timeoutMs` is taken
 * out of the queue if it still waits; the stream paints its newest window next.
 */
export function createLivePainter(deps: { queue: Queue; events: () => QueueEvents; timeoutMs: number }): LivePainter {
  let count = 0;
  return async (stream, snapshot) => {
    const pcm = Buffer.from(snapshot.samples.buffer, snapshot.samples.byteOffset, snapshot.samples.byteLength);
    const data: LiveJob = { streamId: stream.id, pcm: pcm.toString('base64'), ...stream.job };
    const job = await deps.queue.add(LIVE_JOB_NAME, data, {
      jobId: `live-${stream.id}-${++count}`,
      priority: QUEUE_PRIORITY.normal,
      attempts: 1,
      removeOnComplete: { age: 60 },
      removeOnFail: { age: 60 },
    });
    let result: unknown;
    try {
      result = await waitForJob(job, deps.events(), deps.timeoutMs);
    } catch (error) {
      if (error instanceof JobWaitTimeout) {
        await job.remove().catch(() => undefined);
        throw new CodedError(ERROR_CODES.INTERNAL, `No worker made the live picture within ${deps.timeoutMs} ms`);
      }
      const failure = parseJobFailureReason((error as Error).message);
      if (failure && faultOf(failure.code) === 'input') throw new ApiError(failure.code, failure.message);
      throw new CodedError(failure?.code ?? ERROR_CODES.INTERNAL, `The live picture failed: ${(error as Error).message}`);
    }
    const picture = liveResultSchema.parse(result);
    return { image: new Uint8Array(Buffer.from(picture.image, 'base64')), width: picture.width, height: picture.height };
  };
}
