import { UnclipError } from './unclip-error.js';

/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6): out = u + g (c - u), where the model
 * ran once on a batch [uncond rows; cond rows] (diffusers: `noise_pred.chunk(2)`).
 * `batchedOutput` is [2B, ...item]; returns [B, ...item].
 */
export function classifierFreeGuidance(batchedOutput: Float32Array, guidanceScale: number): Float32Array {
  if (batchedOutput.length % 2 !== 0) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected an [uncond; cond] batch of even length but received ${batchedOutput.length} values`);
  }
  const half = batchedOutput.length / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = batchedOutput[i]!;
    out[i] = u + guidanceScale * (batchedOutput[half + i]! - u);
  }
  return out;
}

/** [x; x]: the sample twice, for one model call over the unconditional and conditional rows. */
export function duplicateBatch(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length * 2);
  out.set(x, 0);
  out.set(x, x.length);
  return out;
}

/** [uncond rows; cond rows]: the batch order of every CFG call (diffusers `torch.cat([negative, positive])`). */
export function stackUncondCond(unconditional: Float32Array, conditional: Float32Array): Float32Array {
  const out = new Float32Array(unconditional.length + conditional.length);
  out.set(unconditional, 0);
  out.set(conditional, unconditional.length);
  return out;
}
