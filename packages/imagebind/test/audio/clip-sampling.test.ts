import { describe, expect, it } from 'vitest';

import { AudioError, audioClipSampleRanges, audioClipSpans } from '../../src/audio/index.js';
import { DEMO_REFERENCE, hasReference, readIndex, REAL_REFERENCE } from './reference.js';

describe('audioClipSpans: pytorchvideo ConstantClipsPerVideoSampler', () => {
  it('starts clip k at k * (duration - clip) / max(clips - 1, 1) (pytorchvideo 28fe037, pinned by ImageBind)', () => {
    expect(audioClipSpans(10, 2, 3)).toEqual([
      { start: 0, end: 2 },
      { start: 4, end: 6 },
      { start: 8, end: 10 },
    ]);
    expect(audioClipSpans(5, 2, 3)).toEqual([
      { start: 0, end: 2 },
      { start: 1.5, end: 3.5 },
      { start: 3, end: 5 },
    ]);
    // one clip: max(1 - 1, 1) = 1, so it starts at 0
    expect(audioClipSpans(5, 2, 1)).toEqual([{ start: 0, end: 2 }]);
  });

  it('gives clipsPerInput identical clips from 0 when the sound is shorter than one clip', () => {
    expect(audioClipSpans(1.2, 2, 3)).toEqual([
      { start: 0, end: 2 },
      { start: 0, end: 2 },
      { start: 0, end: 2 },
    ]);
    expect(audioClipSpans(2, 2, 5)).toHaveLength(5);
  });

  it('rounds the exact Fractions to the nearest double as Python\'s float() does', () => {
    // 41764 samples at 16 kHz: the float difference 2.61025 - 2 is not 0.61025 exactly;
    // Fraction keeps its exact value (values from Python's fractions module)
    const [, second, third] = audioClipSpans(41764 / 16000, 2, 3);
    expect(second!.start).toBe(0.3051250000000001);
    expect(second!.end).toBe(2.3051250000000003);
    expect(third!.start).toBe(0.6102500000000002);
    expect(third!.end).toBe(2.61025);
  });
});

describe('audioClipSampleRanges: data.py waveform[:, int(start * sr) : int(end * sr)]', () => {
  it('truncates the exact start and end times to sample indices', () => {
    expect(audioClipSampleRanges(41764, 16000, 2, 3)).toEqual([
      { start: 0, end: 32000 },
      { start: 4882, end: 36882 },
      { start: 9764, end: 41764 },
    ]);
    expect(audioClipSampleRanges(160000, 16000, 2, 3)).toEqual([
      { start: 0, end: 32000 },
      { start: 64000, end: 96000 }, // 4 s
      { start: 128000, end: 160000 }, // 8 s
    ]);
  });

  it('clamps the end to the waveform, as a Python slice does', () => {
    expect(audioClipSampleRanges(19200, 16000, 2, 3)).toEqual([
      { start: 0, end: 19200 },
      { start: 0, end: 19200 },
      { start: 0, end: 19200 },
    ]);
  });

  const references = [DEMO_REFERENCE, REAL_REFERENCE].filter(hasReference);
  for (const dir of references) {
    const index = readIndex(dir);
    const { sampleRate, clipDuration, clipsPerInput } = index.preprocess;
    for (const c of index.cases) {
      it(`equals the reference's spans for ${c.name} (${c.resampledLength} samples)`, () => {
        const spans = audioClipSpans(c.resampledLength / sampleRate, clipDuration, clipsPerInput);
        expect(spans).toEqual(c.spans.map(({ start, end }) => ({ start, end })));
        const ranges = audioClipSampleRanges(c.resampledLength, sampleRate, clipDuration, clipsPerInput);
        expect(ranges).toEqual(
          c.spans.map(({ startIndex, endIndex }) => ({
            start: Math.min(startIndex, c.resampledLength),
            end: Math.min(endIndex, c.resampledLength),
          })),
        );
      });
    }
  }
});

describe('clip sampling validation', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['0 clips', () => audioClipSpans(10, 2, 0), /an integer > 0 for clipsPerInput but received 0/],
    ['1.5 clips', () => audioClipSpans(10, 2, 1.5), /clipsPerInput but received 1.5/],
    ['a zero clip duration', () => audioClipSpans(10, 0, 3), /a clip duration > 0 \(seconds\) for clipDuration but received 0/],
    ['a negative duration', () => audioClipSpans(-1, 2, 3), /durationSec but received -1/],
    ['a fractional sample count', () => audioClipSampleRanges(10.5, 16000, 2, 3), /numSamples but received 10.5/],
    ['a fractional sample rate', () => audioClipSampleRanges(100, 16000.5, 2, 3), /sampleRate but received 16000.5/],
  ];
  for (const [what, call, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(call).toThrow(AudioError);
      expect(call).toThrow(message);
    });
  }
});
