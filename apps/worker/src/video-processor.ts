import { UnrecoverableError, WaitingChildrenError, type Job, type Processor, type Queue } from 'bullmq';
import {
  ERROR_CODES,
  QUEUE_PRIORITY,
  TERMINAL_STATUSES,
  VIDEO_PART_JOB_NAME,
  checkVideoLength,
  generationJobSchema,
  jobFailureReason,
  videoFrameCount,
  type GenerationJob,
  type JobOutput,
  type PipelineInput,
  type VideoLimits,
  type VideoPartJob,
} from '@a2i/protocol';
import { frameParts, frameTimes, morphFrameDirections, soundFrameDirections } from '@a2i/pipeline';
import { AttemptLostError, LOCK_LOST, recordRunFailure, type PipelineJobDeps } from './run-failure.js';
import { localInputs } from './job-inputs.js';
import { parseJobData } from './job-data.js';
import { ProgressReporter } from './progress-reporter.js';
import { encodeVideo } from './video-encode.js';

export interface VideoProcessorDeps extends PipelineJobDeps {
  progressIntervalMs: number;
  video: VideoLimits;
  /** The generations queue, where the video's parts go (as BullMQ children of its job). */
  queue: Queue;
  /** Attempts of a part for server faults (A2I_JOB_ATTEMPTS). */
  partAttempts: number;
}

/** The frames of a video and what each is made from (planFrames). */
interface FramePlan {
  /** One unit direction per frame: the frame's own condition. */
  directions: Float32Array[];
  /** Its weight among the fixed inputs (the sound's weight; 1 for a morph, which has none). */
  conditionWeight: number;
  /** The request's inputs weighed in on every frame (the job data's, not this run's local copies). */
  fixed: PipelineInput[];
}

/**
 * The BullMQ processor of a video job (`output` video or morph), in two steps on one job, the
 * way BullMQ runs a parent that adds children while it runs (its "process step jobs" pattern):
 * 1. plan: the frames' conditions (a sound read in windows, embedded, smoothed; or a morph's
 *    path between its inputs), then the parts (runs of A2I_VIDEO_FRAMES_PER_PART frames) added
 *    as children of this job with ids of their own (`<id>-part-<n>`: a plan run again adds none
 *    twice), its data marked `step: encode`, and the job moved to waiting-children;
 * 2. encode: once every part has completed BullMQ puts the job back in the queue; any worker
 *    takes it, writes the MP4 (video-encode.ts) and records the success.
 * The job holds no lock while its parts run (waiting-children), so nothing of it can stall then;
 * each part is a job of its own, with its own lock, stalled recovery and retries. Its state's
 * `attempt` is the planning run's: the parts and the encode step record without moving it.
 */
export function createVideoProcessor(deps: VideoProcessorDeps): Processor<GenerationJob> {
  const { store, logger } = deps;
  return async (job: Job<GenerationJob>, token?: string, signal?: AbortSignal) => {
    const id = job.id!;
    const data = await parseJobData(job, generationJobSchema, 'video', { store, resultTtlSeconds: deps.resultTtlSeconds });
    const output = data.output;
    if (!output) {
      await store.failed(id, ERROR_CODES.INVALID_JOB, 'The job data is not a valid video job', deps.resultTtlSeconds);
      throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, 'A video job without output'));
    }
    const abort = new AbortController();
    signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });

    let attempt: number;
    if (data.step === 'encode') {
      const state = await store.get(id);
      if (!state || state.status !== 'running') {
        // canceled or failed while its parts ran: the parts' frames go, nothing is recorded
        await deps.results.deletePrefix(`${id}/parts/`).catch(() => undefined);
        await store.forgetFrames(id).catch(() => undefined);
        logger.info({ jobId: id, status: state?.status ?? 'expired' }, 'video not encoded: the job ended while its parts ran');
        return { finished: state?.status ?? 'expired' };
      }
      attempt = state.attempt;
    } else {
      attempt = Math.max(1, job.attemptsStarted);
      const started = await store.started(id, attempt);
      if (!started.applied) {
        const state = started.reason === 'status' ? await store.get(id) : null;
        if (state && TERMINAL_STATUSES.has(state.status)) return { finished: state.status };
        throw new UnrecoverableError(ERROR_CODES.JOB_FINISHED);
      }
    }
    const log = logger.child({ jobId: id, attempt, step: data.step ?? 'plan' });
    try {
      if (data.step === 'encode') return await encodeVideo(deps, job, data, output, attempt, abort.signal, log);
      log.info('video started');
      const plan = await planFrames(deps, data, output, attempt, abort.signal);
      const recorded = await store.framesStarted(id, plan.directions.length, attempt);
      if (!recorded.applied) return { finished: 'elsewhere' };
      await deps.queue.addBulk(partJobs(deps, job, data, plan));
      await job.updateData({ ...data, step: 'encode' });
      log.info({ frames: plan.directions.length }, 'video parts queued');
      // Waits for its parts (false: every part is done already, as after a plan run again)
      if (token === undefined) throw new Error('A video job needs its lock token to wait for its parts');
      if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
      return await encodeVideo(deps, job, { ...data, step: 'encode' }, output, attempt, abort.signal, log);
    } catch (error) {
      if (error instanceof WaitingChildrenError || error instanceof AttemptLostError) throw error;
      if (abort.signal.aborted) {
        if (abort.signal.reason === LOCK_LOST) throw new AttemptLostError(`Attempt ${attempt} of video ${id} lost its lock`);
        await store.canceled(id, deps.resultTtlSeconds, attempt);
        log.info('video canceled');
        throw new UnrecoverableError('CANCELED');
      }
      // a retried encode finds the video running: only a plan goes back to `job:queued`
      return recordRunFailure(error, { job, id, attempt, store, resultTtlSeconds: deps.resultTtlSeconds, log, what: 'video', action: 'make the video', requeue: data.step !== 'encode' });
    }
  };
}

/** Each frame's condition: a sound's windows embedded and smoothed, or a morph's path between the inputs. */
async function planFrames(deps: VideoProcessorDeps, data: GenerationJob, output: JobOutput, attempt: number, signal: AbortSignal): Promise<FramePlan> {
  const { pipeline, store } = deps;
  const id = data.id;
  const inputs = await localInputs(data.inputs, deps.uploads, deps.scratchDir, `${id}-${attempt}`);
  try {
    if (output.type === 'morph') {
      const embedded = await pipeline.embed(inputs.items, signal);
      const stops = embedded.vectors.filter((_, i) => data.inputs[i]!.weight !== 0);
      return { directions: morphFrameDirections(stops, videoFrameCount(output.durationSec, output.fps)), conditionWeight: 1, fixed: [] };
    }
    if (!pipeline.embedSound) throw new Error('This pipeline cannot read a sound in windows');
    const reporter = new ProgressReporter(deps.progressIntervalMs, () => 0, Date.now());
    const onWindow = (step: number, steps: number) => {
      const update = reporter.report({ stage: 'embed', step, steps }, Date.now());
      if (update) void store.progress(id, update, attempt).catch(() => undefined);
    };
    const sound = await pipeline.embedSound(inputs.items[output.sound]!, { windowSec: output.windowSec, hopSec: output.hopSec }, signal, onWindow);
    checkVideoLength(sound.durationSec, output, deps.video);
    const times = frameTimes(sound.durationSec, output.fps);
    return {
      directions: soundFrameDirections(sound, output.hopSec, output.smoothingSec, times),
      conditionWeight: data.inputs[output.sound]!.weight,
      fixed: data.inputs.filter((_, i) => i !== output.sound),
    };
  } finally {
    await inputs.release();
  }
}

/** The parts of a video as BullMQ children of its job (ids of their own: a plan run again adds none twice). */
function partJobs(deps: VideoProcessorDeps, job: Job<GenerationJob>, data: GenerationJob, plan: FramePlan) {
  const id = job.id!;
  return frameParts(plan.directions.length, deps.video.framesPerPart).map(({ part, start, end }) => {
    const partData: VideoPartJob = {
      videoId: id,
      part,
      totalFrames: plan.directions.length,
      frames: plan.directions.slice(start, end).map((direction, k) => ({ index: start + k, direction: Array.from(direction) })),
      conditionWeight: plan.conditionWeight,
      inputs: plan.fixed,
      options: data.options,
    };
    return {
      name: VIDEO_PART_JOB_NAME,
      data: partData,
      opts: {
        jobId: `${id}-part-${part}`,
        parent: { id, queue: job.queueQualifiedName },
        // a part that fails for good fails the video (its state is recorded by the part)
        failParentOnFailure: true,
        priority: QUEUE_PRIORITY[data.options.priority],
        attempts: deps.partAttempts,
        backoff: { type: 'exponential' as const, delay: 1000 },
        removeOnComplete: { age: deps.resultTtlSeconds },
        removeOnFail: { age: deps.resultTtlSeconds },
      },
    };
  });
}
