// Analysis windows, in float32 as torch builds them for a float32 waveform.
import { audioGuards } from './audio-error.js';
import type { KaldiWindowType } from './options.js';

const { invalid } = audioGuards;

const f32 = Math.fround;

/**
 * Generalised cosine window alpha - beta cos(2 pi n / N) with N = length - 1 (symmetric) or
 * length (periodic), computed as torch.hamming_window does in float32
 * (arange * 2pi/N, cos, * -beta, + alpha). hann: alpha = beta = 0.5.
 */
function cosineWindow(length: number, periodic: boolean, alpha: number, beta: number): Float32Array {
  const w = new Float32Array(length);
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const denominator = periodic ? length : length - 1;
  const step = f32((Math.PI * 2) / denominator);
  const a = f32(alpha);
  const b = f32(-beta);
  for (let n = 0; n < length; n++) w[n] = f32(f32(f32(Math.cos(f32(n * step))) * b) + a);
  return w;
}

/**
 * torch.hann_window(length, periodic): symmetric (periodic = false) is 0 at both ends, the
 * window Kaldi's "hanning" uses; periodic drops the last point of a length + 1 window
 * (what STFTs use).
 *
 * @returns float32 [length]
 */
export function hannWindow(length: number, { periodic }: { periodic: boolean }): Float32Array {
  if (!Number.isSafeInteger(length) || length <= 0) throw invalid('an integer > 0', 'window length', length);
  return cosineWindow(length, periodic, 0.5, 0.5);
}

/**
 * Kaldi's frame windows as torchaudio.compliance.kaldi._feature_window_function builds them
 * (Kaldi feature-window.cc): hanning (symmetric hann), hamming (0.54 - 0.46 cos, symmetric),
 * povey (hann ^ 0.85), rectangular, blackman (generalised, coefficient default 0.42).
 *
 * @returns float32 [length]
 */
export function kaldiWindow(type: KaldiWindowType, length: number, blackmanCoeff = 0.42): Float32Array {
  switch (type) {
    case 'hanning':
      return cosineWindow(length, false, 0.5, 0.5);
    case 'hamming':
      return cosineWindow(length, false, 0.54, 0.46);
    case 'povey':
      return cosineWindow(length, false, 0.5, 0.5).map((v) => f32(Math.pow(v, f32(0.85))));
    case 'rectangular':
      return new Float32Array(length).fill(1);
    case 'blackman': {
      // coeff - 0.5 cos(a n) + (0.5 - coeff) cos(2 a n), a = 2 pi / (length - 1)
      const a = (2 * Math.PI) / (length - 1);
      const c0 = f32(blackmanCoeff);
      const c2 = f32(0.5 - blackmanCoeff);
      const w = new Float32Array(length);
      for (let n = 0; n < length; n++) {
        const first = f32(f32(0.5) * f32(Math.cos(f32(f32(a) * n))));
        const second = f32(c2 * f32(Math.cos(f32(f32(2 * a) * n))));
        w[n] = f32(f32(c0 - first) + second);
      }
      return w;
    }
    default:
      throw invalid('a Kaldi window type', 'windowType', type);
  }
}
