import { randomBytes } from 'node:crypto';
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import {
  ERROR_CODES,
  TERMINAL_STATUSES,
  jobFailureReason,
  videoPartJobSchema,
  type GenerationJob,
  type JobStateStore,
  type PipelineInput,
  type VideoPartJob,
  type VideoPartResult,
} from '@a2i/protocol';
import { encodeImage, encodePreview } from '@a2i/pipeline';
import { AttemptLostError, LOCK_LOST, recordRunFailure, type PipelineJobDeps } from './run-failure.js';
import { localInputs } from './job-inputs.js';
import type { RunningVideoParts } from './running-video-parts.js';

export interface VideoPartProcessorDeps extends PipelineJobDeps {
  /** Where a cancel of the video finds this worker's parts of it (worker-app.ts). */
  running: RunningVideoParts;
}

/** Where a part run puts its frames: `<video id>/parts/<part>-<random>/<frame>.png` in the results store. */
export function partFolder(videoId: string, part: number): string {
  return `${videoId}/parts/${part}-${randomBytes(4).toString('hex')}`;
}

/** The abort reason of a part whose video was canceled or ended (its frame was refused). */
const VIDEO_ENDED = 'a2i:video-ended';

/**
 * The BullMQ processor of a video's parts (video-processor.ts plans them): each frame of the
 * part is one generation of the pipeline, from the request's fixed inputs plus the frame's own
 * condition (one `embedding` input, weighted as the sound was), all with the job's seed: the same
 * initial noise for every frame, so a steady sound gives a steady picture. Each frame is written
 * as a PNG under this run's own folder, counted in the video's progress (JobStateStore.frameDone:
 * once per frame, whichever run made it) and shown as a `frames` preview.
 * Outcomes (the part is a BullMQ child of the video's job, `failParentOnFailure`):
 * - the video canceled or ended (a frame refused, or the cancel channel): the part stops, removes
 *   its frames and completes with `{ stopped }`; the video's job then sees the state and records nothing;
 * - bad input (a fixed input that does not decode): the video fails with its code, no retry;
 * - a server fault: retried while attempts remain, then the video fails with its code;
 * - a lost lock (this worker was cut off): the run stops; the part runs again elsewhere and only
 *   its frames are made again.
 * Its return value names its folder; only the run BullMQ lets complete (it holds the lock) is
 * the one the video reads.
 */
export function createVideoPartProcessor(deps: VideoPartProcessorDeps): Processor<VideoPartJob, VideoPartResult> {
  const { pipeline, store, logger, results } = deps;
  return async (job: Job<VideoPartJob>, _token?: string, signal?: AbortSignal) => {
    const parsed = videoPartJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, 'The job data is not a valid video part'));
    const data = parsed.data;
    const { videoId } = data;
    const log = logger.child({ jobId: videoId, part: data.part, attempt: job.attemptsStarted });
    const before = await store.get(videoId);
    if (!before || before.status !== 'running') return { stopped: before && TERMINAL_STATUSES.has(before.status) && before.status !== 'canceled' ? 'finished' : 'canceled' };

    const abort = new AbortController();
    signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
    const unregister = deps.running.add(videoId, abort);
    const folder = partFolder(videoId, data.part);
    let size: { width: number; height: number } | null = null;
    const inputs = await localInputs(data.inputs, deps.uploads, deps.scratchDir, `${job.id}-${job.attemptsStarted}`).catch((error: unknown) => {
      unregister();
      throw error;
    });
    try {
      for (const frame of data.frames) {
        abort.signal.throwIfAborted();
        const condition: PipelineInput = { modality: 'embedding', weight: data.conditionWeight, vector: frame.direction };
        const frameJob: GenerationJob = { id: videoId, createdAt: 0, inputs: [condition, ...inputs.items], options: { ...data.options, numImages: 1, previewEvery: 0 } };
        const output = await pipeline.generate(frameJob, { signal: abort.signal, onProgress: () => undefined, onPreview: () => undefined });
        const image = output.images[0]!;
        size = { width: image.width, height: image.height };
        await results.put(`${folder}/${frame.index}.png`, await encodeImage(image.rgb, image.width, image.height, 'png'), { contentType: 'image/png' });
        const counted = await store.frameDone(videoId, frame.index, data.totalFrames, deps.resultTtlSeconds);
        if (!counted.applied) abort.abort(VIDEO_ENDED);
        else void showFrame(store, videoId, frame.index, image).catch((error: unknown) => log.warn({ err: error }, 'frame preview not sent'));
      }
      abort.signal.throwIfAborted();
      return { folder, frames: data.frames.map((frame) => frame.index), ...size! };
    } catch (error) {
      if (abort.signal.aborted && abort.signal.reason === LOCK_LOST) {
        log.warn('video part stopped: its lock was lost');
        throw new AttemptLostError(`A run of part ${data.part} of ${videoId} lost its lock`);
      }
      await results.deletePrefix(`${folder}/`).catch(() => undefined);
      if (abort.signal.aborted) {
        log.info('video part stopped: the video was canceled or ended');
        return { stopped: 'canceled' as const };
      }
      // the video's state records it (no attempt: a part is not the video's run); BullMQ retries a part itself
      return recordRunFailure(error, { job, id: videoId, store, resultTtlSeconds: deps.resultTtlSeconds, log, what: 'video part', action: 'make the video', requeue: false });
    } finally {
      unregister();
      await inputs.release();
    }
  };
}

/** A finished frame as the video's `frames` preview (best effort, like every preview). */
async function showFrame(store: JobStateStore, videoId: string, index: number, image: { rgb: Uint8Array; width: number; height: number }): Promise<void> {
  const webp = await encodePreview(image.rgb, image.width, image.height);
  await store.publishPreview(videoId, { stage: 'frames', step: index, index: 0, width: image.width, height: image.height, mime: 'image/webp', image: webp });
}
