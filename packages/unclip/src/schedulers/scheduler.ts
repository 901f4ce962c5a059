import type { SchedulerName } from '@a2i/protocol/scheduler-names';
import { UnclipError } from '../unclip-error.js';
import { makeNoiseSchedule } from './noise-schedule.js';
import { resolveSchedulerConfig, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';

// The names are the protocol's: requests, manifests and this package share one list.
export { SCHEDULER_NAMES, type SchedulerName } from '@a2i/protocol/scheduler-names';

/** One denoising step's result; both arrays have the sample's layout. */
export interface StepResult {
  /** x_{t-1}: the next model input. */
  prevSample: Float32Array;
  /** The model's estimate of the clean sample x_0 at this step (for previews). */
  predOriginalSample: Float32Array;
}

export interface StepOptions {
  /**
   * Standard-normal noise with the sample's layout, for the stochastic part of a step
   * (DDPM for t > 0; DDIM with eta > 0). Required when `usesStepNoise` is true.
   */
  noise?: Float32Array;
}

/**
 * A diffusers-style scheduler. Life: `setTimesteps(n)` -> for each t of `timesteps`:
 * `scaleModelInput` -> model -> `step` ; `addNoise(x0, noise, t)` runs the forward process.
 * Samples are flat Float32Arrays (any batch layout: the maths is elementwise, one t for all).
 */
export interface Scheduler {
  readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  /** alpha_bar_t for t in [0, T) (float32 values as diffusers stores them). */
  readonly alphasCumprod: Float64Array;
  /** The inference timesteps, in the order to run them; empty before `setTimesteps`. */
  readonly timesteps: readonly number[];
  /** Standard deviation of the initial noise (1 except Euler's). */
  readonly initNoiseSigma: number;
  /** True when `step` needs `options.noise`. */
  readonly usesStepNoise: boolean;
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult;
  /** Forward process q(x_t | x_0); `timestep` is one t for all, or one per batch row. */
  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array;
}

export function notReady(name: SchedulerName): UnclipError {
  return new UnclipError(
    'SCHEDULER_NOT_READY',
    `The ${name} scheduler has no timesteps: call setTimesteps(n) before step()`,
  );
}

export function checkSameLength(modelOutput: Float32Array, sample: Float32Array): void {
  if (modelOutput.length !== sample.length) {
    throw new UnclipError(
      'TENSOR_SIZE_MISMATCH',
      `Expected the model output to have the sample's ${sample.length} values but received ${modelOutput.length}`,
    );
  }
}

export function checkInferenceSteps(n: unknown, numTrainTimesteps: number, name: SchedulerName): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > numTrainTimesteps) {
    throw new UnclipError(
      'INVALID_OPTION',
      `Expected an integer in [1, ${numTrainTimesteps}] for ${name} numInferenceSteps but received ${String(n)}`,
    );
  }
  return n;
}

/** Row-wise values for a per-batch-row timestep: returns [rows, rowLength]. */
export function batchRows(length: number, rows: number, what: string): number {
  if (rows < 1 || length % rows !== 0) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected ${what} to split into ${rows} equal rows but it has ${length} values`);
  }
  return length / rows;
}

/**
 * out = a(t) x_0 + s(t) eps per row, one t per row or one for all: the shape every
 * scheduler's addNoise shares; `coefficients` gives (a, s) for a timestep.
 */
export function addNoiseByRow(
  originalSamples: Float32Array,
  noise: Float32Array,
  timestep: number | readonly number[],
  coefficients: (t: number) => readonly [number, number],
): Float32Array {
  if (noise.length !== originalSamples.length) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected noise of ${originalSamples.length} values but received ${noise.length}`);
  }
  const ts = typeof timestep === 'number' ? [timestep] : timestep;
  const rowLength = batchRows(originalSamples.length, ts.length, 'the samples');
  const out = new Float32Array(originalSamples.length);
  ts.forEach((t, row) => {
    const [a, s] = coefficients(t);
    for (let i = row * rowLength; i < (row + 1) * rowLength; i++) out[i] = a * originalSamples[i]! + s * noise[i]!;
  });
  return out;
}

/**
 * Forward diffusion in the DDPM parameterisation (Ho et al. 2020, eq. 4):
 * x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, one t per row or one for all.
 */
export function addNoiseDdpm(
  alphasCumprod: Float64Array,
  originalSamples: Float32Array,
  noise: Float32Array,
  timestep: number | readonly number[],
): Float32Array {
  return addNoiseByRow(originalSamples, noise, timestep, (t) => {
    const alphaProd = alphasCumprod[t];
    if (!Number.isInteger(t) || alphaProd === undefined) {
      throw new UnclipError('INVALID_OPTION', `Expected an integer timestep in [0, ${alphasCumprod.length - 1}] but received ${t}`);
    }
    return [Math.sqrt(alphaProd), Math.sqrt(1 - alphaProd)];
  });
}

/** alpha_bar_t for an integer training timestep, refusing anything else by value. */
export function alphaProdAt(alphasCumprod: Float64Array, t: number, name: SchedulerName): number {
  const value = Number.isInteger(t) ? alphasCumprod[t] : undefined;
  if (value === undefined) {
    throw new UnclipError(
      'SCHEDULER_TIMESTEP_UNKNOWN',
      `Expected an integer timestep in [0, ${alphasCumprod.length - 1}] for the ${name} scheduler but received ${t}`,
    );
  }
  return value;
}

/**
 * What every scheduler starts from (diffusers' SchedulerMixin + `register_to_config`): its
 * config resolved over the scheduler's defaults, and alpha_bar_t of the training noise
 * schedule. `timesteps` stays empty until `setTimesteps`.
 */
export abstract class TrainedSchedule {
  readonly config: SchedulerConfig;
  /** alpha_bar_t for t in [0, T) (float32 values as diffusers stores them). */
  readonly alphasCumprod: Float64Array;
  timesteps: number[] = [];

  protected constructor(config: SchedulerConfigInput | undefined, defaults: SchedulerConfig, name: string) {
    this.config = resolveSchedulerConfig(config, defaults, name);
    this.alphasCumprod = makeNoiseSchedule(this.config).alphasCumprod;
  }
}
