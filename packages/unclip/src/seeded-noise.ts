import { unclipGuards } from './unclip-error.js';

const { invalid } = unclipGuards;

/**
 * Seeded standard-normal noise made on the CPU, the same on every machine: Philox4x32-10
 * (Salmon et al. 2011, "Parallel Random Numbers: As Easy as 1, 2, 3"; Random123's
 * philox4x32_R with R = 10) + Box-Muller in float64, cast to float32. The exact algorithm is
 * written out in packages/unclip/README.md ("Seeded noise") so any implementation can
 * reproduce it.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * Which independent stream a draw belongs to, so that the noises of one seed never overlap:
 * Philox counter word 2 is the `lane` (0 for the initial sample, 1 + k for the scheduler noise of
 * step k), word 3 the `domain` below.
 */
export interface NoiseStream {
  lane?: number;
  domain?: number;
}

export const NOISE_DOMAINS = {
  /** The decoder's initial latents and its per-step scheduler noise. */
  decoderLatents: 0,
  /** Stable unCLIP's noise on the image embedding (class_labels). */
  noiseAugmentation: 1,
  /** The prior's initial sample and its per-step scheduler noise. */
  priorSample: 2,
} as const;

/** High and low 32 bits of the 64-bit product a * b of two uint32 (exact, in float64 pieces). */
function mulhilo32(a: number, b: number): [hi: number, lo: number] {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const cross = Math.floor(loLo / 65536) + (hiLo % 65536) + loHi; // < 2^33: exact
  const hi = (aHi * bHi + Math.floor(hiLo / 65536) + Math.floor(cross / 65536)) >>> 0;
  const lo = Math.imul(a, b) >>> 0;
  return [hi, lo];
}

/**
 * Philox4x32-10 block: 4 uint32 counter words and 2 key words -> 4 uint32 words.
 * Round: (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2, c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
 * the key is bumped by (W0, W1) between rounds.
 */
export function philox4x32(counter: readonly number[], key: readonly number[]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((x) => x >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((x) => x >>> 0) as [number, number];
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo32(PHILOX_M0, c0);
    const [hi1, lo1] = mulhilo32(PHILOX_M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** A uniform in (0, 1) from 53 bits: 27 high bits of `a`, 26 high bits of `b`, centred in its cell. */
function uniform53(a: number, b: number): number {
  return ((a >>> 5) * TWO_POW_26 + (b >>> 6) + 0.5) / TWO_POW_53;
}

/**
 * `count` standard normals of one stream of one seed. Value j comes from Philox block
 * counter (j >> 1 low 32 bits, high 32 bits, lane, domain), key (seed low 32, seed high 32):
 * u1 = uniform53(w0, w1), u2 = uniform53(w2, w3), r = sqrt(-2 ln u1);
 * value 2m = r cos(2 pi u2), value 2m + 1 = r sin(2 pi u2).
 */
export function philoxNormals(seed: number, count: number, stream: NoiseStream = {}): Float32Array {
  checkSeed(seed, 'seed');
  const lane = checkWord(stream.lane ?? 0, 'noise lane');
  const domain = checkWord(stream.domain ?? 0, 'noise domain');
  const key = [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32)];
  const out = new Float32Array(count);
  for (let pair = 0; 2 * pair < count; pair++) {
    const w = philox4x32([pair % TWO_POW_32, Math.floor(pair / TWO_POW_32), lane, domain], key);
    const r = Math.sqrt(-2 * Math.log(uniform53(w[0]!, w[1]!)));
    const theta = 2 * Math.PI * uniform53(w[2]!, w[3]!);
    out[2 * pair] = r * Math.cos(theta);
    if (2 * pair + 1 < count) out[2 * pair + 1] = r * Math.sin(theta);
  }
  return out;
}

/**
 * Standard-normal tensor [B, ...item] in row-major order; row b is drawn from seed + b, so
 * `seededNormal(seed, [B, ...item])` row i equals `seededNormal(seed + i, [1, ...item])`.
 */
export function seededNormal(seed: number, shape: readonly number[], stream: NoiseStream = {}): Float32Array {
  if (shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw invalid('a shape [batch, ...item] of positive integers', 'shape', shape);
  }
  const [batch, ...item] = shape as [number, ...number[]];
  checkSeed(seed, 'seed');
  if (seed > Number.MAX_SAFE_INTEGER - (batch - 1)) throw invalid('at most 2^53 - 1', 'seed + batch - 1', seed + (batch - 1));
  return seededNormalRows(Array.from({ length: batch }, (_, b) => seed + b), item.reduce((a, b) => a * b, 1), stream);
}

/** One row of `rowLength` normals per seed, concatenated. */
export function seededNormalRows(seeds: readonly number[], rowLength: number, stream: NoiseStream = {}): Float32Array {
  const out = new Float32Array(seeds.length * rowLength);
  seeds.forEach((seed, b) => out.set(philoxNormals(seed, rowLength, stream), b * rowLength));
  return out;
}

export function checkSeed(seed: unknown, name: string): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalid('an integer in [0, 2^53 - 1]', name, seed);
  }
  return seed;
}

function checkWord(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_POW_32) throw invalid('an integer in [0, 2^32 - 1]', name, value);
  return value;
}
