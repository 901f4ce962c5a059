import { describe, expect, it } from 'vitest';
import { decoderCondition } from '../src/index.js';
import { codeOf } from './helpers.js';

const rounded = (v: ArrayLike<number>) => Array.from(v, (x) => Math.round(x * 1e6) / 1e6);

describe('decoderCondition (packs with a conditioning section)', () => {
  it('keeps an image term at its own norm, whatever its weight', () => {
    for (const weight of [1, 0.3, 7]) {
      expect(rounded(decoderCondition([{ vector: [3, 4, 0], weight, atOwnNorm: true }], { norm: 20 }))).toEqual([3, 4, 0]);
    }
  });

  it('puts any other term at `norm` (audio at ImageBind\'s x20 or a raw vector alike)', () => {
    expect(rounded(decoderCondition([{ vector: [0, 20, 0], weight: 1, atOwnNorm: false }], { norm: 12.5 }))).toEqual([0, 12.5, 0]);
    expect(rounded(decoderCondition([{ vector: [0.6, 0, 0.8], weight: 2, atOwnNorm: false }], { norm: 10 }))).toEqual([6, 0, 8]);
  });

  it('mixes as Anything2Image: the weighted mean, not renormalised (s a + (1 - s) b)', () => {
    // image [6, 8, 0] (norm 10) at its own norm, audio [0, 0, 1] scaled to 10
    const image = { vector: [6, 8, 0], weight: 1, atOwnNorm: true };
    const audio = { vector: [0, 0, 20], weight: 1, atOwnNorm: false };
    expect(rounded(decoderCondition([image, audio], { norm: 10 }))).toEqual([3, 4, 5]); // (a + b) / 2: norm 7.07, kept
    // weights 1 : 3 are s = 0.25, as 0.25 : 0.75 are
    const quarter = rounded(decoderCondition([{ ...image, weight: 1 }, { ...audio, weight: 3 }], { norm: 10 }));
    expect(quarter).toEqual([1.5, 2, 7.5]);
    expect(rounded(decoderCondition([{ ...image, weight: 0.25 }, { ...audio, weight: 0.75 }], { norm: 10 }))).toEqual(quarter);
  });

  it('subtracts with a negative weight, dividing by the sum of |w|', () => {
    // (1 * [10, 0] - 0.5 * [0, 10]) / 1.5
    const out = decoderCondition([{ vector: [1, 0], weight: 1, atOwnNorm: false }, { vector: [0, 3], weight: -0.5, atOwnNorm: false }], { norm: 10 });
    expect(out[0]).toBeCloseTo(10 / 1.5, 5);
    expect(out[1]).toBeCloseTo(-5 / 1.5, 5);
  });

  it('refuses zero terms, zero weights, a cancelling sum, mismatched sizes and bad values', () => {
    expect(codeOf(() => decoderCondition([{ vector: [0, 0], weight: 1, atOwnNorm: true }], { norm: 1 }))).toBe('EMBEDDING_ZERO');
    expect(codeOf(() => decoderCondition([{ vector: [1, 0], weight: 0, atOwnNorm: false }], { norm: 1 }))).toBe('EMBEDDING_ZERO');
    // an image at norm 5 against another input at norm 5 in the opposite direction
    const cancel = [{ vector: [3, 4], weight: 1, atOwnNorm: true }, { vector: [-0.6, -0.8], weight: 1, atOwnNorm: false }];
    expect(codeOf(() => decoderCondition(cancel, { norm: 5 }))).toBe('EMBEDDING_ZERO');
    expect(codeOf(() => decoderCondition([{ vector: [1, 0], weight: 1, atOwnNorm: false }, { vector: [1, 0, 0], weight: 1, atOwnNorm: false }], { norm: 1 }))).toBe('EMBEDDING_DIMENSION_MISMATCH');
    expect(codeOf(() => decoderCondition([{ vector: [Number.NaN, 1], weight: 1, atOwnNorm: true }], { norm: 1 }))).toBe('NON_FINITE_VALUE');
    expect(() => decoderCondition([{ vector: [1], weight: 1, atOwnNorm: false }], { norm: 0 })).toThrow('Expected a positive finite number for norm but received 0');
    expect(codeOf(() => decoderCondition([], { norm: 1 }))).toBe('INVALID_OPTION');
  });
});
