import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import {
  ERROR_CODES,
  generationJobSchema,
  pngTextOf,
  TERMINAL_STATUSES,
  type GenerationJob,
  type PipelineStage,
  type PreviewFrame,
} from '@a2i/protocol';
import { encodePreview } from '@a2i/pipeline';
import { placeAttemptResults } from './attempt-results.js';
import type { CollectionStore } from '@a2i/collections';
import { localInputs } from './job-inputs.js';
import { neighborMix } from './neighbor-condition.js';
import { parseJobData } from './job-data.js';
import { ProgressReporter } from './progress-reporter.js';
import { HANDED_BACK } from './hand-back.js';
import { removeUploadDir } from './upload-cleanup.js';
import { AttemptLostError, LOCK_LOST, recordRunFailure, type PipelineJobDeps } from './run-failure.js';

/** The abort reason of a run whose fenced progress was refused: a later attempt holds the job, or it finished. */
const SUPERSEDED = 'a2i:superseded';

export interface GenerationProcessorDeps extends PipelineJobDeps {
  progressIntervalMs: number;
  /** The collection store, for jobs with `neighbors` (retrieval-augmented generation). */
  collections?: () => Promise<CollectionStore>;
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
 * Exactly once, from the client's side, when a job runs twice (a worker lost its lock while
 * cut off or paused, and the stalled checker gave the job to another):
 * - a job whose state is already final (succeeded, failed, canceled) is not run again: the
 *   BullMQ job completes at once, its results untouched;
 * - every change this run records is fenced to its attempt (JobStateStore): once a later
 *   attempt has started, its progress is refused and the run stops at the next step, and it
 *   cannot finish, fail or requeue the job; a lost lock stops it the same way (LOCK_LOST);
 * - results go in through a per-attempt staging folder, or per-attempt keys in object storage (attempt-results.ts).
 * Handed back by its stopping worker (HANDED_BACK, hand-back.ts): `job:queued` again, and the
 * run stops; the wrapper puts the job back in the queue for its next attempt.
 */
export function createGenerationProcessor(deps: GenerationProcessorDeps): Processor<GenerationJob> {
  const { pipeline, store, logger } = deps;
  // The job's uploads stay until its outcome is recorded: a retry after a failed recording reads
  // them. Once its success is recorded, no run of it reads them again (a later run finds the job
  // finished and stops), so they go at once here; BullMQ's final state removes them too
  // (removeUploadsWhenFinal in upload-cleanup.ts), and is the only path for failures. Both, as a
  // worker's final move to completed can be written by Redis and its answer lost (Redis killed).

  return async (job: Job<GenerationJob>, _token?: string, signal?: AbortSignal) => {
    const id = job.id!;
    const data = await parseJobData(job, generationJobSchema, 'generation', { store, resultTtlSeconds: deps.resultTtlSeconds });
    const attempt = Math.max(1, job.attemptsStarted);
    const started = await store.started(id, attempt);
    if (!started.applied) {
      const state = started.reason === 'status' ? await store.get(id) : null;
      if (state && TERMINAL_STATUSES.has(state.status)) {
        // Already finished (by an earlier run that lost its lock, or canceled while it waited):
        // not run again, and nothing of the first outcome is touched.
        logger.info({ jobId: id, attempt, status: state.status }, 'generation already finished: not run again');
        return { finished: state.status };
      }
      // Expired while it waited: it never starts.
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
      if (!update) return;
      store.progress(id, update, attempt).then(
        (recorded) => {
          // Refused: a later attempt holds the job, or it finished (or was canceled) meanwhile.
          if (!recorded.applied) abort.abort(SUPERSEDED);
        },
        (error: unknown) => log.warn({ err: error }, 'progress not recorded'),
      );
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

    /** Why this run may not record an outcome: a later attempt holds the job, or it finished. */
    const notOurs = async (): Promise<{ finished: string } | null> => {
      const now = await store.get(id);
      if (now && (now.status === 'succeeded' || now.status === 'failed')) return { finished: now.status };
      if (now && now.status === 'running' && now.attempt !== attempt) throw new AttemptLostError(`Attempt ${attempt} of ${id} was superseded by attempt ${now.attempt}`);
      return null;
    };

    try {
      // retrieval-augmented: the pipeline asks, between combining the inputs and the prior, for the query's nearest images
      let neighborsUsed: Array<{ id: string; score: number }> | undefined;
      const neighbors = data.neighbors;
      const augmentCondition =
        neighbors === undefined
          ? undefined
          : async (query: Float32Array) => {
              if (!deps.collections) throw new Error('This worker was started without a collection store');
              const mix = await neighborMix(await deps.collections(), neighbors, pipeline.describe(), query);
              neighborsUsed = mix.used;
              return mix.terms;
            };
      // the files, where the decoders can open them (fetched from object storage for this run)
      const inputs = await localInputs(data.inputs, deps.uploads, deps.scratchDir, `${id}-${attempt}`);
      const output = await pipeline
        .generate({ ...data, inputs: inputs.items }, { signal: abort.signal, onProgress, onPreview, ...(augmentCondition ? { augmentCondition } : {}) })
        .finally(() => inputs.release());
      abort.signal.throwIfAborted();
      const elsewhere = await notOurs();
      if (elsewhere) return elsewhere;
      // A PNG says how it was made (the request echo the api stored with the job).
      const echo = data.options.format === 'png' ? await store.requestEcho(id) : null;
      const placed = await placeAttemptResults(deps.results, id, attempt, output.images, data.options.format, echo ? (image) => pngTextOf(echo, image) : undefined);
      const recorded = await store.succeeded(id, placed.images, deps.resultTtlSeconds, attempt, neighborsUsed ? { neighbors: neighborsUsed } : {});
      if (!recorded.applied) {
        // Canceled, expired or taken over meanwhile: our files go unless another attempt succeeded with that folder.
        if ((await store.get(id))?.status !== 'succeeded') await placed.remove();
        const finished = await notOurs();
        if (finished) return finished;
        if (recorded.reason === 'attempt') throw new AttemptLostError(`Attempt ${attempt} of ${id} lost the job before it could record its success`);
        log.info({ reason: recorded.reason }, 'success not recorded');
        return { finished: 'canceled' };
      }
      log.info({ images: placed.images.length }, 'generation succeeded');
      await removeUploadDir(deps.uploads, data.uploadDir).catch((error: unknown) => log.warn({ err: error }, 'upload not removed'));
      return { images: placed.images.length };
    } catch (error) {
      if (error instanceof AttemptLostError) {
        log.warn({ err: error }, 'generation stopped: another attempt holds the job');
        throw error;
      }
      if (abort.signal.aborted) {
        const reason: unknown = abort.signal.reason;
        if (reason === LOCK_LOST) {
          log.warn('generation stopped: its lock was lost');
          throw new AttemptLostError(`Attempt ${attempt} of ${id} lost its lock`);
        }
        if (reason === HANDED_BACK) {
          // its worker is stopping (hand-back.ts): back in the queue for another worker, not canceled
          await store.requeued(id, attempt);
          log.info('generation handed back: its worker is stopping');
          throw new AttemptLostError(`Attempt ${attempt} of ${id} was handed back by its stopping worker`);
        }
        if (reason === SUPERSEDED) {
          const finished = await notOurs();
          if (finished) {
            log.info({ status: finished.finished }, 'generation stopped: the job finished elsewhere');
            return finished;
          }
        }
        await store.canceled(id, deps.resultTtlSeconds, attempt);
        log.info('generation canceled');
        throw new UnrecoverableError('CANCELED');
      }
      return recordRunFailure(error, { job, id, attempt, store, resultTtlSeconds: deps.resultTtlSeconds, log, what: 'generation', action: 'generate the images', requeue: true });
    }
  };
}
