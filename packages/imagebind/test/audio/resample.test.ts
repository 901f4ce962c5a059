import { describe, expect, it } from 'vitest';

import {
  AudioError,
  buildSincResampleKernel,
  parseResampleOptions,
  resampledLength,
  resampledRangeSums,
  resampleSinc,
  resampleSincRanges,
} from '../../src/audio/index.js';
import { DEMO_REFERENCE, hasReference, maxAbsDiff, readChannels, readIndex, readNpy, REAL_REFERENCE } from './reference.js';

// Parity with torchaudio.functional.resample (torchaudio 0.13.1, float32): max abs difference.
const RESAMPLE_TOLERANCE = 1e-4;

function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

describe('resampleSinc against torchaudio (committed references)', () => {
  const index = readIndex(DEMO_REFERENCE);

  for (const c of index.cases.filter((c) => c.resampled)) {
    it(`${c.name}: ${c.sampleRate} Hz -> ${index.preprocess.sampleRate} Hz within ${RESAMPLE_TOLERANCE}`, () => {
      const input = readChannels(DEMO_REFERENCE, c.input)[0]!;
      const expected = readChannels(DEMO_REFERENCE, c.resampled!)[0]!;
      const actual = resampleSinc(input, c.sampleRate, index.preprocess.sampleRate, index.preprocess.resample);
      expect(actual.length).toBe(expected.length);
      expect(maxAbsDiff(actual, expected)).toBeLessThan(RESAMPLE_TOLERANCE);
    });
  }

  for (const job of index.resample ?? []) {
    it(`${job.name} (${job.options.method}, width ${job.options.lowpassFilterWidth}, rolloff ${job.options.rolloff}) within ${RESAMPLE_TOLERANCE}`, () => {
      const input = readChannels(DEMO_REFERENCE, job.input)[job.channel]!.slice(0, job.inputSamples);
      const expected = readNpy(DEMO_REFERENCE, job.output).data;
      const actual = resampleSinc(input, job.origFreq, job.newFreq, job.options);
      expect(actual.length).toBe(job.length);
      expect(maxAbsDiff(actual, expected)).toBeLessThan(RESAMPLE_TOLERANCE);
    });
  }
});

describe.skipIf(!hasReference(REAL_REFERENCE))('resampleSinc on the real recordings (.cache reference)', () => {
  const index = hasReference(REAL_REFERENCE) ? readIndex(REAL_REFERENCE) : { cases: [], preprocess: null };
  it('has the recordings\' references', () => {
    expect(index.cases.length).toBeGreaterThan(0);
  });
  for (const c of index.cases) {
    it(`${c.name}: ${c.sampleRate} Hz -> 16 kHz within ${RESAMPLE_TOLERANCE}`, () => {
      const preprocess = index.preprocess!;
      const channels = readChannels(REAL_REFERENCE, c.input);
      const expected = readChannels(REAL_REFERENCE, c.resampled!);
      channels.forEach((x, i) => {
        const actual = resampleSinc(x, c.sampleRate, preprocess.sampleRate, preprocess.resample);
        expect(maxAbsDiff(actual, expected[i]!)).toBeLessThan(RESAMPLE_TOLERANCE);
      });
    });
  }
});

describe('resampleSinc behaviour', () => {
  it('gives torchaudio\'s output length ceil(new * n / orig) after gcd reduction', () => {
    expect(resampleSinc(new Float32Array(1000), 44100, 16000).length).toBe(363); // ceil(160 * 1000 / 441)
    expect(resampleSinc(new Float32Array(1001), 48000, 16000).length).toBe(334); // ceil(1001 / 3)
    expect(resampleSinc(new Float32Array(7), 8000, 16000).length).toBe(14);
    expect(resampledLength(441000, 44100, 16000)).toBe(160000);
    expect(resampledLength(5, 16000, 16000)).toBe(5);
  });

  it('returns an equal copy when the rates are equal', () => {
    const x = tone(440, 16000, 0.1);
    const y = resampleSinc(x, 16000, 16000);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual(Array.from(x));
  });

  it('keeps a tone below the cut-off and removes one above the new Nyquist frequency', () => {
    const kept = resampleSinc(tone(1000, 44100, 1), 44100, 16000);
    const removed = resampleSinc(tone(10000, 44100, 1), 44100, 16000);
    // away from the edges (the zero padding makes the first and last taps ring)
    expect(rms(kept, 1000, 15000)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(rms(removed, 1000, 15000)).toBeLessThan(0.01); // > 30 dB down (a 6-zero-crossing Hann sinc)
  });

  it('does not change its input', () => {
    const x = tone(300, 22050, 0.2);
    const copy = x.slice();
    resampleSinc(x, 22050, 16000, { method: 'sinc_interp_kaiser' });
    expect(x).toEqual(copy);
  });

  it('stores only the band of each phase, leaving out taps worth less than 1e-12 in all', () => {
    const hann = buildSincResampleKernel(44100, 16000, parseResampleOptions({}));
    expect(hann.orig).toBe(441);
    expect(hann.new).toBe(160);
    expect(hann.width).toBe(17); // ceil(6 * 441 / (160 * 0.99))
    expect(hann.bandLength).toBeLessThanOrEqual(35); // of 2 * 17 + 441 = 475 dense taps
    expect(hann.clampedTapMass).toBeLessThan(1e-12);
    const kaiser = buildSincResampleKernel(48000, 16000, parseResampleOptions({ method: 'sinc_interp_kaiser' }));
    expect(kaiser.clampedTapMass).toBeLessThan(1e-6);
  });

  it('builds a small kernel for rates with a gcd of 1 (dense it would be 16000 x 44135)', () => {
    const kernel = buildSincResampleKernel(44101, 16000, parseResampleOptions({}));
    expect(kernel.orig).toBe(44101);
    expect(kernel.new).toBe(16000);
    expect(kernel.taps.length).toBeLessThanOrEqual(16000 * 36);
    const y = resampleSinc(tone(500, 44101, 0.5), 44101, 16000);
    expect(y.length).toBe(Math.ceil((16000 * 22051) / 44101));
    expect(rms(y, 500, 7500)).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });
});

describe('resampleSincRanges', () => {
  it('equals resampleSinc inside the ranges (overlapping ones merged) and is 0 elsewhere', () => {
    const x = tone(700, 44100, 1);
    const full = resampleSinc(x, 44100, 16000);
    const ranges = [
      { start: 8000, end: 12000 },
      { start: 100, end: 3000 },
      { start: 2500, end: 4000 },
      { start: 15990, end: 17000 }, // past the end
    ];
    const partial = resampleSincRanges(x, 44100, 16000, {}, ranges);
    expect(partial.length).toBe(full.length);
    const inside = (j: number) => ranges.some((r) => j >= r.start && j < r.end);
    for (let j = 0; j < full.length; j++) expect(partial[j]).toBe(inside(j) ? full[j] : 0);
  });

  it('copies the ranges when the rates are equal', () => {
    const x = tone(700, 16000, 0.1);
    const y = resampleSincRanges(x, 16000, 16000, {}, [{ start: 10, end: 20 }]);
    expect(y[9]).toBe(0);
    expect(y[10]).toBe(x[10]);
    expect(y[19]).toBe(x[19]);
    expect(y[20]).toBe(0);
  });
});

describe('resampledRangeSums', () => {
  const x = Float32Array.from({ length: 44100 }, (_, i) => Math.sin(i * 0.013) * 0.4 + ((i * 7919) % 101) / 1000 - 0.03);

  it('equals summing the resampled signal over each range, partial frames and ends past the length included', () => {
    const y = resampleSinc(x, 44100, 16000);
    const ranges = [
      { start: 0, end: 16000 },
      { start: 3, end: 5 },
      { start: 161, end: 9999 },
      { start: 8000, end: 20000 }, // past the end: clamped like a slice
      { start: 0, end: 0 },
    ];
    const sums = resampledRangeSums(x, 44100, 16000, {}, ranges);
    ranges.forEach(({ start, end }, i) => {
      let expected = 0;
      for (let j = start; j < Math.min(end, y.length); j++) expected += y[j]!;
      // y is rounded to float32 per sample; the sums are not
      expect(Math.abs(sums[i]! - expected)).toBeLessThan(1e-6 * Math.max(1, end - start));
    });
  });

  it('sums x itself when the rates are equal, clamped to its length', () => {
    const [sum, tail] = resampledRangeSums(x, 16000, 16000, {}, [{ start: 10, end: 20 }, { start: 44090, end: 50000 }]);
    let expected = 0;
    for (let i = 10; i < 20; i++) expected += x[i]!;
    expect(sum).toBeCloseTo(expected, 12);
    let expectedTail = 0;
    for (let i = 44090; i < 44100; i++) expectedTail += x[i]!;
    expect(tail).toBeCloseTo(expectedTail, 12);
  });
});

describe('resample option validation', () => {
  const x = new Float32Array(100);
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    ['a fractional rate', () => resampleSinc(x, 44100.5, 16000), 'INVALID_OPTION', /Expected an integer sample rate > 0 \(Hz\) for origFreq but received 44100.5/],
    ['a zero rate', () => resampleSinc(x, 44100, 0), 'INVALID_OPTION', /for newFreq but received 0/],
    ['an unknown method', () => resampleSinc(x, 44100, 16000, { method: 'linear' as never }), 'INVALID_OPTION', /for resample options.method but received "linear"/],
    ['a width of 0', () => resampleSinc(x, 44100, 16000, { lowpassFilterWidth: 0 }), 'INVALID_OPTION', /lowpassFilterWidth but received 0/],
    ['a rolloff above 1', () => resampleSinc(x, 44100, 16000, { rolloff: 1.5 }), 'INVALID_OPTION', /a number in \(0, 1\] for resample options.rolloff/],
    ['beta with the hann window', () => resampleSinc(x, 44100, 16000, { beta: 5 }), 'INVALID_OPTION', /beta/],
    ['a Kaiser beta that overflows I0 in float32', () => resampleSinc(x, 48000, 16000, { method: 'sinc_interp_kaiser', beta: 95 }), 'INVALID_OPTION', /beta but received 95/],
    ['an unknown key', () => resampleSinc(x, 44100, 16000, { rollof: 0.9 } as never), 'INVALID_OPTION', /received "rollof"/],
    ['a plain array', () => resampleSinc([1, 2, 3] as never, 44100, 16000), 'INVALID_OPTION', /Expected a Float32Array for x/],
  ];
  for (const [what, call, code, message] of cases) {
    it(`refuses ${what} with ${code}`, () => {
      try {
        call();
        expect.unreachable('should have thrown');
      } catch (error) {
        expect(error).toBeInstanceOf(AudioError);
        expect((error as AudioError).code).toBe(code);
        expect((error as AudioError).fault).toBe('input');
        expect((error as Error).message).toMatch(message);
      }
    });
  }
});
