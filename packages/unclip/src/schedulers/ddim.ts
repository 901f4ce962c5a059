import { unclipGuards } from '../unclip-error.js';
import { noiseRequired } from './ddpm.js';
import { clampInPlace, mix, x0AndEpsilon } from './noise-schedule.js';
import {
  addNoiseDdpm, alphaProdAt, checkInferenceSteps, checkSameLength, notReady,
  type Scheduler, type StepOptions, type StepResult,
  TrainedSchedule,
} from './scheduler.js';
import { DIFFUSERS_COMMON_DEFAULTS, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';
import { spacedTimesteps } from './timestep-spacing.js';

const { expectNumberInRange } = unclipGuards;

/** diffusers DDIMScheduler defaults (clip_sample=True, set_alpha_to_one=True). */
const DDIM_DEFAULTS: SchedulerConfig = { ...DIFFUSERS_COMMON_DEFAULTS, clipSample: true, setAlphaToOne: true };

export interface DdimOptions {
  /** eta in [0, 1]: 0 is deterministic DDIM, 1 is DDPM-like ancestral sampling (Song et al., eq. 16). */
  eta?: number;
}

/**
 * DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models"); matches diffusers
 * scheduling_ddim.py, including its previous timestep t - T // n for every spacing.
 */
export class DdimScheduler extends TrainedSchedule implements Scheduler {
  readonly name = 'ddim' as const;
  readonly finalAlphaCumprod: number;
  readonly initNoiseSigma = 1;
  readonly eta: number;
  private numInferenceSteps = 0;

  constructor(config?: SchedulerConfigInput, options: DdimOptions = {}, name = 'scheduler') {
    super(config, DDIM_DEFAULTS, name);
    // alpha_bar before the first training step: 1, or alpha_bar_0 (set_alpha_to_one=False)
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.eta = expectNumberInRange(options.eta ?? 0, 'ddim eta', 0, 1);
  }

  get usesStepNoise(): boolean {
    return this.eta > 0;
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps, this.name);
    const { timestepSpacing, numTrainTimesteps, stepsOffset } = this.config;
    this.numInferenceSteps = n;
    this.timesteps = spacedTimesteps(timestepSpacing, numTrainTimesteps, n, stepsOffset);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === 0) throw notReady(this.name);
    checkSameLength(modelOutput, sample);
    // 1. previous timestep t - T // n
    const prevT = t - Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    // 2. alphas and betas
    const alphaProdT = alphaProdAt(this.alphasCumprod, t, this.name);
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const betaProdT = 1 - alphaProdT;
    const betaProdPrev = 1 - alphaProdPrev;

    // 3. predicted x_0 and eps ("predicted x_0" of eq. 12); 4. clip x_0 (eps stays unclipped)
    const { x0, eps } = x0AndEpsilon(this.config.predictionType, alphaProdT);
    const predOriginalSample = mix(x0, sample, modelOutput);
    if (this.config.clipSample) clampInPlace(predOriginalSample, this.config.clipSampleRange);

    // 5. sigma_t(eta) = eta sqrt((1 - a_prev) / (1 - a_t)) sqrt(1 - a_t / a_prev) (eq. 16)
    const variance = (betaProdPrev / betaProdT) * (1 - alphaProdT / alphaProdPrev);
    const stdDev = this.eta * Math.sqrt(variance);
    if (this.eta > 0) {
      if (!options.noise) throw noiseRequired(this.name);
      checkSameLength(options.noise, sample);
    }

    // 6. "direction pointing to x_t" sqrt(1 - a_prev - sigma_t^2) eps (eq. 12)
    const directionCoeff = Math.sqrt(1 - alphaProdPrev - stdDev * stdDev);
    // 7. x_{t-1} = sqrt(a_prev) x_0 + direction + sigma_t z (eq. 12)
    const sqrtAlphaPrev = Math.sqrt(alphaProdPrev);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const epsilon = eps.sample * sample[i]! + eps.output * modelOutput[i]!;
      const value = sqrtAlphaPrev * predOriginalSample[i]! + directionCoeff * epsilon;
      prevSample[i] = this.eta > 0 ? value + stdDev * options.noise![i]! : value;
    }
    return { prevSample, predOriginalSample };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array {
    return addNoiseDdpm(this.alphasCumprod, originalSamples, noise, timestep);
  }
}
