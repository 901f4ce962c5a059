/** Seeded Gaussian vectors for the tests and the bench: every run sees the same data. */

/** mulberry32: a small seeded PRNG so every run sees the same vectors. */
export { mulberry32 as seededRandom } from '@a2i/protocol';

/** Standard normal by Box-Muller. */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function randomVector(random: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = gaussian(random);
  return v;
}

/** v + noise * N(0, I), not normalised (the store normalises). */
export function perturb(random: () => number, v: Float32Array, noise: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! + noise * gaussian(random);
  return out;
}
