import { UnclipError } from '../unclip-error.js';
import { mix, x0AndEpsilon } from './noise-schedule.js';
import {
  addNoiseDdpm, alphaProdAt, checkInferenceSteps, checkSameLength, notReady,
  type Scheduler, type StepResult,
  TrainedSchedule,
} from './scheduler.js';
import { DIFFUSERS_COMMON_DEFAULTS, unsupported, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';
import { spacedTimesteps } from './timestep-spacing.js';

export interface PndmOptions {
  /** Skip the Runge-Kutta warm-up and start with linear multistep (Stable Diffusion / unCLIP 2.1 use true). */
  skipPrkSteps?: boolean;
}

const PNDM_ORDER = 4;

/**
 * Pseudo numerical methods (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on
 * Manifolds"): PRK warm-up then PLMS (linear multistep, eq. 12) over the transfer
 * function phi of eq. 9. Matches diffusers scheduling_pndm.py.
 */
export class PndmScheduler extends TrainedSchedule implements Scheduler {
  readonly name = 'pndm' as const;
  readonly finalAlphaCumprod: number;
  readonly initNoiseSigma = 1;
  readonly usesStepNoise = false;
  readonly skipPrkSteps: boolean;
  private prkTimesteps: number[] = [];
  private numInferenceSteps = 0;
  private counter = 0;
  private ets: Float32Array[] = [];
  private curSample: Float32Array | null = null;
  private curModelOutput: Float64Array | null = null;

  constructor(config?: SchedulerConfigInput, options: PndmOptions = {}, name = 'scheduler') {
    super(config, DIFFUSERS_COMMON_DEFAULTS, name);
    if (this.config.predictionType === 'sample') {
      throw unsupported(`${name}.predictionType`, 'the pndm scheduler takes "epsilon" or "v_prediction", not "sample"');
    }
    if (this.config.clipSample) throw unsupported(`${name}.clipSample`, 'the pndm scheduler does not clip');
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.skipPrkSteps = options.skipPrkSteps ?? true;
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps, this.name);
    const { timestepSpacing, numTrainTimesteps: T, stepsOffset } = this.config;
    // diffusers' `_timesteps`: ascending
    const base = spacedTimesteps(timestepSpacing, T, n, stepsOffset).reverse();
    if (this.skipPrkSteps) {
      // PLMS from the start; the second-lowest timestep repeats (diffusers' warm-up trick)
      this.prkTimesteps = [];
      this.timesteps = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    } else {
      if (n < PNDM_ORDER) {
        throw new UnclipError('INVALID_OPTION', `Expected at least ${PNDM_ORDER} steps for pndm with Runge-Kutta warm-up but received ${n}`);
      }
      // 4 top timesteps, each with its midpoint t + T // n // 2, as 3 RK4 steps of 4 evaluations
      const half = Math.floor(Math.floor(T / n) / 2);
      const pairs = base.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]).slice(0, -1);
      this.prkTimesteps = pairs.flatMap((t) => [t, t]).slice(1, -1).reverse();
      this.timesteps = [...this.prkTimesteps, ...base.slice(0, -3).reverse()];
    }
    this.numInferenceSteps = n;
    this.counter = 0;
    this.ets = [];
    this.curSample = null;
    this.curModelOutput = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    if (this.numInferenceSteps === 0) throw notReady(this.name);
    checkSameLength(modelOutput, sample);
    // diffusers returns no x_0 for PNDM: the preview estimate comes from this evaluation
    const predOriginalSample = mix(
      x0AndEpsilon(this.config.predictionType, alphaProdAt(this.alphasCumprod, t, this.name)).x0,
      sample,
      modelOutput,
    );
    const prevSample = this.counter < this.prkTimesteps.length && !this.skipPrkSteps
      ? this.stepPrk(modelOutput, t, sample)
      : this.stepPlms(modelOutput, t, sample);
    return { prevSample, predOriginalSample };
  }

  /** Runge-Kutta (RK4) warm-up: eps' = (e1 + 2 e2 + 2 e3 + e4) / 6 over 4 evaluations. */
  private stepPrk(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    const stride = Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    const prevT = t - (this.counter % 2 ? 0 : Math.floor(stride / 2));
    const timestep = this.prkTimesteps[Math.floor(this.counter / 4) * 4]!;
    const phase = this.counter % 4;
    let output = modelOutput;
    if (phase === 0) {
      this.curModelOutput = accumulate(null, modelOutput, 1 / 6);
      this.ets.push(modelOutput);
      this.curSample = sample;
    } else if (phase === 1 || phase === 2) {
      this.curModelOutput = accumulate(this.curModelOutput, modelOutput, 1 / 3);
    } else {
      output = Float32Array.from(accumulate(this.curModelOutput, modelOutput, 1 / 6));
      this.curModelOutput = null;
    }
    const prevSample = this.prevSample(this.curSample ?? sample, timestep, prevT, output);
    this.counter += 1;
    return prevSample;
  }

  /** Linear multistep (eq. 12): eps' = (55 e_t - 59 e_{t-1} + 37 e_{t-2} - 9 e_{t-3}) / 24, lower orders first. */
  private stepPlms(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    if (!this.skipPrkSteps && this.ets.length < 3) {
      throw new UnclipError('SCHEDULER_NOT_READY', 'The pndm scheduler runs PLMS only after its Runge-Kutta warm-up steps');
    }
    const stride = Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    let timestep = t;
    let prevT = t - stride;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(modelOutput);
    } else {
      // second evaluation at the same t: step again from the first sample with the mean eps
      prevT = t;
      timestep = t + stride;
    }
    const e = this.ets;
    const n = e.length;
    let output: Float32Array;
    let from = sample;
    if (n === 1 && this.counter === 0) {
      output = modelOutput;
      this.curSample = sample;
    } else if (n === 1 && this.counter === 1) {
      output = combine([[modelOutput, 0.5], [e[0]!, 0.5]]);
      from = this.curSample!;
      this.curSample = null;
    } else if (n === 2) {
      output = combine([[e[1]!, 3 / 2], [e[0]!, -1 / 2]]);
    } else if (n === 3) {
      output = combine([[e[2]!, 23 / 12], [e[1]!, -16 / 12], [e[0]!, 5 / 12]]);
    } else {
      output = combine([[e[3]!, 55 / 24], [e[2]!, -59 / 24], [e[1]!, 37 / 24], [e[0]!, -9 / 24]]);
    }
    const prevSample = this.prevSample(from, timestep, prevT, output);
    this.counter += 1;
    return prevSample;
  }

  /**
   * The transfer phi(x_t, eps, t, t - delta) of eq. 9:
   * x_prev = sqrt(a_prev / a_t) x_t - (a_prev - a_t) eps / (a_t sqrt(1 - a_prev) + sqrt(a_t (1 - a_t) a_prev)).
   */
  private prevSample(sample: Float32Array, t: number, prevT: number, modelOutput: Float32Array): Float32Array {
    const alphaProdT = alphaProdAt(this.alphasCumprod, t, this.name);
    const alphaProdPrev = prevT >= 0 ? alphaProdAt(this.alphasCumprod, prevT, this.name) : this.finalAlphaCumprod;
    const betaProdT = 1 - alphaProdT;
    const betaProdPrev = 1 - alphaProdPrev;
    // v-prediction -> eps = sqrt(a_t) v + sqrt(1 - a_t) x_t
    const eps = x0AndEpsilon(this.config.predictionType, alphaProdT).eps;
    const sampleCoeff = Math.sqrt(alphaProdPrev / alphaProdT);
    const denominator = alphaProdT * Math.sqrt(betaProdPrev) + Math.sqrt(alphaProdT * betaProdT * alphaProdPrev);
    const epsCoeff = (alphaProdPrev - alphaProdT) / denominator;
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const epsilon = eps.sample * sample[i]! + eps.output * modelOutput[i]!;
      out[i] = sampleCoeff * sample[i]! - epsCoeff * epsilon;
    }
    return out;
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array {
    return addNoiseDdpm(this.alphasCumprod, originalSamples, noise, timestep);
  }
}

function accumulate(sum: Float64Array | null, x: Float32Array, weight: number): Float64Array {
  const out = sum ?? new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = out[i]! + weight * x[i]!;
  return out;
}

function combine(terms: Array<[Float32Array, number]>): Float32Array {
  const first = terms[0]![0];
  const out = new Float32Array(first.length);
  for (let i = 0; i < out.length; i++) {
    let value = 0;
    for (const [x, w] of terms) value += w * x[i]!;
    out[i] = value;
  }
  return out;
}
