// Kaldi log-mel filter banks, matching torchaudio.compliance.kaldi.fbank (torchaudio 0.13,
// torchaudio/compliance/kaldi.py) for the options ImageBind uses (data.py waveform2melspec:
// htk_compat, hanning, dither 0, 25 ms / 10 ms, 128 bins) and the other values those options
// take, except the ones refused by name in options.ts (dither != 0, use_energy,
// round_to_power_of_two = false, VTLN).
//
// Hand-written rather than built on @huggingface/transformers (whose ASTFeatureExtractor is
// this front end), after evaluating transformers.js 4.3.1: its numbers agree with torchaudio
// (3.4e-5 after ImageBind's normalisation on the committed reference), but `spectrogram`,
// `mel_filter_bank` and `window_function` are not exported from the package, the extractor
// fixes 400 / 160 / 512 / 20 Hz in code instead of taking them from a config (the manifest
// must own them), it ran ~5x slower (85 ms vs 15 ms for 3 clips of 2 s, same machine), and
// the package installs 474 MB with its own onnxruntime-node, onnxruntime-web and sharp. The
// FFT is fft.js (radix-4, real input).
//
// Per frame (torchaudio kaldi._get_window, then fbank):
//   1. frame i = x[i shift, i shift + size)        (snip_edges; else reflected edges)
//   2. remove_dc_offset: subtract the frame mean
//   3. pre-emphasis: y[j] = x[j] - c x[max(j - 1, 0)]  (c = 0: none)
//   4. multiply by the window, zero-pad to the next power of two
//   5. |rfft|^2 (use_power) or |rfft|
//   6. mel energies = spectrum . melFilters^T ; log(max(e, float32 eps)) (use_log_fbank)
// The arithmetic is float64 with float32 windows, filters and output; torchaudio runs it in
// float32, so outputs agree to float32 rounding (tested within 1e-3 after ImageBind's
// normalisation; at most 5e-5 on the committed references).
import FFT from 'fft.js';

import { AudioError, audioGuards } from './audio-error.js';
import { kaldiMelBanks, type KaldiMelBanks } from './mel.js';
import { parseFbankOptions, type KaldiFbankOptions } from './options.js';
import { kaldiWindow } from './windows.js';

const { invalid } = audioGuards;

/** numeric_limits<float>::epsilon(): the floor torchaudio's kaldi.fbank puts under the log. */
export const FLOAT32_EPSILON = 1.1920928955078125e-7;
const MILLISECONDS_TO_SECONDS = 0.001;

export interface FbankResult {
  /** Row-major log-mel energies, one row per frame. */
  data: Float32Array; // [frames, bins]
  frames: number;
  bins: number;
}

/** The smallest power of two >= x (torchaudio kaldi._next_power_of_2). */
function nextPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/**
 * A Kaldi fbank for one sample rate and option set: window, mel filters and FFT plan are
 * built once in the constructor; `compute` is pure (scratch buffers are reused, never shared
 * across calls, since compute runs to completion synchronously).
 */
export class KaldiFbank {
  readonly sampleRate: number;
  readonly options: Readonly<KaldiFbankOptions>;
  /** Samples per frame, int(sampleRate * frameLengthMs / 1000). */
  readonly windowSize: number;
  /** Samples between frames, int(sampleRate * frameShiftMs / 1000). */
  readonly windowShift: number;
  /** FFT size: next power of two of windowSize. */
  readonly paddedWindowSize: number;
  /** Frame window, float32 [windowSize]. */
  readonly window: Float32Array;
  /** melFilters: [numMelBins, paddedWindowSize / 2 + 1] (e.g. [128, 257]). */
  readonly melBanks: KaldiMelBanks;

  private readonly fft: FFT;
  private readonly frame: Float64Array; // [paddedWindowSize]
  private readonly spectrum: Float64Array; // [2 * paddedWindowSize] complex interleaved
  private readonly power: Float64Array; // [paddedWindowSize / 2 + 1]
  private readonly edgeFrame: Float32Array; // [windowSize] frames that reach past either end

  constructor(sampleRate: number, options: KaldiFbankOptions) {
    if (typeof sampleRate !== 'number' || !Number.isFinite(sampleRate) || sampleRate <= 0) {
      throw invalid('a sample rate > 0 (Hz)', 'sampleRate', sampleRate);
    }
    const o = parseFbankOptions(options);
    this.sampleRate = sampleRate;
    this.options = Object.freeze(o);
    // torchaudio kaldi._get_waveform_and_window_properties (same double arithmetic, then int())
    this.windowShift = Math.trunc(sampleRate * o.frameShiftMs * MILLISECONDS_TO_SECONDS);
    this.windowSize = Math.trunc(sampleRate * o.frameLengthMs * MILLISECONDS_TO_SECONDS);
    if (this.windowSize < 2) {
      throw invalid(`a frame length of at least 2 samples at ${sampleRate} Hz`, 'frameLengthMs', o.frameLengthMs);
    }
    if (this.windowShift < 1) {
      throw invalid(`a frame shift of at least 1 sample at ${sampleRate} Hz`, 'frameShiftMs', o.frameShiftMs);
    }
    this.paddedWindowSize = nextPowerOfTwo(this.windowSize);
    this.window = kaldiWindow(o.windowType, this.windowSize, o.blackmanCoeff);
    this.melBanks = kaldiMelBanks(o.numMelBins, this.paddedWindowSize, sampleRate, o.lowFreq, o.highFreq);
    this.fft = new FFT(this.paddedWindowSize);
    this.frame = new Float64Array(this.paddedWindowSize);
    this.spectrum = new Float64Array(2 * this.paddedWindowSize);
    this.power = new Float64Array(this.paddedWindowSize / 2 + 1);
    this.edgeFrame = new Float32Array(this.windowSize);
  }

  /** Frames for a waveform of `numSamples` (torchaudio kaldi._get_strided); throws AUDIO_TOO_SHORT below one frame. */
  frameCount(numSamples: number): number {
    if (numSamples < this.windowSize) {
      // torchaudio asserts 2 <= window_size <= len(waveform) before anything else.
      throw new AudioError(
        'AUDIO_TOO_SHORT',
        `Expected at least ${this.windowSize} samples (one ${this.options.frameLengthMs} ms frame at ${this.sampleRate} Hz) but received ${numSamples}`,
      );
    }
    if (this.options.snipEdges) return 1 + Math.floor((numSamples - this.windowSize) / this.windowShift);
    return Math.floor((numSamples + Math.floor(this.windowShift / 2)) / this.windowShift);
  }

  /**
   * Log-mel (or linear) filter-bank energies of one channel.
   * @param waveform float32 [n], n >= windowSize
   * @returns [frames, numMelBins] row-major
   */
  compute(waveform: Float32Array): FbankResult {
    const o = this.options;
    const n = waveform.length;
    const frames = this.frameCount(n);
    const bins = o.numMelBins;
    const data = new Float32Array(frames * bins);
    const { windowSize, windowShift, window, frame, spectrum, power, edgeFrame, fft } = this;
    const { filters, start, end, numFftBins } = this.melBanks;
    const c = o.preemphasisCoefficient;
    const removeDcOffset = o.removeDcOffset;
    const usePower = o.usePower;
    const useLogFbank = o.useLogFbank;
    // snip_edges = false: frames start at i shift - pad over x reflected at both ends
    // (torchaudio: pad = size // 2 - shift // 2, [x(pad-1)..x0] x [x(n-1)..x0]).
    const pad = o.snipEdges ? 0 : Math.floor(windowSize / 2) - Math.floor(windowShift / 2);

    for (let f = 0; f < frames; f++) {
      // 1. the frame: x[base, base + windowSize) of `source`
      let source = waveform;
      let base = f * windowShift - pad;
      if (base < 0 || base + windowSize > n) {
        for (let j = 0; j < windowSize; j++) {
          const r = base + j;
          edgeFrame[j] = waveform[r < 0 ? -r - 1 : r < n ? r : 2 * n - 1 - r]!;
        }
        source = edgeFrame;
        base = 0;
      }
      // 2. the DC offset (frame mean)
      let mean = 0;
      if (removeDcOffset) {
        let sum = 0;
        for (let j = 0; j < windowSize; j++) sum += source[base + j]!;
        mean = sum / windowSize;
      }
      // 3 + 4. pre-emphasis of the centred frame, y[j] = (x[j] - mean) - c (x[j-1] - mean) with
      // x[-1] = x[0] (replicate padding), times the window. The zero padding past windowSize is
      // never written.
      let previous = source[base]! - mean;
      for (let j = 0; j < windowSize; j++) {
        const centred = source[base + j]! - mean;
        frame[j] = (centred - c * previous) * window[j]!;
        previous = centred;
      }
      // 5. power (or magnitude) spectrum, bins 0..N/2
      fft.realTransform(spectrum, frame);
      for (let k = 0; k < numFftBins; k++) {
        const re = spectrum[2 * k]!;
        const im = spectrum[2 * k + 1]!;
        const p = re * re + im * im;
        power[k] = usePower ? p : Math.sqrt(p);
      }
      // 6. mel energies, log with the float32 epsilon floor
      const row = f * bins;
      for (let b = 0; b < bins; b++) {
        const filterRow = b * numFftBins;
        const kEnd = end[b]!;
        let energy = 0;
        for (let k = start[b]!; k < kEnd; k++) energy += filters[filterRow + k]! * power[k]!;
        // (written so a NaN stays NaN, as torch.max does)
        data[row + b] = useLogFbank ? Math.log(energy < FLOAT32_EPSILON ? FLOAT32_EPSILON : energy) : energy;
      }
    }
    return { data, frames, bins };
  }
}

// One KaldiFbank per (sample rate, options), kept in a small LRU.
const FBANK_CACHE_SIZE = 8;
const fbankCache = new Map<string, KaldiFbank>();

/** The KaldiFbank for these options, built once (cached by value) and reused. */
export function kaldiFbankFor(sampleRate: number, options: KaldiFbankOptions): KaldiFbank {
  const key = `${sampleRate}:${JSON.stringify(options)}`;
  const hit = fbankCache.get(key);
  if (hit) {
    fbankCache.delete(key);
    fbankCache.set(key, hit);
    return hit;
  }
  const fbank = new KaldiFbank(sampleRate, options);
  fbankCache.set(key, fbank);
  if (fbankCache.size > FBANK_CACHE_SIZE) fbankCache.delete(fbankCache.keys().next().value!);
  return fbank;
}

/**
 * torchaudio.compliance.kaldi.fbank on one channel.
 * @param waveform float32 [n]
 * @returns { data: [frames, numMelBins] row-major, frames, bins }
 */
export function kaldiFbank(waveform: Float32Array, sampleRate: number, options: KaldiFbankOptions): FbankResult {
  if (!(waveform instanceof Float32Array)) throw invalid('a Float32Array', 'waveform', waveform);
  return kaldiFbankFor(sampleRate, options).compute(waveform);
}
