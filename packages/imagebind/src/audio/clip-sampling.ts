// ImageBind's audio clips: pytorchvideo's ConstantClipsPerVideoSampler
// (pytorchvideo/data/clip_sampling.py) as data.py get_clip_timepoints drives it, then data.py's
// sample slicing waveform[:, int(start * sr) : int(end * sr)].
//
// The sampler works in Python Fractions:
//   maxStart = Fraction(max(duration - clipDuration, 0))   (the difference is a float:
//                                                           float - Fraction is a float)
//   step     = maxStart / max(clipsPerInput - 1, 1)        (pytorchvideo at 28fe037, the
//                                                           commit ImageBind pins, after the
//                                                           2022-04-28 "Bug fix in Constant
//                                                           clip sampler"; older releases
//                                                           divided by clipsPerInput)
//   start_k  = k step, end_k = start_k + clipDuration
// and stops after clipsPerInput clips (or once k step > maxStart, which only happens then).
// Audio shorter than one clip gives clipsPerInput identical clips [0, duration), since the
// slice end is clamped to the array. The same exact arithmetic is done here with BigInt
// dyadic rationals, so sample indices match Python's int() exactly.
import { audioGuards } from './audio-error.js';

const { invalid } = audioGuards;

/** A non-negative rational num / den. */
interface Rational {
  num: bigint;
  den: bigint;
}

/** The exact value of a finite double >= 0 (what Python's Fraction(float) gives). */
function exactRational(x: number): Rational {
  let den = 1n;
  while (!Number.isInteger(x)) {
    x *= 2; // exact: a power-of-two scaling of a finite double
    den *= 2n;
  }
  return { num: BigInt(x), den };
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** num / den rounded to the nearest double, ties to even (Python's float(Fraction)). */
function rationalToNumber({ num, den }: Rational): number {
  if (num === 0n) return 0;
  // Scale so the quotient has >= 66 significant bits; a sticky bit stands for any remainder.
  const shift = Math.max(0, 66 + bitLength(den) - bitLength(num));
  const scaled = num << BigInt(shift);
  let q = scaled / den;
  if (scaled % den !== 0n) q |= 1n;
  let value = Number(q); // BigInt -> Number rounds to nearest, ties to even
  let s = shift;
  while (s > 0) {
    const step = Math.min(s, 1000);
    value /= 2 ** step;
    s -= step;
  }
  return value;
}

/** floor(r * k) for an integer k >= 0 (Python int() of a non-negative Fraction). */
function floorTimes(r: Rational, k: number): number {
  return Number((r.num * BigInt(k)) / r.den);
}

function add(a: Rational, b: Rational): Rational {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

/** Exact clip boundaries in seconds. */
function exactClipSpans(durationSec: number, clipDuration: number, clipsPerInput: number): Array<{ start: Rational; end: Rational }> {
  const clip = exactRational(clipDuration);
  const difference = durationSec - clipDuration; // a double, as in Python
  const maxStart = exactRational(difference > 0 ? difference : 0);
  const step: Rational = { num: maxStart.num, den: maxStart.den * BigInt(Math.max(clipsPerInput - 1, 1)) };
  const spans: Array<{ start: Rational; end: Rational }> = [];
  for (let index = 0; ; ) {
    const start: Rational = { num: step.num * BigInt(index), den: step.den };
    spans.push({ start, end: add(start, clip) });
    index += 1;
    // is_last_clip: index >= clips_per_video or step * index > max_start
    if (index >= clipsPerInput || step.num * BigInt(index) * maxStart.den > maxStart.num * step.den) return spans;
  }
}

function checkSpanOptions(clipDuration: number, clipsPerInput: number): void {
  if (typeof clipDuration !== 'number' || !Number.isFinite(clipDuration) || clipDuration <= 0) {
    throw invalid('a clip duration > 0 (seconds)', 'clipDuration', clipDuration);
  }
  if (typeof clipsPerInput !== 'number' || !Number.isSafeInteger(clipsPerInput) || clipsPerInput <= 0) {
    throw invalid('an integer > 0', 'clipsPerInput', clipsPerInput);
  }
}

export interface AudioClipSpan {
  /** Seconds, the double nearest to the sampler's Fraction. */
  start: number;
  end: number;
}

/**
 * The clips ImageBind reads from a sound of `durationSec` seconds: `clipsPerInput` clips of
 * `clipDuration` s starting at k * max(durationSec - clipDuration, 0) / max(clipsPerInput - 1, 1)
 * (pytorchvideo ConstantClipsPerVideoSampler). Ends may lie past durationSec.
 */
export function audioClipSpans(durationSec: number, clipDuration: number, clipsPerInput: number): AudioClipSpan[] {
  if (typeof durationSec !== 'number' || !Number.isFinite(durationSec) || durationSec < 0) {
    throw invalid('a duration >= 0 (seconds)', 'durationSec', durationSec);
  }
  checkSpanOptions(clipDuration, clipsPerInput);
  return exactClipSpans(durationSec, clipDuration, clipsPerInput).map(({ start, end }) => ({
    start: rationalToNumber(start),
    end: rationalToNumber(end),
  }));
}

export interface AudioClipRange {
  /** Sample indices [start, end) into the waveform, clamped to its length. */
  start: number;
  end: number;
}

/**
 * The sample ranges data.py slices for a waveform of `numSamples` at `sampleRate` (an
 * integer): duration = numSamples / sampleRate, then [int(start * sr), int(end * sr)) from
 * `audioClipSpans`' exact values, clamped to numSamples as a Python slice is.
 */
export function audioClipSampleRanges(
  numSamples: number,
  sampleRate: number,
  clipDuration: number,
  clipsPerInput: number,
): AudioClipRange[] {
  if (typeof numSamples !== 'number' || !Number.isSafeInteger(numSamples) || numSamples < 0) {
    throw invalid('an integer >= 0', 'numSamples', numSamples);
  }
  if (typeof sampleRate !== 'number' || !Number.isSafeInteger(sampleRate) || sampleRate <= 0) {
    throw invalid('an integer sample rate > 0 (Hz)', 'sampleRate', sampleRate);
  }
  checkSpanOptions(clipDuration, clipsPerInput);
  return exactClipSpans(numSamples / sampleRate, clipDuration, clipsPerInput).map(({ start, end }) => ({
    start: Math.min(floorTimes(start, sampleRate), numSamples),
    end: Math.min(floorTimes(end, sampleRate), numSamples),
  }));
}
