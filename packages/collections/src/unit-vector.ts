import { expected } from './collection-error.js';

/**
 * Checks length and values and returns a unit-length copy (L2 norm 1).
 *
 * Stored vectors are unit length so that cosine similarity is a plain dot product:
 * every score the store returns is cos(q, x) = q·x / (|q||x|), whatever the index
 * (the IVF index trains its centroids and quantiser on the same unit sphere the queries live
 * on), and magnitudes that differ between encoders (ImageBind's per-modality logit
 * scales) cannot bias a cross-modal ranking. A zero vector has no direction: refused.
 */
export function unitVector(value: unknown, dim: number, label: string): Float32Array {
  if (!(value instanceof Float32Array) && !Array.isArray(value)) {
    throw expected('INVALID_VECTOR', `a Float32Array or number array of length ${dim}`, label, value);
  }
  if (value.length !== dim) {
    throw expected('EMBEDDING_DIMENSION_MISMATCH', `a vector of length ${dim} (the collection's dim)`, label, `length ${value.length}`);
  }
  let sumSquares = 0;
  for (let i = 0; i < dim; i++) {
    const x = value[i] as unknown;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw expected('INVALID_VECTOR', 'finite numbers', `${label}[${i}]`, x);
    sumSquares += x * x;
  }
  const norm = Math.sqrt(sumSquares);
  if (!(norm > 0) || !Number.isFinite(norm)) throw expected('INVALID_VECTOR', 'a non-zero vector', label, 'a zero vector');
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = (value[i] as number) / norm;
  return out;
}
