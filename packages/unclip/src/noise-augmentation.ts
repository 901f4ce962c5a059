import { unclipGuards } from './unclip-error.js';
import { addNoiseDdpm } from './schedulers/scheduler.js';
import { makeNoiseSchedule } from './schedulers/noise-schedule.js';
import { BETA_SCHEDULES, type BetaSchedule } from './schedulers/scheduler-config.js';

const { invalid, expectBoolean, expectIntegerInRange, expectKnownKeys, expectNumberInRange, expectOneOf, expectLength } = unclipGuards;

/** A manifest's `decoder.noiseAugmentation` section (Stable unCLIP's image_normalizer + image_noising_scheduler). */
export interface NoiseAugmentationConfig {
  mean: readonly number[];
  std: readonly number[];
  numTrainTimesteps: number;
  betaSchedule: BetaSchedule;
  betaStart?: number;
  betaEnd?: number;
  timestepEmbedding: TimestepEmbeddingOptions;
}

/**
 * Stable unCLIP's conditioning on an image embedding e [B, D] at an integer noise level
 * (diffusers pipeline_stable_unclip_img2img.py `noise_image_embeddings`):
 *   class_labels = [ unscale(addNoise(scale(e), noise, level)) ; timestepEmbedding(level) ]  [B, D + E]
 * with scale(x) = (x - mean) / std and unscale(x) = x std + mean (StableUnCLIPImageNormalizer),
 * addNoise the DDPM forward process of the noising schedule (squaredcos_cap_v2 in Stable unCLIP).
 * Unconditional class labels are zeros (the manifest's guidance.unconditionalClassLabels).
 */
export class NoiseAugmentation {
  readonly dim: number;
  readonly classLabelDim: number;
  readonly numTrainTimesteps: number;
  private readonly mean: Float64Array;
  private readonly std: Float64Array;
  private readonly alphasCumprod: Float64Array;
  private readonly embedding: TimestepEmbeddingOptions;

  constructor(config: NoiseAugmentationConfig, name = 'decoder.noiseAugmentation') {
    if (typeof config !== 'object' || config === null) throw invalid('an object', name, config);
    expectKnownKeys(config, name, ['mean', 'std', 'numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'timestepEmbedding'], 'UNSUPPORTED_OPTION');
    this.mean = numberVector(config.mean, `${name}.mean`);
    this.std = numberVector(config.std, `${name}.std`);
    this.dim = this.mean.length;
    expectLength(this.std, `${name}.std`, this.dim, 'TENSOR_SIZE_MISMATCH');
    if (this.std.some((s) => s === 0)) throw invalid('non-zero values', `${name}.std`, config.std);
    this.numTrainTimesteps = expectIntegerInRange(config.numTrainTimesteps, `${name}.numTrainTimesteps`, 2, 100_000);
    this.alphasCumprod = makeNoiseSchedule({
      numTrainTimesteps: this.numTrainTimesteps,
      betaSchedule: expectOneOf(config.betaSchedule, `${name}.betaSchedule`, BETA_SCHEDULES),
      betaStart: expectNumberInRange(config.betaStart ?? 0.0001, `${name}.betaStart`, 0, 1),
      betaEnd: expectNumberInRange(config.betaEnd ?? 0.02, `${name}.betaEnd`, 0, 1),
    }).alphasCumprod;
    const te = config.timestepEmbedding;
    if (typeof te !== 'object' || te === null) throw invalid('an object', `${name}.timestepEmbedding`, te);
    expectKnownKeys(te, `${name}.timestepEmbedding`, ['dim', 'flipSinToCos', 'downscaleFreqShift', 'scale', 'maxPeriod'], 'UNSUPPORTED_OPTION');
    this.embedding = {
      dim: expectIntegerInRange(te.dim, `${name}.timestepEmbedding.dim`, 1, 1 << 20),
      flipSinToCos: expectBoolean(te.flipSinToCos, `${name}.timestepEmbedding.flipSinToCos`),
      downscaleFreqShift: expectNumberInRange(te.downscaleFreqShift, `${name}.timestepEmbedding.downscaleFreqShift`),
      scale: expectNumberInRange(te.scale ?? 1, `${name}.timestepEmbedding.scale`),
      maxPeriod: expectNumberInRange(te.maxPeriod ?? 10000, `${name}.timestepEmbedding.maxPeriod`, 1),
    };
    this.classLabelDim = this.dim + this.embedding.dim;
  }

  /**
   * class_labels [B, D + E] for image embeddings [B, D] at `noiseLevel`, with standard-normal
   * `noise` [B, D] (drawn even at level 0: diffusers adds sqrt(1 - alpha_bar_0) noise there too).
   */
  classLabels(imageEmbeddings: Float32Array, noiseLevel: number, noise: Float32Array): Float32Array {
    const level = expectIntegerInRange(noiseLevel, 'noiseLevel', 0, this.numTrainTimesteps - 1);
    const D = this.dim;
    if (imageEmbeddings.length === 0 || imageEmbeddings.length % D !== 0) {
      throw invalid(`a multiple of ${D} values (image embeddings [B, ${D}])`, 'imageEmbeddings', imageEmbeddings, 'TENSOR_SIZE_MISMATCH');
    }
    expectLength(noise, 'noise', imageEmbeddings.length, 'TENSOR_SIZE_MISMATCH');
    const batch = imageEmbeddings.length / D;
    // 1. scale: (x - mean) / std
    const scaled = new Float32Array(imageEmbeddings.length);
    for (let i = 0; i < scaled.length; i++) scaled[i] = (imageEmbeddings[i]! - this.mean[i % D]!) / this.std[i % D]!;
    // 2. forward diffusion to the noise level
    const noised = addNoiseDdpm(this.alphasCumprod, scaled, noise, level);
    // 3. unscale and 4. concatenate the noise level's embedding
    const embedding = timestepEmbedding([level], this.embedding);
    const E = this.embedding.dim;
    const out = new Float32Array(batch * (D + E));
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < D; i++) out[b * (D + E) + i] = noised[b * D + i]! * this.std[i]! + this.mean[i]!;
      out.set(embedding, b * (D + E) + D);
    }
    return out;
  }

  /** Unconditional class labels: zeros [B, D + E]. */
  unconditionalClassLabels(batch: number): Float32Array {
    return new Float32Array(batch * this.classLabelDim);
  }
}

function numberVector(value: unknown, name: string): Float64Array {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw invalid('a non-empty array of finite numbers', name, value);
  }
  return Float64Array.from(value as number[]);
}

// ---- Sinusoidal timestep embedding (was timestep-embedding.ts): the noise level's part of the class labels ----

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
