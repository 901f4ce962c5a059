import { describe, expect, it } from 'vitest';

import { ImageBindError } from '../../src/imagebind-error.js';
import {
  AudioError,
  kaldiFbank,
  parseAudioPreprocess,
  preprocessAudio,
  preprocessAudioWithShape,
  type AudioPreprocess,
  type Pcm,
} from '../../src/audio/index.js';
import { DEMO_REFERENCE, hasReference, maxAbsDiff, readChannels, readIndex, readNpy, REAL_REFERENCE } from './reference.js';

// Parity with ImageBind's load_and_transform_audio_data on torch / torchaudio (float32): max
// abs difference of the normalised features.
const WHOLE_TOLERANCE = 1e-3;

const demo = readIndex(DEMO_REFERENCE);
const IMAGEBIND: AudioPreprocess = demo.preprocess;

function parityCases(dir: string): void {
  const index = readIndex(dir);
  for (const c of index.cases) {
    it(`${c.name} (${c.shape[0]} ch, ${c.sampleRate} Hz, ${(c.shape[1] / c.sampleRate).toFixed(2)} s) within ${WHOLE_TOLERANCE}`, () => {
      const pcm: Pcm = { sampleRate: c.sampleRate, channels: readChannels(dir, c.input) };
      const expected = readNpy(dir, c.output);
      const { data, shape } = preprocessAudioWithShape(pcm, index.preprocess);
      expect(shape).toEqual(expected.shape);
      expect(maxAbsDiff(data, expected.data)).toBeLessThan(WHOLE_TOLERANCE);
    });
  }
}

describe('preprocessAudio against ImageBind + torchaudio (committed references)', () => {
  parityCases(DEMO_REFERENCE);
});

// Made by `/usr/bin/python3 models/recipes/reference_audio.py --real-samples ../shared/real-samples
// --out .cache/reference/real-samples/audio`; skipped (visibly) where that has not been run.
describe.skipIf(!hasReference(REAL_REFERENCE))('preprocessAudio on the real recordings (.cache reference)', () => {
  it('has the recordings\' references', () => {
    expect(readIndex(REAL_REFERENCE).cases.length).toBeGreaterThan(0);
  });
  if (hasReference(REAL_REFERENCE)) parityCases(REAL_REFERENCE);
});

// ---------------------------------------------------------------- behaviour
function signal(seconds: number, rate: number, offset: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.05 * (s / 2 ** 32 - 0.5) + offset;
  });
}

const mono16k = (seconds: number, offset = 0): Pcm => ({ sampleRate: 16000, channels: [signal(seconds, 16000, offset)] });

/**
 * One 16 kHz clip's features computed on their own (its mean subtracted, fbank, normalised
 * as the manifest says), as value(frame, melBin).
 */
function clipOnItsOwn(clip: Float32Array): (frame: number, bin: number) => number {
  let mean = 0;
  for (const v of clip) mean += v / clip.length;
  const { data } = kaldiFbank(clip.map((v) => v - mean), 16000, IMAGEBIND.fbank);
  const { mean: m, std } = IMAGEBIND.normalize;
  return (t, b) => (data[t * 128 + b]! - m) / std;
}

describe('preprocessAudio behaviour', () => {
  it('returns [clips, 1, mel, targetLength] from the manifest\'s numbers', () => {
    const { data, shape } = preprocessAudioWithShape(mono16k(3), IMAGEBIND);
    expect(shape).toEqual([3, 1, 128, 204]);
    expect(data.length).toBe(3 * 128 * 204);
    const small = { ...IMAGEBIND, clipsPerInput: 2, targetLength: 50, fbank: { ...IMAGEBIND.fbank, numMelBins: 32 } };
    expect(preprocessAudioWithShape(mono16k(3), small).shape).toEqual([2, 1, 32, 50]);
  });

  it('pads the frames at the end with zeros before normalising: (0 - mean) / std', () => {
    const out = preprocessAudio(mono16k(1.2), IMAGEBIND); // 118 frames of 204
    const pad = (0 - IMAGEBIND.normalize.mean) / IMAGEBIND.normalize.std;
    for (let b = 0; b < 128; b += 17) {
      expect(out[b * 204 + 117]).not.toBeCloseTo(pad, 3);
      for (let t = 118; t < 204; t++) expect(out[b * 204 + t]).toBeCloseTo(pad, 6);
    }
    // shorter than one clip: three identical clips
    const clip = 128 * 204;
    expect(maxAbsDiff(out.subarray(0, clip), out.subarray(clip, 2 * clip))).toBeLessThan(1e-6);
  });

  it('crops to targetLength from the start', () => {
    const full = preprocessAudio(mono16k(3), IMAGEBIND); // 198 frames
    const cropped = preprocessAudio(mono16k(3), { ...IMAGEBIND, targetLength: 100 });
    for (let b = 0; b < 128; b++) {
      expect(maxAbsDiff(cropped.subarray(b * 100, b * 100 + 100), full.subarray(b * 204, b * 204 + 100))).toBeLessThan(1e-6);
    }
  });

  it('matches a plain fbank of the clip when clips do not overlap (10 s: clips at 0, 4, 8 s)', () => {
    const pcm = mono16k(10, 0.02);
    const out = preprocessAudio(pcm, IMAGEBIND);
    const clip = clipOnItsOwn(pcm.channels[0]!.slice(128000, 160000));
    for (let b = 0; b < 128; b += 9) {
      for (let t = 0; t < 198; t += 11) expect(out[2 * 128 * 204 + b * 204 + t]).toBeCloseTo(clip(t, b), 4);
    }
  });

  it('subtracts each clip\'s mean in place, so an overlapping later clip sees the earlier subtraction (as data.py)', () => {
    // 3.1 s: clips [0, 2), [0.55, 2.55), [1.1, 3.1) overlap; a DC offset makes the step visible
    const pcm = mono16k(3.1, 0.05);
    const out = preprocessAudio(pcm, IMAGEBIND);
    // the second clip computed on its own (no earlier subtraction) differs near the step at
    // 2 s - 0.55 s = 1.45 s into the clip ...
    const alone = clipOnItsOwn(pcm.channels[0]!.slice(8800, 40800));
    let largest = 0;
    for (let t = 0; t < 198; t++) {
      for (let b = 0; b < 128; b++) largest = Math.max(largest, Math.abs(out[128 * 204 + b * 204 + t]! - alone(t, b)));
    }
    expect(largest).toBeGreaterThan(0.01);
    // ... and the committed references (torchaudio running data.py's code) agree with the in-place version
    const reference = demo.cases.find((c) => c.name === 'tone16k_3p1s')!;
    const pcmRef: Pcm = { sampleRate: 16000, channels: readChannels(DEMO_REFERENCE, reference.input) };
    expect(maxAbsDiff(preprocessAudio(pcmRef, IMAGEBIND), readNpy(DEMO_REFERENCE, reference.output).data)).toBeLessThan(WHOLE_TOLERANCE);
  });

  it('takes the mean over every channel, though only channel 0 makes the features', () => {
    const left = signal(3.1, 16000, 0, 7);
    const a = preprocessAudio({ sampleRate: 16000, channels: [left, signal(3.1, 16000, 0, 8)] }, IMAGEBIND);
    const b = preprocessAudio({ sampleRate: 16000, channels: [left, signal(3.1, 16000, 0.2, 8)] }, IMAGEBIND);
    // clip 0 is unaffected (a constant shift is removed per frame), later overlapping clips are not
    const clip = 128 * 204;
    expect(maxAbsDiff(a.subarray(0, clip), b.subarray(0, clip))).toBeLessThan(1e-4);
    expect(maxAbsDiff(a.subarray(clip), b.subarray(clip))).toBeGreaterThan(1e-3);
    // with subtractMean off the other channels play no part at all
    const off = { ...IMAGEBIND, subtractMean: false };
    const c = preprocessAudio({ sampleRate: 16000, channels: [left, signal(3.1, 16000, 0, 8)] }, off);
    const d = preprocessAudio({ sampleRate: 16000, channels: [left, signal(3.1, 16000, 0.2, 8)] }, off);
    expect(Array.from(c)).toEqual(Array.from(d));
  });

  it('reads the channel the manifest names', () => {
    const left = signal(2, 16000, 0, 3);
    const right = signal(2, 16000, 0, 4);
    const fromRight = preprocessAudio({ sampleRate: 16000, channels: [left, right] }, { ...IMAGEBIND, channel: 1 });
    const rightAlone = preprocessAudio({ sampleRate: 16000, channels: [right, left] }, IMAGEBIND);
    expect(maxAbsDiff(fromRight, rightAlone)).toBeLessThan(1e-6);
  });

  it('resamples to the preprocess rate first', () => {
    const at48k: Pcm = { sampleRate: 48000, channels: [signal(2.5, 48000, 0)] };
    const out = preprocessAudio(at48k, IMAGEBIND);
    expect(out.length).toBe(3 * 128 * 204);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it('leaves the caller\'s samples alone', () => {
    const pcm = mono16k(2.5, 0.1);
    const copy = pcm.channels[0]!.slice();
    preprocessAudio(pcm, IMAGEBIND);
    expect(pcm.channels[0]).toEqual(copy);
  });
});

describe('preprocessAudio input and option validation', () => {
  function expectAudioError(call: () => unknown, code: string, message: RegExp): void {
    try {
      call();
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(AudioError);
      expect(error).toBeInstanceOf(ImageBindError);
      expect((error as AudioError).code).toBe(code);
      expect((error as AudioError).fault).toBe('input');
      expect((error as Error).message).toMatch(message);
    }
  }

  it('refuses a missing channel, ragged channels, no channels, a bad sample rate', () => {
    const x = signal(1, 16000, 0);
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [x] }, { ...IMAGEBIND, channel: 1 }), 'AUDIO_INVALID_PCM', /channel 1 .* 1 channel/);
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [x, x.subarray(1)] }, IMAGEBIND), 'AUDIO_INVALID_PCM', /equal length/);
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [] }, IMAGEBIND), 'AUDIO_INVALID_PCM', /non-empty array/);
    expectAudioError(() => preprocessAudio({ sampleRate: 44100.5, channels: [x] }, IMAGEBIND), 'AUDIO_INVALID_PCM', /pcm.sampleRate but received 44100.5/);
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [Array.from(x)] } as never, IMAGEBIND), 'AUDIO_INVALID_PCM', /Float32Array/);
  });

  it('refuses NaN or infinite samples inside a clip', () => {
    const x = signal(1, 16000, 0);
    x[5000] = Number.NaN;
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [x] }, IMAGEBIND), 'NON_FINITE_VALUE', /clip 0/);
    const y = signal(1, 16000, 0);
    const z = signal(1, 16000, 0);
    z[100] = Number.POSITIVE_INFINITY; // in the channel that only feeds the mean
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [y, z] }, IMAGEBIND), 'NON_FINITE_VALUE', /finite/);
  });

  it('refuses sound shorter than one 25 ms frame (torchaudio asserts there)', () => {
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [new Float32Array(399)] }, IMAGEBIND), 'AUDIO_TOO_SHORT', /at least 400 samples/);
    expectAudioError(() => preprocessAudio({ sampleRate: 16000, channels: [new Float32Array(0)] }, IMAGEBIND), 'AUDIO_TOO_SHORT', /received 0/);
    expect(preprocessAudio({ sampleRate: 16000, channels: [signal(0.025, 16000, 0)] }, IMAGEBIND).length).toBe(3 * 128 * 204);
  });

  const optionCases: Array<[string, unknown, string, RegExp]> = [
    ['another modality', { ...IMAGEBIND, type: 'image' }, 'INVALID_OPTION', /Expected "audio" for preprocess.type but received "image"/],
    ['a missing mel bin count', { ...IMAGEBIND, fbank: { ...IMAGEBIND.fbank, numMelBins: undefined } }, 'INVALID_OPTION', /for preprocess.fbank.numMelBins but received undefined/],
    ['a fractional target length', { ...IMAGEBIND, targetLength: 204.5 }, 'INVALID_OPTION', /preprocess.targetLength but received 204.5/],
    ['a zero std', { ...IMAGEBIND, normalize: { mean: -4.268, std: 0 } }, 'INVALID_OPTION', /preprocess.normalize.std but received 0/],
    ['a fractional sample rate', { ...IMAGEBIND, sampleRate: 16000.5 }, 'INVALID_OPTION', /preprocess.sampleRate/],
    ['an unknown resample method', { ...IMAGEBIND, resample: { ...IMAGEBIND.resample, method: 'sinc_interpolation' } }, 'INVALID_OPTION', /preprocess.resample.method but received "sinc_interpolation"/],
    ['dither', { ...IMAGEBIND, fbank: { ...IMAGEBIND.fbank, dither: 1 } }, 'UNSUPPORTED_OPTION', /preprocess.fbank.dither/],
    ['a misspelt key', { ...IMAGEBIND, clipsPerVideo: 3 }, 'INVALID_OPTION', /preprocess key but received "clipsPerVideo"/],
    ['no resample object', { ...IMAGEBIND, resample: 'hann' }, 'INVALID_OPTION', /an object for preprocess.resample/],
    ['not an object', null, 'INVALID_OPTION', /an object for preprocess but received null/],
  ];
  for (const [what, preprocess, code, message] of optionCases) {
    it(`refuses ${what} with ${code}`, () => {
      expectAudioError(() => preprocessAudio(mono16k(1), preprocess as AudioPreprocess), code, message);
    });
  }

  it('accepts the manifest contract\'s example as it is written in models/README.md', () => {
    const example = {
      type: 'audio', sampleRate: 16000, channel: 0,
      resample: { method: 'sinc_interp_hann', lowpassFilterWidth: 6, rolloff: 0.99 },
      clipDuration: 2.0, clipsPerInput: 3, subtractMean: true,
      fbank: { numMelBins: 128, frameLengthMs: 25, frameShiftMs: 10, windowType: 'hanning', dither: 0,
        preemphasisCoefficient: 0.97, removeDcOffset: true, roundToPowerOfTwo: true, lowFreq: 20, highFreq: 0,
        usePower: true, useLogFbank: true, useEnergy: false, htkCompat: true, snipEdges: true, melScale: 'htk' },
      targetLength: 204, normalize: { mean: -4.268, std: 9.138 },
    };
    expect(parseAudioPreprocess(example)).toEqual(example);
    expect(parseAudioPreprocess(example)).toEqual(IMAGEBIND);
  });
});
