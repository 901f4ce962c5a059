import { UnclipError } from '../unclip-error.js';
import { clampInPlace, mix, x0AndEpsilon } from './noise-schedule.js';
import {
  addNoiseDdpm, alphaProdAt, checkInferenceSteps, checkSameLength, notReady,
  type Scheduler, type StepOptions, type StepResult,
  TrainedSchedule,
} from './scheduler.js';
import { DIFFUSERS_COMMON_DEFAULTS, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';
import { spacedTimesteps } from './timestep-spacing.js';

/** diffusers DDPMScheduler defaults (clip_sample=True). */
const DDPM_DEFAULTS: SchedulerConfig = { ...DIFFUSERS_COMMON_DEFAULTS, clipSample: true };

/**
 * Ancestral DDPM sampling (Ho et al. 2020, "Denoising Diffusion Probabilistic Models"),
 * variance "fixed_small"; matches diffusers scheduling_ddpm.py.
 */
export class DdpmScheduler extends TrainedSchedule implements Scheduler {
  readonly name = 'ddpm' as const;
  readonly initNoiseSigma = 1;
  readonly usesStepNoise = true;

  constructor(config?: SchedulerConfigInput, name = 'scheduler') {
    super(config, DDPM_DEFAULTS, name);
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps, this.name);
    const { timestepSpacing, numTrainTimesteps, stepsOffset } = this.config;
    this.timesteps = spacedTimesteps(timestepSpacing, numTrainTimesteps, n, stepsOffset);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** The timestep after t in the schedule, or -1 after the last (diffusers `previous_timestep`). */
  previousTimestep(t: number): number {
    const index = this.timesteps.indexOf(t);
    if (index < 0) {
      throw new UnclipError('SCHEDULER_TIMESTEP_UNKNOWN', `Timestep ${t} is not one of the ddpm scheduler's timesteps`);
    }
    return this.timesteps[index + 1] ?? -1;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    if (this.timesteps.length === 0) throw notReady(this.name);
    checkSameLength(modelOutput, sample);
    // 1. alphas and betas
    const prevT = this.previousTimestep(t);
    const alphaProdT = alphaProdAt(this.alphasCumprod, t, this.name);
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : 1;
    const betaProdT = 1 - alphaProdT;
    const betaProdPrev = 1 - alphaProdPrev;
    const currentAlpha = alphaProdT / alphaProdPrev;
    const currentBeta = 1 - currentAlpha;

    // 2. predicted x_0 (eq. 15), 3. clipped
    const predOriginalSample = mix(x0AndEpsilon(this.config.predictionType, alphaProdT).x0, sample, modelOutput);
    if (this.config.clipSample) clampInPlace(predOriginalSample, this.config.clipSampleRange);

    // 4. posterior mean coefficients (eq. 7):
    //    mu = sqrt(a_prev) beta_t / (1 - a_t) x_0 + sqrt(alpha_t) (1 - a_prev) / (1 - a_t) x_t
    const x0Coeff = (Math.sqrt(alphaProdPrev) * currentBeta) / betaProdT;
    const sampleCoeff = (Math.sqrt(currentAlpha) * betaProdPrev) / betaProdT;

    // 6. noise: sigma_t^2 = beta~_t = (1 - a_prev) / (1 - a_t) beta_t (eq. 7), clamped at 1e-20
    let noiseStd = 0;
    if (t > 0) {
      noiseStd = Math.sqrt(Math.max((betaProdPrev / betaProdT) * currentBeta, 1e-20));
      if (!options.noise) throw noiseRequired(this.name);
      checkSameLength(options.noise, sample);
    }
    // 5. x_{t-1} = mu + sigma_t z
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const mean = x0Coeff * predOriginalSample[i]! + sampleCoeff * sample[i]!;
      prevSample[i] = noiseStd === 0 ? mean : mean + noiseStd * options.noise![i]!;
    }
    return { prevSample, predOriginalSample };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array {
    return addNoiseDdpm(this.alphasCumprod, originalSamples, noise, timestep);
  }
}

export function noiseRequired(name: string): UnclipError {
  return new UnclipError('SCHEDULER_NOISE_REQUIRED', `The ${name} scheduler's step needs options.noise (standard normal, the sample's size)`);
}
