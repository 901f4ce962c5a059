import type { Encoder } from '@a2i/imagebind';
import type { GenerationJob, PackDescription } from '@a2i/protocol';

/**
 * A worker's warm-up, before it counts as ready: onnxruntime's first run of a session plans
 * and allocates its memory (and CUDA picks its kernels), so the first job would pay for it.
 * Each loaded encoder runs once on one row of zeros of its input shape; then one short
 * generation runs the prompt encoder, the prior, the decoder and the VAE, and a preview.
 */
export interface WarmUpReport {
  /** The encoder keys that ran (vision, text, audio, ...), in the pack's order. */
  encoders: string[];
  /** The generation's decoder steps (the prior's too, when the pack has one). */
  steps: number;
  /** Whether the generation ran the prior. */
  prior: boolean;
  /** Previews the generation made. */
  previews: number;
  /** Wall time of the whole warm-up, in the pipeline's thread. */
  ms: number;
}

/** Decoder (and prior) steps of the warm-up generation: enough for a scheduler's multistep path. */
export const WARM_UP_STEPS = 2;

/** An encoder as the warm-up needs it, with its input's element type (the manifest's `input.dtype`). */
export interface WarmableEncoder {
  encoder: Pick<Encoder, 'rowShape' | 'run'>;
  dtype: 'float32' | 'int64';
}

/** Runs each encoder once on one row of zeros; a dynamic dimension past the batch (-1) counts 1. */
export async function warmUpEncoders(encoders: ReadonlyMap<string, WarmableEncoder>): Promise<string[]> {
  const ran: string[] = [];
  for (const [key, { encoder, dtype }] of encoders) {
    const size = encoder.rowShape.reduce((n, d) => n * Math.max(1, d), 1);
    const data = dtype === 'int64' ? new BigInt64Array(size) : new Float32Array(size);
    await encoder.run([{ data, rows: 1 }]);
    ran.push(key);
  }
  return ran;
}

/**
 * The warm-up generation: one image from one `embedding` input (a unit vector of the pack's
 * space, rescaled like any query), a prompt (the prompt encoder runs), the pack's default
 * guidance (so the batch is doubled as a real job's is), a preview every step.
 */
export function warmUpJob(description: PackDescription, now = Date.now()): GenerationJob {
  const vector = Array.from({ length: description.dim }, (_, i) => (i === 0 ? 1 : 0));
  return {
    id: 'warm-up',
    createdAt: now,
    inputs: [{ modality: 'embedding', weight: 1, vector }],
    options: {
      prompt: 'warm-up',
      seed: 0,
      steps: WARM_UP_STEPS,
      guidance: description.defaults.guidance,
      usePrior: description.prior.available,
      noiseLevel: description.defaults.noiseLevel,
      numImages: 1,
      format: 'png',
      previewEvery: 1,
      priority: 'normal',
    },
  };
}
