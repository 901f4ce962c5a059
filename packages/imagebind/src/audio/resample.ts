// Band-limited (windowed-sinc) resampling, the algorithm of torchaudio.functional.resample in
// torchaudio 0.13 (torchaudio/functional/functional.py: _get_sinc_resample_kernel and
// _apply_sinc_resample_kernel), which ImageBind's data.py runs on every sound. Written here
// because transformers.js has no such resampler: its load_audio leaves resampling to the
// browser's AudioContext (and throws in Node), which is not torchaudio's filter.
//
// The reference, for rates reduced by their gcd to `orig` -> `new`:
//   base  = min(orig, new) * rolloff
//   width = ceil(lowpassFilterWidth * orig / base)
//   kernel[p][k] for phase p in [0, new), tap k in [0, 2 width + orig):
//     t = clamp(((k - width) / orig - p / new) * base, -lpw, lpw)
//     kernel = sinc(pi t) * window(t) * base / orig
//     window = cos(pi t / (2 lpw))^2 (hann) or I0(beta sqrt(1 - (t/lpw)^2)) / I0(beta) (kaiser)
//   x is zero-padded by `width` on the left and `width + orig` on the right, convolved with
//   stride `orig` (one output per phase per stride), and cut to ceil(new * length / orig).
//
// For a float32 waveform torchaudio builds the kernel in float32; it is built here the same
// way (Math.fround after each operation) so the taps are torchaudio's to the last bit or so.
// Only the taps with |t| < lpw are stored (the band): every other tap sits at the clamp, where
// the window is ~0 (hann: cos(pi/2)^2 ~ 2e-15 in float32), so its value is ~1e-20 and
// skipping it changes no output measurably (`clampedTapMass` bounds what is skipped). That
// also keeps odd rate pairs cheap: 44101 -> 16000 Hz would be a 16000 x 44135 dense kernel
// (2.8 GB) in torchaudio but is 16000 bands of ~34 taps here.

import { audioGuards } from './audio-error.js';
import { parseResampleOptions, type ResampleOptions } from './options.js';

const { invalid } = audioGuards;

const f32 = Math.fround;
/** torchaudio 0.13's default Kaiser beta (functional.py _get_sinc_resample_kernel). */
const DEFAULT_KAISER_BETA = 14.769656459379492;
const PI_F32 = f32(Math.PI);

export interface SincResampleKernel {
  /** Rates after gcd reduction. */
  orig: number;
  new: number;
  /** Zero padding on the left of x (torchaudio's `width`). */
  width: number;
  /** Per phase: first tap index of its band (in padded-x coordinates, 0..2 width + orig). */
  bandStart: Int32Array; // [new]
  /** Taps per band: the longest band; shorter ones end in zeros. */
  bandLength: number;
  /** Band taps of each phase (float32 values, as torchaudio's kernel; stored as float64 for the dot products). */
  taps: Float64Array; // [new, bandLength]
  /** Sum over all phases of |tap| for the taps left out (the clamped ones); an error bound per unit input. */
  clampedTapMass: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; exact to double rounding for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** float32 t of tap k in phase p, as torchaudio computes it (before the clamp). */
function tapTime(k: number, p: number, width: number, orig: number, newRate: number, baseF32: number): number {
  const idx = f32((k - width) / orig); // arange(-width, width + orig) / orig
  const shift = f32(-p / newRate); // arange(0, -new, -1) / new
  return f32(f32(shift + idx) * baseF32); // (... + idx) * base
}

/** One kernel tap from its (clamped) float32 time t, as torchaudio's float32 arithmetic gives it. */
function tapValue(t: number, lpw: number, kaiser: boolean, beta: number, i0Beta: number, scaleF32: number): number {
  let window: number;
  if (!kaiser) {
    // torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    const c = f32(Math.cos(f32(f32(f32(t * PI_F32) / lpw) / 2)));
    window = f32(c * c);
  } else {
    // torch.i0(beta * torch.sqrt(1 - (t / lowpass_filter_width) ** 2)) / torch.i0(beta)
    const r = f32(t / lpw);
    const s = f32(Math.sqrt(f32(1 - f32(r * r))));
    window = f32(f32(besselI0(f32(f32(beta) * s))) / i0Beta);
  }
  const tp = f32(t * PI_F32); // t *= math.pi
  const sinc = tp === 0 ? 1 : f32(f32(Math.sin(tp)) / tp);
  return f32(sinc * f32(window * scaleF32)); // kernels *= window * scale
}

/** Builds the banded kernel for one (origFreq, newFreq, options); see `sincResampleKernel` for the cached one. */
export function buildSincResampleKernel(origFreq: number, newFreq: number, options: ResampleOptions): SincResampleKernel {
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g;
  const newRate = newFreq / g;
  const lpw = options.lowpassFilterWidth;
  const base = Math.min(orig, newRate) * options.rolloff; // python float
  const width = Math.ceil((lpw * orig) / base);
  const kaiser = options.method === 'sinc_interp_kaiser';
  const beta = options.beta ?? DEFAULT_KAISER_BETA;
  const i0Beta = f32(besselI0(f32(beta)));
  if (!Number.isFinite(i0Beta)) {
    // torch.i0 overflows float32 there too, and the window would be NaN
    throw invalid('a Kaiser beta whose I0 fits in float32 (|beta| <= 91)', 'resample options.beta', beta);
  }
  const baseF32 = f32(base);
  const scaleF32 = f32(base / orig);
  const totalTaps = 2 * width + orig;
  const clampedValue = Math.abs(tapValue(lpw, lpw, kaiser, beta, i0Beta, scaleF32));

  const bandStart = new Int32Array(newRate);
  const bands: Float32Array[] = [];
  let bandLength = 0;
  let clampedTapMass = 0;
  for (let p = 0; p < newRate; p++) {
    // |t| < lpw  <=>  k - width in (orig (p/new - lpw/base), orig (p/new + lpw/base)); the float32 test decides at the edges.
    const centre = width + (orig * p) / newRate;
    const half = (orig * lpw) / base;
    let first = Math.max(0, Math.floor(centre - half) - 2);
    let last = Math.min(totalTaps - 1, Math.ceil(centre + half) + 2);
    while (first <= last && Math.abs(tapTime(first, p, width, orig, newRate, baseF32)) >= lpw) first++;
    while (last >= first && Math.abs(tapTime(last, p, width, orig, newRate, baseF32)) >= lpw) last--;
    const band = new Float32Array(Math.max(0, last - first + 1));
    for (let k = first; k <= last; k++) {
      band[k - first] = tapValue(tapTime(k, p, width, orig, newRate, baseF32), lpw, kaiser, beta, i0Beta, scaleF32);
    }
    bandStart[p] = first;
    bands.push(band);
    bandLength = Math.max(bandLength, band.length);
    clampedTapMass += (totalTaps - band.length) * clampedValue;
  }
  // One stride for every band (zeros at the end of the shorter ones) keeps the inner loop simple.
  const taps = new Float64Array(newRate * bandLength);
  for (let p = 0; p < newRate; p++) taps.set(bands[p]!, p * bandLength);
  return { orig, new: newRate, width, bandStart, bandLength, taps, clampedTapMass };
}

// Kernels are built once per (rates, options) and kept in a small LRU bounded in bytes:
// uploads bring any sample rate, and an unbounded cache would grow with every odd one
// (a 44101 -> 16000 Hz kernel is 16000 bands of 34 taps, 4.4 MB).
const KERNEL_CACHE_BYTES = 32 * 1024 * 1024;
const kernelCache = new Map<string, SincResampleKernel>();
let kernelCacheBytes = 0;

/** The banded kernel for these rates and options, built once and cached (LRU, 32 MB at most). */
export function sincResampleKernel(origFreq: number, newFreq: number, options: ResampleOptions): SincResampleKernel {
  const key = `${origFreq}:${newFreq}:${options.method}:${options.lowpassFilterWidth}:${options.rolloff}:${options.beta ?? ''}`;
  const hit = kernelCache.get(key);
  if (hit) {
    kernelCache.delete(key);
    kernelCache.set(key, hit);
    return hit;
  }
  const kernel = buildSincResampleKernel(origFreq, newFreq, options);
  const bytes = kernel.taps.byteLength + kernel.bandStart.byteLength;
  if (bytes <= KERNEL_CACHE_BYTES) {
    kernelCache.set(key, kernel);
    kernelCacheBytes += bytes;
    for (const [oldKey, old] of kernelCache) {
      if (kernelCacheBytes <= KERNEL_CACHE_BYTES) break;
      kernelCache.delete(oldKey);
      kernelCacheBytes -= old.taps.byteLength + old.bandStart.byteLength;
    }
  }
  return kernel;
}

/** Output length of torchaudio's resample: ceil(new * length / orig) on the gcd-reduced rates. */
export function resampledLength(length: number, origFreq: number, newFreq: number): number {
  if (origFreq === newFreq) return length;
  const g = gcd(origFreq, newFreq);
  return Math.ceil(((newFreq / g) * length) / (origFreq / g));
}

/**
 * Applies a kernel: y[f new + p] = sum_k taps[p][k] x[f orig + bandStart_p + k - width]
 * (x zero outside), for the outputs j in [from, to) only; `y` is the whole output, float32
 * [ceil(new * n / orig)], and nothing else in it is written.
 */
export function applySincResampleKernelRange(x: Float32Array, kernel: SincResampleKernel, y: Float32Array, from: number, to: number): void {
  const { orig, width, bandStart, bandLength: L, taps } = kernel;
  const newRate = kernel.new;
  const n = x.length;
  const last = Math.min(to, y.length);
  let j = Math.max(0, from);
  let frame = Math.floor(j / newRate);
  let p = j - frame * newRate;
  for (; j < last; frame++, p = 0) {
    const frameStart = frame * orig - width; // x index of padded tap 0
    const phaseEnd = Math.min(newRate, p + last - j);
    for (; p < phaseEnd; p++, j++) {
      let s = frameStart + bandStart[p]!;
      let o = p * L;
      const oEnd = o + L;
      // four partial sums: independent chains the CPU can overlap
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      if (s >= 0 && s + L <= n) {
        for (; o + 3 < oEnd; o += 4, s += 4) {
          a0 += taps[o]! * x[s]!;
          a1 += taps[o + 1]! * x[s + 1]!;
          a2 += taps[o + 2]! * x[s + 2]!;
          a3 += taps[o + 3]! * x[s + 3]!;
        }
        for (; o < oEnd; o++, s++) a0 += taps[o]! * x[s]!;
      } else {
        for (; o < oEnd; o++, s++) if (s >= 0 && s < n) a0 += taps[o]! * x[s]!;
      }
      y[j] = a0 + a1 + (a2 + a3);
    }
  }
}

/** Applies a kernel to all of x: float32 [ceil(new * n / orig)]. */
export function applySincResampleKernel(x: Float32Array, kernel: SincResampleKernel): Float32Array {
  const y = new Float32Array(Math.ceil((kernel.new * x.length) / kernel.orig));
  applySincResampleKernelRange(x, kernel, y, 0, y.length);
  return y;
}

/** The checks every resampling entry point makes; returns the options with defaults. */
function checkResampleArguments(x: unknown, origFreq: number, newFreq: number, options: Partial<ResampleOptions>): ResampleOptions {
  if (!(x instanceof Float32Array)) throw invalid('a Float32Array', 'x', x);
  for (const [name, rate] of [['origFreq', origFreq], ['newFreq', newFreq]] as const) {
    // torchaudio: "Frequencies must be of integer type to ensure quality resampling computation"
    if (typeof rate !== 'number' || !Number.isSafeInteger(rate) || rate <= 0) {
      throw invalid('an integer sample rate > 0 (Hz)', name, rate);
    }
  }
  return parseResampleOptions(options);
}

/** One output sample y[j] of `applySincResampleKernel(x, kernel)`. */
function resampledSample(x: Float32Array, kernel: SincResampleKernel, j: number): number {
  const { orig, width, bandStart, bandLength: L, taps } = kernel;
  const frame = Math.floor(j / kernel.new);
  const p = j - frame * kernel.new;
  const s = frame * orig - width + bandStart[p]!;
  let acc = 0;
  for (let k = Math.max(0, -s); k < L && s + k < x.length; k++) acc += taps[p * L + k]! * x[s + k]!;
  return acc;
}

/**
 * Sums of the resampled signal over output ranges, sum_{j in [start, end)} resample(x)[j],
 * without resampling all of x: one frame of `new` outputs is sum_d H[d] x[f orig + d - width]
 * with H the sum of the phases' bands (~2 width + orig taps per `orig` inputs, about a tenth
 * of the resampling work), plus the few outputs of a partial frame at each range end.
 * Equal rates sum x itself. The sums are float64 (the outputs are not rounded to float32).
 */
export function resampledRangeSums(
  x: Float32Array,
  origFreq: number,
  newFreq: number,
  options: Partial<ResampleOptions>,
  ranges: ReadonlyArray<{ start: number; end: number }>,
): number[] {
  const resolved = checkResampleArguments(x, origFreq, newFreq, options);
  if (origFreq === newFreq) {
    return ranges.map(({ start, end }) => {
      let sum = 0;
      for (let i = Math.max(start, 0); i < Math.min(end, x.length); i++) sum += x[i]!;
      return sum;
    });
  }
  const kernel = sincResampleKernel(origFreq, newFreq, resolved);
  const { orig, width, bandStart, bandLength: L, taps } = kernel;
  const newRate = kernel.new;
  // H[d]: all phases' taps at padded offset d of a frame
  const frameKernel = new Float64Array(2 * width + orig + L);
  for (let p = 0; p < newRate; p++) {
    for (let k = 0; k < L; k++) frameKernel[bandStart[p]! + k]! += taps[p * L + k]!;
  }
  const outLength = Math.ceil((newRate * x.length) / orig);
  const frames = Math.ceil(outLength / newRate);
  // frameSums[f]: the sum of frame f's `new` outputs, computed once and only where a range needs it
  const frameSums = new Float64Array(frames).fill(Number.NaN);
  const frameSum = (f: number): number => {
    let acc = frameSums[f]!;
    if (!Number.isNaN(acc)) return acc;
    const s = f * orig - width;
    acc = 0;
    const dTo = Math.min(frameKernel.length, x.length - s);
    for (let d = Math.max(0, -s); d < dTo; d++) acc += frameKernel[d]! * x[s + d]!;
    frameSums[f] = acc;
    return acc;
  };
  // sum of the outputs [frame * new, frame * new + count) of one frame, one by one
  const partial = (frame: number, count: number): number => {
    let sum = 0;
    for (let j = frame * newRate; j < frame * newRate + count; j++) sum += resampledSample(x, kernel, j);
    return sum;
  };
  return ranges.map(({ start, end }) => {
    const from = Math.min(Math.max(start, 0), outLength);
    const to = Math.min(Math.max(end, from), outLength);
    const f0 = Math.floor(from / newRate);
    const f1 = Math.floor(to / newRate);
    // sum over [f0 new, f1 new) by frames, then the ends: - [f0 new, from) + [f1 new, to)
    let sum = 0;
    for (let f = f0; f < f1; f++) sum += frameSum(f);
    return sum - partial(f0, from - f0 * newRate) + partial(f1, to - f1 * newRate);
  });
}

/**
 * Resamples one channel from `origFreq` to `newFreq` (integers, Hz) exactly as
 * torchaudio.functional.resample (0.13) does: same kernel, padding and output length
 * ceil(new * n / orig) after gcd reduction. Equal rates return a copy. Pure: `x` is not changed.
 *
 * @param x samples, float32 [n]
 * @returns float32 [ceil(newFreq * n / origFreq)]
 */
export function resampleSinc(
  x: Float32Array,
  origFreq: number,
  newFreq: number,
  options: Partial<ResampleOptions> = {},
): Float32Array {
  const resolved = checkResampleArguments(x, origFreq, newFreq, options);
  if (origFreq === newFreq) return x.slice();
  return applySincResampleKernel(x, sincResampleKernel(origFreq, newFreq, resolved));
}

/**
 * `resampleSinc` computed only where it will be read: the output has its full length, the
 * samples inside `ranges` (output indices [start, end)) equal resampleSinc's, and every other
 * sample is 0. ImageBind reads 3 clips of 2 s: for a 10 s sound that skips 40% of the work,
 * for a minute 90%.
 */
export function resampleSincRanges(
  x: Float32Array,
  origFreq: number,
  newFreq: number,
  options: Partial<ResampleOptions>,
  ranges: ReadonlyArray<{ start: number; end: number }>,
): Float32Array {
  const resolved = checkResampleArguments(x, origFreq, newFreq, options);
  if (origFreq === newFreq) {
    const y = new Float32Array(x.length);
    for (const { start, end } of ranges) y.set(x.subarray(Math.max(0, start), Math.min(end, x.length)), Math.max(0, start));
    return y;
  }
  const kernel = sincResampleKernel(origFreq, newFreq, resolved);
  const y = new Float32Array(Math.ceil((kernel.new * x.length) / kernel.orig));
  // merge overlapping ranges so no output is computed twice
  const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  let from = -1;
  let to = -1;
  for (const { start, end } of sorted) {
    if (start > to) {
      if (to > from) applySincResampleKernelRange(x, kernel, y, from, to);
      from = start;
      to = end;
    } else to = Math.max(to, end);
  }
  if (to > from) applySincResampleKernelRange(x, kernel, y, from, to);
  return y;
}
