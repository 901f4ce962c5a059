import { sigmasFromAlphasCumprod } from './noise-schedule.js';
import { addNoiseByRow, checkInferenceSteps, checkSameLength, notReady, type Scheduler, type StepResult, TrainedSchedule } from './scheduler.js';
import { DIFFUSERS_COMMON_DEFAULTS, unsupported, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';
import { indexForTimestep, StepIndex } from './step-index.js';
import { dpmSolverTimesteps } from './timestep-spacing.js';

/** diffusers DPMSolverMultistepScheduler defaults (timestep_spacing "linspace"). */
const DPM_DEFAULTS: SchedulerConfig = { ...DIFFUSERS_COMMON_DEFAULTS, timestepSpacing: 'linspace' };

export interface DpmSolverOptions {
  /** 1 or 2 (2M, the default). */
  solverOrder?: number;
}

/** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda_t = log(alpha_t / sigma_t). */
function alphaSigmaLambda(sigma: number): { alpha: number; sigmaT: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const sigmaT = sigma * alpha;
  return { alpha, sigmaT, lambda: Math.log(alpha) - Math.log(sigmaT) };
}

/**
 * Multistep DPM-Solver++ in data prediction (Lu et al. 2022, "DPM-Solver++: Fast Solver for
 * Guided Sampling of Diffusion Probabilistic Models"): first order (eq. 8, = DDIM) and the 2M
 * midpoint update (Algorithm 2). Matches diffusers scheduling_dpmsolver_multistep.py with
 * algorithm_type "dpmsolver++", solver_type "midpoint", final_sigmas_type "zero".
 */
export class DpmSolverMultistepScheduler extends TrainedSchedule implements Scheduler {
  readonly name = 'dpmsolver++' as const;
  readonly initNoiseSigma = 1;
  readonly usesStepNoise = false;
  readonly solverOrder: number;
  /** sigma_t for every training timestep [T] (float32 values). */
  readonly trainSigmas: Float64Array;
  /** The inference sigmas [n + 1], ending with 0 (float32 values). */
  sigmas: number[] = [];
  private modelOutputs: Array<Float32Array | null> = [];
  private lowerOrderNums = 0;
  private readonly stepIndex = new StepIndex();

  constructor(config?: SchedulerConfigInput, options: DpmSolverOptions = {}, name = 'scheduler') {
    super(config, DPM_DEFAULTS, name);
    if (this.config.clipSample) throw unsupported(`${name}.clipSample`, 'the dpmsolver++ scheduler does not clip');
    const order = options.solverOrder ?? 2;
    if (order !== 1 && order !== 2) throw unsupported('dpmsolver++ solverOrder', `orders 1 and 2 are implemented, not ${String(order)}`);
    this.solverOrder = order;
    this.trainSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps, this.name);
    const { timestepSpacing, numTrainTimesteps, stepsOffset } = this.config;
    this.timesteps = dpmSolverTimesteps(timestepSpacing, numTrainTimesteps, n, stepsOffset);
    const lastTrain = this.trainSigmas.length - 1;
    this.sigmas = [...this.timesteps.map((t) => this.trainSigmas[Math.min(Math.max(t, 0), lastTrain)]!), 0];
    this.modelOutputs = new Array<Float32Array | null>(this.solverOrder).fill(null);
    this.lowerOrderNums = 0;
    this.stepIndex.reset();
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    if (this.timesteps.length === 0) throw notReady(this.name);
    checkSameLength(modelOutput, sample);
    const i = this.stepIndex.current(this.timesteps, t, this.name);
    const n = this.timesteps.length;
    // 1. order for this step: first order on the first step and on the last one (final sigma 0
    //    makes it so in diffusers for any lower_order_final). diffusers' "lower_order_second"
    //    rule (n < 15) only lowers third order to second, so it changes nothing here.
    const lastStep = i === n - 1;

    // 2. data prediction x_0 = (x_t - sigma_t eps) / alpha_t (DPM-Solver++ works on x_0)
    const s0 = alphaSigmaLambda(this.sigmas[i]!);
    const x0 = new Float32Array(sample.length);
    let a: number; let b: number;
    switch (this.config.predictionType) {
      case 'epsilon': a = 1 / s0.alpha; b = -s0.sigmaT / s0.alpha; break;
      case 'v_prediction': a = s0.alpha; b = -s0.sigmaT; break;
      case 'sample': a = 0; b = 1; break;
    }
    for (let k = 0; k < x0.length; k++) x0[k] = a * sample[k]! + b * modelOutput[k]!;
    this.modelOutputs.shift();
    this.modelOutputs.push(x0);

    // 3. the update from lambda_s0 to lambda_t, h = lambda_t - lambda_s0
    const target = alphaSigmaLambda(this.sigmas[i + 1]!);
    const h = target.lambda - s0.lambda;
    const ratio = this.sigmas[i + 1] === 0 ? 0 : target.sigmaT / s0.sigmaT;
    const phi = target.alpha * (Math.exp(-h) - 1); // alpha_t (e^{-h} - 1)
    const prevSample = new Float32Array(sample.length);
    if (this.solverOrder === 1 || this.lowerOrderNums < 1 || lastStep) {
      // x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{-h} - 1) x_0   (eq. 8)
      for (let k = 0; k < x0.length; k++) prevSample[k] = ratio * sample[k]! - phi * x0[k]!;
    } else {
      // 2M midpoint: D0 = m0, D1 = (m0 - m1) / r0, r0 = h_0 / h
      // x_t = (sigma_t / sigma_s0) x - alpha_t (e^{-h} - 1) D0 - 0.5 alpha_t (e^{-h} - 1) D1
      const m1 = this.modelOutputs[this.modelOutputs.length - 2]!;
      const s1 = alphaSigmaLambda(this.sigmas[i - 1]!);
      const r0 = (s0.lambda - s1.lambda) / h;
      for (let k = 0; k < x0.length; k++) {
        const d1 = (x0[k]! - m1[k]!) / r0;
        prevSample[k] = ratio * sample[k]! - phi * x0[k]! - 0.5 * phi * d1;
      }
    }
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums += 1;
    this.stepIndex.advance();
    return { prevSample, predOriginalSample: x0 };
  }

  /** x_t = alpha_t x_0 + sigma_t eps with alpha_t, sigma_t from the scheduled sigma of t. */
  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number | readonly number[]): Float32Array {
    if (this.timesteps.length === 0) throw notReady(this.name);
    return addNoiseByRow(originalSamples, noise, timestep, (t) => {
      const { alpha, sigmaT } = alphaSigmaLambda(this.sigmas[indexForTimestep(this.timesteps, t, this.name)]!);
      return [alpha, sigmaT];
    });
  }

}
