import type { NoiseAugmentationConfig } from '../noise-augmentation.js';
import { unclipGuards } from '../unclip-error.js';
import type { SchedulerConfigInput } from '../schedulers/scheduler-config.js';

const { invalid } = unclipGuards;

/**
 * The parts of a model pack's manifest (models/README.md, format imagebind-unclip-pack/1)
 * that the samplers read. The pack loader owns the whole manifest; these are structural
 * types so that its objects can be passed as they are.
 */
export interface DecoderManifest {
  /** Rows of image embeddings are rescaled to this L2 norm before conditioning (absent: unchanged). */
  embeddingNorm?: number | null;
  unet: {
    file?: string;
    inputs: { sample: string; timestep: string; encoderHiddenStates?: string | null; classLabels: string };
    output: string;
  };
  vae: { file?: string; input: string; output: string; scalingFactor: number; outputRange: readonly [number, number] | number[] };
  /** [C, h, w] */
  latentShape: readonly number[];
  /** [H, W] */
  imageSize: readonly number[];
  scheduler: SchedulerConfigInput;
  noiseAugmentation: NoiseAugmentationConfig;
  /** Present when the UNet takes token hidden states [77, W] (Stable unCLIP's text branch). */
  promptConditioning?: { shape: readonly number[]; unconditionalPrompt?: string; encoder?: string; output?: string } | null;
  guidance?: { unconditionalClassLabels?: 'zeros' };
  /** rgb = latent^T W + b in [-1, 1]; W is [C][3]. */
  preview?: { latentToRgb: ReadonlyArray<readonly number[]>; bias: readonly number[] } | null;
  limits?: { maxSteps?: number; maxImages?: number };
}

export interface PriorManifest {
  file?: string;
  inputs: { sample: string; timestep: string; condition: string };
  output: string;
  /** The query is rescaled to this L2 norm before the prior (absent: unchanged). */
  conditionNorm?: number | null;
  /** The prior samples (x - mean) / std. */
  normalizer?: { mean: readonly number[]; std: readonly number[] } | null;
  /** The image embedding handed on is rescaled to this L2 norm (absent: unchanged). */
  outputNorm?: number | null;
  scheduler: SchedulerConfigInput;
  guidance?: { unconditionalCondition?: 'zeros' };
  limits?: { maxSteps?: number; maxImages?: number };
}

export function expectShape(value: unknown, length: number, name: string): number[] {
  if (!Array.isArray(value) || value.length !== length || value.some((d) => !Number.isInteger(d) || d < 1)) {
    throw invalid(`an array of ${length} positive integers`, name, value);
  }
  return value as number[];
}

export function expectName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('a tensor name', name, value);
  return value;
}

/** Rescales each row of x [rows, dim] to L2 norm `norm` in place (zero rows stay zero). */
export function rescaleRows(x: Float32Array, dim: number, norm: number | null | undefined): Float32Array {
  if (norm === null || norm === undefined) return x;
  for (let start = 0; start < x.length; start += dim) {
    let sum = 0;
    for (let i = start; i < start + dim; i++) sum += x[i]! * x[i]!;
    const length = Math.sqrt(sum);
    if (length === 0) continue;
    const factor = norm / length;
    for (let i = start; i < start + dim; i++) x[i] = x[i]! * factor;
  }
  return x;
}
