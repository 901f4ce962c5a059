// Kaldi's mel filter bank (Kaldi mel-computations.cc), as torchaudio.compliance.kaldi.get_mel_banks
// builds it (without VTLN warping), in float32 like torch.
import { audioGuards } from './audio-error.js';

const { invalid } = audioGuards;

const f32 = Math.fround;

/** HTK / Kaldi mel scale: mel = 1127 ln(1 + f / 700) (torchaudio kaldi.mel_scale_scalar). */
export function melScale(freqHz: number): number {
  return 1127.0 * Math.log(1.0 + freqHz / 700.0);
}

/** Inverse of `melScale`: f = 700 (exp(mel / 1127) - 1). */
export function inverseMelScale(mel: number): number {
  return 700.0 * (Math.exp(mel / 1127.0) - 1.0);
}

export interface KaldiMelBanks {
  /** Triangular filters over the FFT bins, Nyquist column zero as torchaudio pads it. */
  filters: Float32Array; // [numBins, paddedWindowSize / 2 + 1]
  numBins: number;
  /** paddedWindowSize / 2 + 1 */
  numFftBins: number;
  /** Per filter, the first and one-past-last FFT bin with a non-zero weight. */
  start: Int32Array; // [numBins]
  end: Int32Array; // [numBins]
  /** Centre frequency of each filter, Hz. */
  centerFreqs: Float64Array; // [numBins]
}

/**
 * Kaldi mel filter bank: `numBins` triangles equally spaced in mel between lowFreq and
 * highFreq (highFreq <= 0 means an offset from Nyquist), over the FFT bins k * sampleRate /
 * paddedWindowSize for k < paddedWindowSize / 2 (the Nyquist bin gets weight 0).
 */
export function kaldiMelBanks(
  numBins: number,
  paddedWindowSize: number,
  sampleRate: number,
  lowFreq: number,
  highFreq: number,
): KaldiMelBanks {
  if (!Number.isSafeInteger(numBins) || numBins <= 3) throw invalid('an integer > 3', 'numMelBins', numBins);
  if (!Number.isSafeInteger(paddedWindowSize) || paddedWindowSize <= 0 || paddedWindowSize % 2 !== 0) {
    throw invalid('an even FFT size', 'paddedWindowSize', paddedWindowSize);
  }
  const numFftBins = paddedWindowSize / 2; // bins with a weight; the Nyquist bin is padded on
  const nyquist = 0.5 * sampleRate;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist)) {
    throw invalid(`a low frequency in [0, ${nyquist}) Hz (Nyquist)`, 'lowFreq', lowFreq);
  }
  if (!(high > 0 && high <= nyquist && lowFreq < high)) {
    throw invalid(
      `a high frequency in (lowFreq ${lowFreq}, ${nyquist}] Hz, or an offset <= 0 from Nyquist`,
      'highFreq',
      highFreq,
    );
  }
  const fftBinWidth = sampleRate / paddedWindowSize;
  const melLow = melScale(lowFreq);
  const melHigh = melScale(high);
  const delta = (melHigh - melLow) / (numBins + 1);

  // mel of each FFT bin, float32: mel_scale(fft_bin_width * arange(num_fft_bins))
  const binMel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) {
    const freq = f32(k * f32(fftBinWidth));
    binMel[k] = f32(1127.0 * f32(Math.log(f32(1.0 + f32(freq / 700.0)))));
  }

  const width = numFftBins + 1;
  const filters = new Float32Array(numBins * width);
  const start = new Int32Array(numBins);
  const end = new Int32Array(numBins);
  const centerFreqs = new Float64Array(numBins);
  const deltaF32 = f32(delta);
  const lowF32 = f32(melLow);
  for (let b = 0; b < numBins; b++) {
    const left = f32(f32(b * deltaF32) + lowF32);
    const center = f32(f32((b + 1) * deltaF32) + lowF32);
    const right = f32(f32((b + 2) * deltaF32) + lowF32);
    centerFreqs[b] = inverseMelScale(center);
    let first = -1;
    let last = -1;
    for (let k = 0; k < numFftBins; k++) {
      const mel = binMel[k]!;
      const up = f32(f32(mel - left) / f32(center - left));
      const down = f32(f32(right - mel) / f32(right - center));
      const weight = Math.max(0, Math.min(up, down));
      if (weight > 0) {
        filters[b * width + k] = weight;
        if (first < 0) first = k;
        last = k;
      }
    }
    start[b] = first < 0 ? 0 : first;
    end[b] = first < 0 ? 0 : last + 1;
  }
  return { filters, numBins, numFftBins: width, start, end, centerFreqs };
}
