import { classifierFreeGuidance } from '../guidance.js';
import type { Scheduler, StepResult } from '../schedulers/scheduler.js';
import { UnclipError } from '../unclip-error.js';

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
   * may wrap it in one tensor for the whole run.
   */
  runModel: (modelInput: Float32Array, timestep: number, guided: boolean) => Promise<Float32Array>;
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
  const guided = guidanceScale > 1;
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
    const output = await options.runModel(batched ?? modelInput, t, guided);
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
  if (signal?.aborted) {
    const error = new UnclipError('SAMPLING_ABORTED', `Sampling (${stage}) was cancelled before step ${stepIndex + 1}`);
    (error as Error & { cause?: unknown }).cause = signal.reason;
    throw error;
  }
}
