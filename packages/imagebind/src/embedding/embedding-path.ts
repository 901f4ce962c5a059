import { ImageBindError, imagebindGuards } from '../imagebind-error.js';

const { expectFiniteValues, invalid } = imagebindGuards;

/**
 * Paths through embedding space over time (issue #19: a picture that follows a recording):
 * spherical interpolation between embeddings, zero-phase exponential smoothing of a sequence of
 * window embeddings, and the embedding at any time between window centres. Pure functions on
 * unit directions; scales are applied by the caller.
 */

function unit(v: ArrayLike<number>, what: string): Float64Array {
  expectFiniteValues(v, what);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n === 0) throw new ImageBindError('EMBEDDING_ZERO', `${what} is the zero vector: it has no direction`);
  return Float64Array.from(v, (x) => x / n);
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length || a.length === 0) {
    throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected two embeddings of one non-zero length but received ${a.length} and ${b.length}`);
  }
}

/**
 * Spherical linear interpolation between the directions of `a` and `b` (Shoemake 1985,
 * "Animating rotation with quaternion curves"): a unit vector at fraction `t` of the great-circle
 * arc from a to b. Moves at constant angular speed, where a linear mix slows in the middle and
 * shrinks its norm. Nearly parallel directions (angle < 1e-6) fall back to the normalised linear
 * mix; opposite ones have no unique arc and are refused.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  sameLength(a, b);
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 1) throw invalid('a number in [0, 1]', 't', t);
  const ua = unit(a, 'embedding a');
  const ub = unit(b, 'embedding b');
  let dot = 0;
  for (let i = 0; i < ua.length; i++) dot += ua[i]! * ub[i]!;
  dot = Math.min(1, Math.max(-1, dot));
  const angle = Math.acos(dot);
  if (Math.PI - angle < 1e-6) throw new ImageBindError('EMBEDDING_ZERO', 'The two embeddings point in opposite directions: no arc between them is shorter than another');
  if (angle < 1e-6) return normalised(Float64Array.from(ua, (x, i) => (1 - t) * x + t * ub[i]!));
  const wa = Math.sin((1 - t) * angle) / Math.sin(angle);
  const wb = Math.sin(t * angle) / Math.sin(angle);
  return normalised(Float64Array.from(ua, (x, i) => wa * x + wb * ub[i]!));
}

function normalised(v: Float64Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  return Float32Array.from(v, (x) => x / n);
}

/**
 * Zero-phase exponential smoothing of unit directions sampled every `stepSec` (the window hop):
 * a forward pass y_k = slerp(y_{k-1}, x_k, alpha) and the same pass backwards over its output
 * (as scipy's filtfilt runs a filter twice), so a change in the sound moves the picture around
 * the change's time instead of lagging behind it. alpha = 1 - exp(-stepSec / timeConstantSec),
 * the discrete step of a first-order low-pass with that time constant; timeConstantSec 0 returns
 * the inputs' directions unchanged.
 */
export function smoothEmbeddings(vectors: readonly ArrayLike<number>[], stepSec: number, timeConstantSec: number): Float32Array[] {
  if (!Array.isArray(vectors) || vectors.length === 0) throw invalid('a non-empty array of embeddings', 'vectors', vectors);
  if (typeof stepSec !== 'number' || !Number.isFinite(stepSec) || stepSec <= 0) throw invalid('a positive number', 'stepSec', stepSec);
  if (typeof timeConstantSec !== 'number' || !Number.isFinite(timeConstantSec) || timeConstantSec < 0) throw invalid('a number >= 0', 'timeConstantSec', timeConstantSec);
  const directions = vectors.map((v, i) => normalised(unit(v, `embedding ${i}`)));
  if (timeConstantSec === 0 || directions.length === 1) return directions;
  const alpha = 1 - Math.exp(-stepSec / timeConstantSec);
  const pass = (xs: Float32Array[]): Float32Array[] => {
    const out = [xs[0]!];
    for (let k = 1; k < xs.length; k++) out.push(slerp(out[k - 1]!, xs[k]!, alpha));
    return out;
  };
  return pass(pass(directions).reverse()).reverse();
}

/**
 * The direction at time `t` on a path of unit directions placed at increasing `times`: slerp
 * between the two neighbours, held at the first before the first time and at the last after.
 */
export function embeddingAtTime(times: readonly number[], vectors: readonly ArrayLike<number>[], t: number): Float32Array {
  if (!Array.isArray(times) || times.length === 0 || times.length !== vectors.length) {
    throw invalid(`as many times as vectors (${vectors.length}), at least one`, 'times', times);
  }
  for (let i = 1; i < times.length; i++) {
    if (!(times[i]! > times[i - 1]!)) throw invalid('strictly increasing times', `times[${i}]`, times[i]);
  }
  if (typeof t !== 'number' || !Number.isFinite(t)) throw invalid('a finite number', 't', t);
  if (t <= times[0]!) return normalised(unit(vectors[0]!, 'embedding 0'));
  const last = times.length - 1;
  if (t >= times[last]!) return normalised(unit(vectors[last]!, `embedding ${last}`));
  let k = 0;
  while (times[k + 1]! < t) k++;
  return slerp(vectors[k]!, vectors[k + 1]!, (t - times[k]!) / (times[k + 1]! - times[k]!));
}
