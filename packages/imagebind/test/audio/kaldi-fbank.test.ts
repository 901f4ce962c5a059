import { describe, expect, it } from 'vitest';

import {
  AudioError,
  FLOAT32_EPSILON,
  hannWindow,
  inverseMelScale,
  KaldiFbank,
  kaldiFbank,
  kaldiFbankFor,
  kaldiMelBanks,
  kaldiWindow,
  melScale,
  type KaldiFbankOptions,
} from '../../src/audio/index.js';
import { DEMO_REFERENCE, readChannels, readIndex, readNpy } from './reference.js';

const index = readIndex(DEMO_REFERENCE);
const IMAGEBIND_FBANK = index.preprocess.fbank;
const { std } = index.preprocess.normalize;

// Parity with torchaudio.compliance.kaldi.fbank (float32): log-mel outputs within 1e-3 after
// ImageBind's normalisation (x - mean) / std, i.e. |a - b| / std < 1e-3; linear (non-log)
// outputs within 1e-4 relative.
const NORMALISED_TOLERANCE = 1e-3;
const LINEAR_RELATIVE_TOLERANCE = 1e-4;

describe('kaldiFbank against torchaudio (committed references)', () => {
  for (const ref of index.fbank ?? []) {
    const o = ref.options;
    it(`${ref.name}: ${o.windowType}, ${o.numMelBins} bins, snipEdges ${o.snipEdges}, ${o.useLogFbank ? 'log' : 'linear'} ${o.usePower ? 'power' : 'magnitude'}`, () => {
      const input = readChannels(DEMO_REFERENCE, ref.input)[0]!.slice(0, ref.inputSamples);
      const expected = readNpy(DEMO_REFERENCE, ref.output);
      const actual = kaldiFbank(input, ref.sampleRate, o);
      expect([actual.frames, actual.bins]).toEqual(expected.shape);
      for (let i = 0; i < expected.data.length; i++) {
        const a = actual.data[i]!;
        const b = expected.data[i]!;
        if (o.useLogFbank) expect(Math.abs(a - b) / std).toBeLessThan(NORMALISED_TOLERANCE);
        else expect(Math.abs(a - b)).toBeLessThanOrEqual(LINEAR_RELATIVE_TOLERANCE * Math.abs(b) + 1e-6);
      }
    });
  }
});

describe('frames', () => {
  const twoSeconds = new Float32Array(32000).map((_, i) => Math.sin(i * 0.05));

  it('gives 198 frames for 2 s at 16 kHz with snipEdges (1 + (32000 - 400) // 160)', () => {
    const result = kaldiFbank(twoSeconds, 16000, IMAGEBIND_FBANK);
    expect(result.frames).toBe(198);
    expect(result.bins).toBe(128);
    expect(result.data.length).toBe(198 * 128);
  });

  it('gives 200 frames without snipEdges ((32000 + 80) // 160)', () => {
    expect(kaldiFbank(twoSeconds, 16000, { ...IMAGEBIND_FBANK, snipEdges: false }).frames).toBe(200);
  });

  it('uses a 400-sample window, 160-sample shift and a 512-point FFT at 16 kHz', () => {
    const fbank = new KaldiFbank(16000, IMAGEBIND_FBANK);
    expect(fbank.windowSize).toBe(400);
    expect(fbank.windowShift).toBe(160);
    expect(fbank.paddedWindowSize).toBe(512);
    expect(fbank.melBanks.filters.length).toBe(128 * 257); // melFilters: [128, 257]
  });

  it('floors the log at float32 epsilon: silence gives log(1.1920929e-07) everywhere', () => {
    const result = kaldiFbank(new Float32Array(1600), 16000, IMAGEBIND_FBANK);
    expect(result.frames).toBe(8);
    for (const v of result.data) expect(v).toBeCloseTo(Math.log(FLOAT32_EPSILON), 5);
    expect(Math.log(FLOAT32_EPSILON)).toBeCloseTo(-15.942385, 5);
  });

  it('puts a tone\'s energy in the mel bin whose centre is nearest its frequency', () => {
    const fbank = new KaldiFbank(16000, IMAGEBIND_FBANK);
    const tone = new Float32Array(4000).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const { data, bins } = fbank.compute(tone);
    const row = Array.from(data.subarray(5 * bins, 6 * bins));
    const loudest = row.indexOf(Math.max(...row));
    const centres = Array.from(fbank.melBanks.centerFreqs);
    const nearest = centres.reduce((best, f, i) => (Math.abs(f - 1000) < Math.abs(centres[best]! - 1000) ? i : best), 0);
    expect(Math.abs(loudest - nearest)).toBeLessThanOrEqual(1);
  });

  it('keeps a NaN sample NaN in its frames (torch.max propagates NaN), not floored', () => {
    const x = new Float32Array(800).map((_, i) => Math.sin(i));
    x[100] = Number.NaN;
    const { data, bins } = kaldiFbank(x, 16000, IMAGEBIND_FBANK);
    expect(Number.isNaN(data[0])).toBe(true); // frame 0 holds sample 100
    expect(Number.isFinite(data[2 * bins])).toBe(true); // frame 2 covers samples 320-719
  });

  it('builds one KaldiFbank per sample rate and options', () => {
    expect(kaldiFbankFor(16000, IMAGEBIND_FBANK)).toBe(kaldiFbankFor(16000, { ...IMAGEBIND_FBANK }));
    expect(kaldiFbankFor(16000, IMAGEBIND_FBANK)).not.toBe(kaldiFbankFor(8000, IMAGEBIND_FBANK));
  });
});

describe('windows', () => {
  it('the symmetric hann window differs from the periodic one', () => {
    const symmetric = hannWindow(400, { periodic: false });
    const periodic = hannWindow(400, { periodic: true });
    expect(symmetric[0]).toBe(0);
    expect(symmetric[399]).toBeCloseTo(0, 7);
    expect(symmetric[100]).toBeCloseTo(symmetric[299]!, 6); // symmetric about the centre
    expect(periodic[0]).toBe(0);
    expect(periodic[399]).toBeGreaterThan(1e-5); // the periodic window does not come back to 0: sin^2(pi/400)
    expect(periodic[200]).toBe(1); // its peak sits at N / 2
    expect(Math.max(...Array.from(symmetric, (v, i) => Math.abs(v - periodic[i]!)))).toBeGreaterThan(1e-3);
  });

  it('Kaldi\'s "hanning" is the symmetric hann window, 0.5 - 0.5 cos(2 pi n / (N - 1))', () => {
    const hanning = kaldiWindow('hanning', 400);
    expect(Array.from(hanning)).toEqual(Array.from(hannWindow(400, { periodic: false })));
    for (const n of [1, 57, 200, 333]) expect(hanning[n]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI * n) / 399), 6);
  });

  it('povey is hann to the 0.85, hamming ends at 0.08, rectangular is all ones', () => {
    const hann = kaldiWindow('hanning', 64);
    const povey = kaldiWindow('povey', 64);
    expect(povey[20]).toBeCloseTo(Math.pow(hann[20]!, 0.85), 6);
    expect(kaldiWindow('hamming', 64)[0]).toBeCloseTo(0.08, 6);
    expect(Array.from(kaldiWindow('rectangular', 5))).toEqual([1, 1, 1, 1, 1]);
    expect(kaldiWindow('blackman', 64)[0]).toBeCloseTo(0, 6); // 0.42 - 0.5 + 0.08
  });
});

describe('mel scale and filters', () => {
  it('is Kaldi\'s mel = 1127 ln(1 + f / 700)', () => {
    expect(melScale(700)).toBeCloseTo(1127 * Math.LN2, 10);
    expect(melScale(0)).toBe(0);
    expect(melScale(8000)).toBeCloseTo(2840.0377, 3);
    for (const f of [20, 440, 3000, 8000]) expect(inverseMelScale(melScale(f))).toBeCloseTo(f, 8);
  });

  it('builds 128 triangles over 257 bins between 20 Hz and Nyquist, the Nyquist column zero', () => {
    const banks = kaldiMelBanks(128, 512, 16000, 20, 0);
    expect(banks.filters.length).toBe(128 * 257);
    expect(banks.numFftBins).toBe(257);
    const empty: number[] = [];
    for (let b = 0; b < 128; b++) {
      const row = banks.filters.subarray(b * 257, (b + 1) * 257);
      expect(row[256]).toBe(0);
      expect(Math.max(...row)).toBeLessThanOrEqual(1);
      if (banks.end[b] === banks.start[b]) empty.push(b);
      if (b > 0) expect(banks.centerFreqs[b]).toBeGreaterThan(banks.centerFreqs[b - 1]!);
    }
    // Golden values from torchaudio.compliance.kaldi.get_mel_banks(128, 512, 16000, 20, 0, ...):
    // bin 3 is narrower than the 31.25 Hz FFT spacing and catches no bin (always log(eps));
    // the first filter starts at FFT bin 1; centres 34.043 Hz ... 7833.559 Hz; peak 0.99567.
    expect(empty).toEqual([3]);
    expect(Array.from(banks.start.subarray(0, 7))).toEqual([1, 2, 2, 0, 3, 3, 4]);
    expect(banks.centerFreqs[0]).toBeCloseTo(34.043087, 3);
    expect(banks.centerFreqs[127]).toBeCloseTo(7833.5586, 2);
    expect(Math.max(...banks.filters)).toBeCloseTo(0.99567109, 6);
  });

  it('takes highFreq <= 0 as an offset from Nyquist', () => {
    const offset = kaldiMelBanks(40, 512, 16000, 100, -400);
    const explicit = kaldiMelBanks(40, 512, 16000, 100, 7600);
    expect(Array.from(offset.filters)).toEqual(Array.from(explicit.filters));
  });
});

describe('fbank option validation', () => {
  const x = new Float32Array(16000);
  const cases: Array<[string, Partial<KaldiFbankOptions> & Record<string, unknown>, string, RegExp]> = [
    ['dither', { dither: 1 }, 'UNSUPPORTED_OPTION', /for fbank options.dither but received 1/],
    ['useEnergy', { useEnergy: true }, 'UNSUPPORTED_OPTION', /for fbank options.useEnergy but received true/],
    ['roundToPowerOfTwo false', { roundToPowerOfTwo: false }, 'UNSUPPORTED_OPTION', /roundToPowerOfTwo/],
    ['a slaney mel scale', { melScale: 'slaney' as never }, 'UNSUPPORTED_OPTION', /melScale but received "slaney"/],
    ['an unknown window', { windowType: 'kaiser' as never }, 'INVALID_OPTION', /windowType but received "kaiser"/],
    ['3 mel bins', { numMelBins: 3 }, 'INVALID_OPTION', /an integer > 3 for fbank options.numMelBins/],
    ['a pre-emphasis above 1', { preemphasisCoefficient: 1.2 }, 'INVALID_OPTION', /preemphasisCoefficient/],
    ['a string frame length', { frameLengthMs: '25' as never }, 'INVALID_OPTION', /frameLengthMs but received "25"/],
    ['a missing option', { snipEdges: undefined }, 'INVALID_OPTION', /a boolean for fbank options.snipEdges but received undefined/],
    ['an unknown option', { frameLength: 25 } as never, 'INVALID_OPTION', /received "frameLength"/],
    ['a low frequency above Nyquist', { lowFreq: 9000 }, 'INVALID_OPTION', /lowFreq but received 9000/],
    ['a frame under 2 samples', { frameLengthMs: 0.05 }, 'INVALID_OPTION', /frameLengthMs/],
  ];
  for (const [what, change, code, message] of cases) {
    it(`refuses ${what} with ${code}`, () => {
      const options = { ...IMAGEBIND_FBANK, ...change } as KaldiFbankOptions;
      try {
        kaldiFbank(x, 16000, options);
        expect.unreachable('should have thrown');
      } catch (error) {
        expect(error).toBeInstanceOf(AudioError);
        expect((error as AudioError).code).toBe(code);
        expect((error as Error).message).toMatch(message);
      }
    });
  }

  it('refuses a waveform shorter than one frame with AUDIO_TOO_SHORT (torchaudio asserts there)', () => {
    expect(() => kaldiFbank(new Float32Array(399), 16000, IMAGEBIND_FBANK)).toThrow(
      expect.objectContaining({ code: 'AUDIO_TOO_SHORT', message: expect.stringMatching(/at least 400 samples/) }),
    );
    expect(kaldiFbank(new Float32Array(400), 16000, IMAGEBIND_FBANK).frames).toBe(1);
  });
});
