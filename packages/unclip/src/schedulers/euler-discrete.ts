import { sigmasFromAlphasCumprod } from './noise-schedule.js';
import { npInterpOnIndex } from './numpy-compat.js';
import { addNoiseByRow, checkInferenceSteps, checkSameLength, notReady, type Scheduler, type StepResult, TrainedSchedule } from './scheduler.js';
import { DIFFUSERS_COMMON_DEFAULTS, unsupported, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';
import { indexForTimestep, StepIndex } from './step-index.js';
import { spacedTimesteps } from './timestep-spacing.js';

const f32 = Math.fround;

/** diffusers EulerDiscreteScheduler defaults (timestep_spacing "linspace"). */
const EULER_DEFAULTS: SchedulerConfig = { ...DIFFUSERS_COMMON_DEFAULTS, timestepSpacing: 'linspace' };

/**
 * Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022, "Elucidating
 * the Design Space of Diffusion-Based Generative Models", Algorithm 2 without churn):
 * x_{i+1} = x_i + (sigma_{i+1} - sigma_i) d_i, d_i = (x_i - x_0) / sigma_i.
 * Matches diffusers scheduling_euler_discrete.py (interpolation "linear", final sigma 0,
 * s_churn 0). Timesteps may be fractional (spacing "linspace").
 */
export class EulerDiscreteScheduler extends TrainedSchedule implements Scheduler {
  readonly name = 'euler' as const;
  readonly usesStepNoise = false;
  /** sigma_t for every training timestep [T] (float32 values). */
  readonly trainSigmas: Float64Array;
  /** The inference sigmas [n + 1], ending with 0 (float32 values). */
  sigmas: number[] = [];
  private readonly stepIndex = new StepIndex();

  constructor(config?: SchedulerConfigInput, name = 'scheduler') {
    super(config, EULER_DEFAULTS, name);
    if (this.config.clipSample) throw unsupported(`${name}.clipSample`, 'the euler scheduler does not clip');
    this.trainSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  }

  /**
   * Std of the initial noise: sigma_max, or sqrt(sigma_max^2 + 1) for "leading" spacing (as
   * diffusers; before setTimesteps, over the training sigmas).
   */
  get initNoiseSigma(): number {
    const max = this.sigmas.length > 0 ? Math.max(...this.sigmas) : Math.max(...this.trainSigmas);
    return this.config.timestepSpacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps, this.name);
    const { timestepSpacing, numTrainTimesteps, stepsOffset } = this.config;
    // float32 timesteps; linspace keeps fractions
    this.timesteps = spacedTimesteps(timestepSpacing, numTrainTimesteps, n, stepsOffset, false).map(f32);
    // sigma(t) by linear interpolation of the training sigmas, then a final 0; stored as float32
    this.sigmas = [...this.timesteps.map((t) => f32(npInterpOnIndex(t, this.trainSigmas))), 0];
    this.stepIndex.reset();
  }

  /** Model input x / sqrt(sigma^2 + 1) (Karras et al. c_in). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    if (this.timesteps.length === 0) throw notReady(this.name);
    const sigma = this.sigmas[this.stepIndex.current(this.timesteps, t, this.name)]!;
    const scale = 1 / Math.sqrt(sigma * sigma + 1);
    return sample.map((x) => x * scale);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    if (this.timesteps.length === 0) throw notReady(this.name);
    checkSameLength(modelOutput, sample);
    // 1. sigma_i and sigma_{i+1}
    const i = this.stepIndex.current(this.timesteps, t, this.name);
    const sigma = this.sigmas[i]!;
    const sigmaNext = this.sigmas[i + 1]!;
    // 2. x_0 from the model output (sample space is x_t / alpha_t = x_0 + sigma eps)
    let x0Sample: number;
    let x0Output: number;
    switch (this.config.predictionType) {
      case 'epsilon':
        x0Sample = 1; x0Output = -sigma; // x_0 = x - sigma eps
        break;
      case 'v_prediction':
        // x_0 = -sigma / sqrt(sigma^2 + 1) v + x / (sigma^2 + 1)
        x0Sample = 1 / (sigma * sigma + 1); x0Output = -sigma / Math.sqrt(sigma * sigma + 1);
        break;
      case 'sample':
        x0Sample = 0; x0Output = 1;
        break;
    }
    // 3. d = (x - x_0) / sigma ; 4. x_next = x + d (sigma_next - sigma)
    const dt = sigmaNext - sigma;
    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      const x0 = x0Sample * sample[k]! + x0Output * modelOutput[k]!;
      predOriginalSample[k] = x0;
      prevSample[k] = sample[k]! + ((sample[k]! - x0) / sigma) * dt;
    }
    this.stepIndex.advance();
    return { prevSample, predOriginalSample };
  }

  /** x = x_0 + sigma(t) eps, in the scheduler's sigma space. */
  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array {
    if (this.timesteps.length === 0) throw notReady(this.name);
    return addNoiseByRow(originalSamples, noise, timestep, (t) => [1, this.sigmas[indexForTimestep(this.timesteps, t, this.name)]!]);
  }

}
