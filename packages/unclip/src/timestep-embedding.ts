import { unclipGuards } from './unclip-error.js';

const { expectIntegerInRange } = unclipGuards;

const f32 = Math.fround;

export interface TimestepEmbeddingOptions {
  dim: number;
  flipSinToCos: boolean;
  downscaleFreqShift: number;
  /** Multiplies the arguments (diffusers `scale`, default 1). */
  scale?: number;
  /** diffusers `max_period`, default 10000. */
  maxPeriod?: number;
}

/**
 * Sinusoidal timestep embedding [N, dim] (Vaswani et al. 2017 sec. 3.5; DDPM's
 * `get_timestep_embedding`): freq_i = exp(-ln(maxPeriod) i / (half - shift)), i < half,
 * emb = [sin(t freq), cos(t freq)] or [cos, sin] when flipSinToCos; zero-padded for odd dim.
 * As diffusers computes it in float32, the exponent, frequency and argument t * freq are
 * rounded to float32 here too (Math.fround); sin and cos are taken in float64 of that
 * argument. torch's vectorised expf/sin/cos may differ by an ulp (see the test's tolerance).
 */
export function timestepEmbedding(timesteps: readonly number[], options: TimestepEmbeddingOptions): Float32Array {
  const dim = expectIntegerInRange(options.dim, 'timestepEmbedding.dim', 1, 1 << 20);
  const half = Math.floor(dim / 2);
  const scale = options.scale ?? 1;
  const logMaxPeriod = f32(-Math.log(options.maxPeriod ?? 10000));
  const denominator = f32(half - options.downscaleFreqShift);
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) freqs[i] = f32(Math.exp(f32(f32(logMaxPeriod * i) / denominator)));
  const out = new Float32Array(timesteps.length * dim);
  timesteps.forEach((t, row) => {
    const base = row * dim;
    const [sinAt, cosAt] = options.flipSinToCos ? [half, 0] : [0, half];
    for (let i = 0; i < half; i++) {
      const arg = f32(scale * f32(f32(t) * freqs[i]!));
      out[base + sinAt + i] = Math.sin(arg);
      out[base + cosAt + i] = Math.cos(arg);
    }
  });
  return out;
}
