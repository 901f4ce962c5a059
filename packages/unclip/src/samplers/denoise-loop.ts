import { isGuided } from '@a2i/protocol';
import { createScheduler, type SchedulerOptions } from '../schedulers/create-scheduler.js';
import type { Scheduler, SchedulerName, StepResult } from '../schedulers/scheduler.js';
import type { SchedulerConfigInput } from '../schedulers/scheduler-config.js';
import { seededNormalRows } from '../seeded-noise.js';
import { UnclipError } from '../unclip-error.js';
import { requireSeeds } from './sampling-options.js';

export type SamplingStage = 'prior' | 'decode';

/** Reported after every denoising step. */
export interface StepProgress {
  stage: SamplingStage;
  /** 1-based number of the step just finished. */
  step: number;
  steps: number;
  timestep: number;
}

export interface DenoiseOptions {
  stage: SamplingStage;
  scheduler: Scheduler;
  /** x_T [rows, ...item] already scaled by the scheduler's initNoiseSigma. */
  initialSample: Float32Array;
  /**
   * Runs the model once on a batch: rows [uncond; cond] when `guided`, else the conditional rows.
   * When guided, `modelInput` is the same buffer at every step (refilled in place), so a caller
   * may wrap it in one tensor for the whole run. `stepsLeft` counts this step (a shared batch
   * with a row cap serves the fewest first).
   */
  runModel: (modelInput: Float32Array, timestep: number, guided: boolean, stepsLeft: number) => Promise<Float32Array>;
  /** Classifier-free guidance is on when > 1 (diffusers: `do_classifier_free_guidance`). */
  guidanceScale: number;
  /** Standard-normal noise for the step of index k (0-based) when the scheduler needs it. */
  stepNoise: (stepIndex: number) => Float32Array;
  signal?: AbortSignal;
  onStep?: (progress: StepProgress, result: StepResult) => void;
}

/**
 * The denoising loop shared by the prior and the decoder: for each scheduled t,
 * scale the input, run the model ONCE over [uncond; cond] rows (guidance on) or the
 * conditional rows, combine u + g (c - u), step. The signal is checked before every step,
 * so a cancel during step k stops before step k + 1 starts.
 */
export async function denoise(options: DenoiseOptions): Promise<{ sample: Float32Array; predOriginalSample: Float32Array | null }> {
  const { scheduler, guidanceScale, signal, stage } = options;
  const guided = isGuided(guidanceScale);
  const steps = scheduler.timesteps.length;
  let sample = options.initialSample;
  let predOriginalSample: Float32Array | null = null;
  // [x; x] for the guided call, allocated once: the step loop makes no tensor-sized garbage of its own
  const batched = guided ? new Float32Array(sample.length * 2) : null;
  for (const [k, t] of scheduler.timesteps.entries()) {
    throwIfAborted(signal, stage, k);
    // 1. model input (Euler divides by sqrt(sigma^2 + 1)); both halves of the batch
    const modelInput = scheduler.scaleModelInput(sample, t);
    if (batched) {
      batched.set(modelInput, 0);
      batched.set(modelInput, modelInput.length);
    }
    const output = await options.runModel(batched ?? modelInput, t, guided, steps - k);
    // 2. classifier-free guidance
    const prediction = guided ? classifierFreeGuidance(output, guidanceScale) : output;
    // 3. x_{t-1}
    const result = scheduler.step(prediction, t, sample, scheduler.usesStepNoise ? { noise: options.stepNoise(k) } : {});
    sample = result.prevSample;
    predOriginalSample = result.predOriginalSample;
    options.onStep?.({ stage, step: k + 1, steps, timestep: t }, result);
  }
  throwIfAborted(signal, stage, steps);
  return { sample, predOriginalSample };
}

export function throwIfAborted(signal: AbortSignal | undefined, stage: SamplingStage, stepIndex: number): void {
  if (signal?.aborted) throw samplingAborted(`Sampling (${stage}) was cancelled before step ${stepIndex + 1}`, signal.reason);
}

/** SAMPLING_ABORTED, with the signal's reason as its cause. */
export function samplingAborted(message: string, reason: unknown): UnclipError {
  const error = new UnclipError('SAMPLING_ABORTED', message);
  (error as Error & { cause?: unknown }).cause = reason;
  return error;
}

// ---- Classifier-free guidance (was guidance.ts): combining the [uncond; cond] rows of one model call ----

/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6): out = u + g (c - u), where the model
 * ran once on a batch [uncond rows; cond rows] (diffusers: `noise_pred.chunk(2)`).
 * `batchedOutput` is [2B, ...item]; returns [B, ...item].
 */
export function classifierFreeGuidance(batchedOutput: Float32Array, guidanceScale: number): Float32Array {
  if (batchedOutput.length % 2 !== 0) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected an [uncond; cond] batch of even length but received ${batchedOutput.length} values`);
  }
  const half = batchedOutput.length / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = batchedOutput[i]!;
    out[i] = u + guidanceScale * (batchedOutput[half + i]! - u);
  }
  return out;
}

/** [x; x]: the sample twice, for one model call over the unconditional and conditional rows. */
export function duplicateBatch(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length * 2);
  out.set(x, 0);
  out.set(x, x.length);
  return out;
}

/** [uncond rows; cond rows]: the batch order of every CFG call (diffusers `torch.cat([negative, positive])`). */
export function stackUncondCond(unconditional: Float32Array, conditional: Float32Array): Float32Array {
  const out = new Float32Array(unconditional.length + conditional.length);
  out.set(unconditional, 0);
  out.set(conditional, unconditional.length);
  return out;
}

// ---- The loop's starting state (was seeded-schedule.ts): scheduler, x_T and per-step noise ----

/** The noise and scheduler choices every sampler's options carry. */
export interface SamplerNoiseOptions {
  seeds?: readonly number[];
  /** x_T's noise [B, rowLength] when given; else seeded N(0, I) rows from `seeds`. */
  initialNoise?: Float32Array;
  schedulerOptions?: SchedulerOptions;
}

/** What differs between the stages. */
export interface ScheduleStage {
  schedulerName: SchedulerName;
  steps: number;
  /** The manifest's training schedule; `configName` names its section in error messages. */
  config: SchedulerConfigInput | undefined;
  configName: string;
  rowLength: number;
  /** The noise domain (NOISE_DOMAINS) of x_T and of the per-step noise. */
  domain: number;
  /** What needs the initial noise, for the message when there are no seeds. */
  initialNoiseFor: string;
}

/** What `denoise` starts from: the scheduler set to `steps`, x_T, and the noise for step k. */
export interface SeededSchedule {
  scheduler: Scheduler;
  /** x_T = initNoiseSigma * noise. */
  initialSample: Float32Array;
  /** Seeded N(0, I) rows on lane k + 1 of the same seeds and domain as x_T (lane 0). */
  stepNoise: (stepIndex: number) => Float32Array;
}

/** The scheduler and noise of one sampling run (the prior's and the decoder's alike). */
export function seededSchedule(options: SamplerNoiseOptions, stage: ScheduleStage): SeededSchedule {
  const { seeds } = options;
  const { schedulerName, rowLength, domain } = stage;
  const scheduler = createScheduler(schedulerName, stage.config, options.schedulerOptions, stage.configName);
  scheduler.setTimesteps(stage.steps);
  const noise = options.initialNoise ?? seededNormalRows(requireSeeds(seeds, stage.initialNoiseFor), rowLength, { domain });
  return {
    scheduler,
    initialSample: noise.map((x) => x * scheduler.initNoiseSigma),
    stepNoise: (k) => seededNormalRows(requireSeeds(seeds, `the ${schedulerName} scheduler`), rowLength, { lane: k + 1, domain }),
  };
}
