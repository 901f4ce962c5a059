import type { PredictionType } from './scheduler-config.js';

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
