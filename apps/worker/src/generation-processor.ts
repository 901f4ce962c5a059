import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import {
  ERROR_CODES,
  codeOf,
  generationJobSchema,
  isInputFault,
  jobFailureReason,
  serverFaultMessage,
  type GenerationJob,
  type GenerationPipeline,
  type JobStateStore,
  type PipelineStage,
  type PreviewFrame,
} from '@a2i/protocol';
import { encodePreview, writeResults } from '@a2i/pipeline';
import { ProgressReporter } from './progress-reporter.js';

export interface GenerationProcessorDeps {
  pipeline: GenerationPipeline;
  store: JobStateStore;
  logger: Logger;
  resultsDir: string;
  resultTtlSeconds: number;
  progressIntervalMs: number;
}

/**
 * The BullMQ processor of generation jobs. Its outcomes:
 * - canceled before it starts (state no longer queued): never runs the pipeline;
 * - canceled while running (the signal aborts): `job:canceled`, no retry;
 * - an input fault (`fault: 'input'`, e.g. a decoder's MediaError): `job:failed` at once with
 *   its code and message, UnrecoverableError so BullMQ does not retry;
 * - a server fault (`fault: 'server'`, or any error without a registered code): retried while
 *   attempts remain (`job:queued` again), then `job:failed` with its code (INTERNAL when it has
 *   none) and a generic message; the details go to the log only.
 */
export function createGenerationProcessor(deps: GenerationProcessorDeps): Processor<GenerationJob> {
  const { pipeline, store, logger } = deps;
  // The job's uploads stay until BullMQ has recorded its final state (removeUploadsWhenFinal in
  // upload-cleanup.ts): removed here, a retry after a failed recording would find no inputs.

  return async (job: Job<GenerationJob>, _token?: string, signal?: AbortSignal) => {
    const id = job.id!;
    const parsed = generationJobSchema.safeParse(job.data);
    if (!parsed.success) {
      await store.failed(id, ERROR_CODES.INVALID_JOB, 'The job data is not a valid generation job', deps.resultTtlSeconds);
      throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, parsed.error.message));
    }
    const data = parsed.data;
    const attempt = Math.max(1, job.attemptsStarted);
    const started = await store.started(id, attempt);
    if (!started.applied) {
      // Canceled (or expired) while it waited: it never starts.
      throw new UnrecoverableError(ERROR_CODES.JOB_FINISHED);
    }
    const log = logger.child({ jobId: id, attempt });
    log.info('generation started');
    const abort = new AbortController();
    signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });

    const priorSteps = data.options.usePrior ? (pipeline.describe().prior.defaultSteps ?? 0) : 0;
    const stepsAfter = (stage: PipelineStage) => (stage === 'embed' ? priorSteps + data.options.steps : stage === 'prior' ? data.options.steps : 0);
    const reporter = new ProgressReporter(deps.progressIntervalMs, stepsAfter, Date.now());
    const onProgress = (p: { stage: PipelineStage; step: number; steps: number }) => {
      const update = reporter.report(p, Date.now());
      if (update) store.progress(id, update).catch((error: unknown) => log.warn({ err: error }, 'progress not recorded'));
    };
    let previewBusy = false;
    const onPreview = (p: PreviewFrame) => {
      if (previewBusy) return; // previews are best-effort: drop one while the last is encoding
      previewBusy = true;
      encodePreview(p.rgb, p.width, p.height)
        .then((image) => store.publishPreview(id, { stage: p.stage, step: p.step, index: p.index, width: p.width, height: p.height, mime: 'image/webp', image }))
        .catch((error: unknown) => log.warn({ err: error }, 'preview not sent'))
        .finally(() => (previewBusy = false));
    };

    try {
      const output = await pipeline.generate(data, { signal: abort.signal, onProgress, onPreview });
      abort.signal.throwIfAborted();
      const images = await writeResults(deps.resultsDir, id, output.images, data.options.format);
      const recorded = await store.succeeded(id, images, deps.resultTtlSeconds);
      if (!recorded.applied) await rm(join(deps.resultsDir, id), { recursive: true, force: true });
      log.info({ images: images.length }, 'generation succeeded');
      return { images: images.length };
    } catch (error) {
      if (abort.signal.aborted) {
        await store.canceled(id, deps.resultTtlSeconds);
        log.info('generation canceled');
        throw new UnrecoverableError('CANCELED');
      }
      if (isInputFault(error)) {
        await store.failed(id, error.code, error.message, deps.resultTtlSeconds);
        log.info({ code: error.code }, 'generation refused its input');
        throw new UnrecoverableError(jobFailureReason(error.code, error.message));
      }
      const code = codeOf(error);
      const attempts = job.opts.attempts ?? 1;
      const last = job.attemptsMade + 1 >= attempts;
      log.error({ err: error, code, willRetry: !last }, 'generation failed');
      if (last) {
        await store.failed(id, code, serverFaultMessage('generate the images', code), deps.resultTtlSeconds);
      } else {
        await store.requeued(id);
      }
      throw error;
    }
  };
}
