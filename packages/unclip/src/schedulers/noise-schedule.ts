import type { BetaSchedule, PredictionType } from './scheduler-config.js';

const f32 = Math.fround;

/**
 * The training noise schedule: betas [T], alphas = 1 - betas [T], alphas_cumprod [T].
 * Values are float32 numbers held in float64 arrays, made the way diffusers makes its float32
 * tensors (scheduling_ddpm.py `__init__`), so a model is sampled with the very numbers it was
 * trained with:
 *  - betas: float64 formula rounded to float32 (torch.linspace / torch.tensor(float32));
 *  - alphas: 1 - beta in float32 (exact IEEE emulation with Math.fround);
 *  - alphas_cumprod: torch.cumprod on CPU accumulates in double and rounds each output to
 *    float32 (checked against torch 1.13: 0 mismatches).
 * torch.linspace(float32) itself rounds some betas one float32 ulp differently from the exact
 * value (its AVX2 kernel uses FMA); that changes alphas_cumprod by at most ~1.2e-7.
 */
export interface NoiseSchedule {
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
}

export interface BetaScheduleSpec {
  numTrainTimesteps: number;
  betaSchedule: BetaSchedule;
  betaStart: number;
  betaEnd: number;
}

export function makeNoiseSchedule(spec: BetaScheduleSpec): NoiseSchedule {
  const betas = makeBetas(spec);
  const n = betas.length;
  const alphas = new Float64Array(n);
  const alphasCumprod = new Float64Array(n);
  let product = 1; // float64 accumulator, as torch's CPU cumprod
  for (let i = 0; i < n; i++) {
    alphas[i] = f32(1 - betas[i]!);
    product *= alphas[i]!;
    alphasCumprod[i] = f32(product);
  }
  return { betas, alphas, alphasCumprod };
}

function makeBetas({ numTrainTimesteps: n, betaSchedule, betaStart, betaEnd }: BetaScheduleSpec): Float64Array {
  const betas = new Float64Array(n);
  switch (betaSchedule) {
    case 'linear':
      for (let i = 0; i < n; i++) betas[i] = f32(linspaceAt(betaStart, betaEnd, n, i));
      return betas;
    case 'scaled_linear': {
      // Latent diffusion's schedule: linspace(sqrt(start), sqrt(end))^2, squared in float32.
      const a = Math.sqrt(betaStart);
      const b = Math.sqrt(betaEnd);
      for (let i = 0; i < n; i++) {
        const root = f32(linspaceAt(a, b, n, i));
        betas[i] = f32(root * root);
      }
      return betas;
    }
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(n).map(f32);
  }
}

function linspaceAt(start: number, end: number, n: number, i: number): number {
  return i === n - 1 ? end : start + ((end - start) / (n - 1)) * i;
}

/**
 * Glide's cosine schedule (Nichol & Dhariwal 2021, "Improved DDPM", eq. 17):
 * alpha_bar(t) = cos^2(((t + 0.008) / 1.008) * pi / 2) and
 * beta_i = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), maxBeta), in float64
 * (diffusers `betas_for_alpha_bar`, alpha_transform_type "cosine", max_beta 0.999).
 */
export function betasForAlphaBar(numDiffusionTimesteps: number, maxBeta = 0.999): Float64Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const betas = new Float64Array(numDiffusionTimesteps);
  for (let i = 0; i < numDiffusionTimesteps; i++) {
    const t1 = i / numDiffusionTimesteps;
    const t2 = (i + 1) / numDiffusionTimesteps;
    betas[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return betas;
}

/**
 * Karras-style noise levels sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) [T], computed in
 * float32 as diffusers does (`((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` on a float32
 * tensor; torch's pow(0.5) is sqrt).
 */
export function sigmasFromAlphasCumprod(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

// ---- Prediction types (was prediction.ts): x_0 and epsilon from x_t and the model output at alpha_bar_t ----

/** value = sample * x_t + output * model_output, elementwise. */
export interface LinearMix {
  sample: number;
  output: number;
}

/**
 * How x_0 and eps follow from x_t and the model output at noise level alpha_bar_t, where
 * x_t = sqrt(a) x_0 + sqrt(1 - a) eps (Ho et al. 2020, eq. 4 and 15) and
 * v = sqrt(a) eps - sqrt(1 - a) x_0 (Salimans & Ho 2022, "Progressive Distillation", sec. 4).
 * Every prediction type makes both a linear mix of (x_t, model_output).
 */
export function x0AndEpsilon(predictionType: PredictionType, alphaProd: number): { x0: LinearMix; eps: LinearMix } {
  const sqrtAlpha = Math.sqrt(alphaProd);
  const sqrtBeta = Math.sqrt(1 - alphaProd);
  switch (predictionType) {
    case 'epsilon':
      // x_0 = (x_t - sqrt(1 - a) eps) / sqrt(a)
      return { x0: { sample: 1 / sqrtAlpha, output: -sqrtBeta / sqrtAlpha }, eps: { sample: 0, output: 1 } };
    case 'sample':
      // eps = (x_t - sqrt(a) x_0) / sqrt(1 - a)
      return { x0: { sample: 0, output: 1 }, eps: { sample: 1 / sqrtBeta, output: -sqrtAlpha / sqrtBeta } };
    case 'v_prediction':
      // x_0 = sqrt(a) x_t - sqrt(1 - a) v ; eps = sqrt(a) v + sqrt(1 - a) x_t
      return { x0: { sample: sqrtAlpha, output: -sqrtBeta }, eps: { sample: sqrtBeta, output: sqrtAlpha } };
  }
}

export function mix(m: LinearMix, sample: Float32Array, output: Float32Array): Float32Array {
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) out[i] = m.sample * sample[i]! + m.output * output[i]!;
  return out;
}

export function clampInPlace(x: Float32Array, range: number): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(range, Math.max(-range, x[i]!));
  return x;
}
