import { describe, expect, it } from 'vitest';
import { combineEmbeddings, cosineSimilarity, ImageBindError, topK } from '../src/index.js';
import { codeOf } from './helpers.js';

describe('combineEmbeddings', () => {
  it('unit-normalises each input before weighting, then rescales to targetNorm', () => {
    // [3, 0] -> [1, 0]; [0, 20] -> [0, 1]; 0.5 a + 0.5 b = [0.5, 0.5] -> norm 2: [sqrt2, sqrt2]
    const out = combineEmbeddings([{ vector: [3, 0], weight: 0.5 }, { vector: [0, 20], weight: 0.5 }], { targetNorm: 2 });
    expect(out[0]).toBeCloseTo(Math.SQRT2, 6);
    expect(out[1]).toBeCloseTo(Math.SQRT2, 6);
  });
  it('allows negative weights (subtraction)', () => {
    // 1 * [1, 0] - 0.5 * [0.6, 0.8] = [0.7, -0.4] -> / 0.80623
    const out = combineEmbeddings([{ vector: [5, 0], weight: 1 }, { vector: [3, 4], weight: -0.5 }], { targetNorm: 1 });
    const n = Math.hypot(0.7, -0.4);
    expect(out[0]).toBeCloseTo(0.7 / n, 6);
    expect(out[1]).toBeCloseTo(-0.4 / n, 6);
  });
  it('a single input is its own direction at the target norm', () => {
    const out = combineEmbeddings([{ vector: Float32Array.from([1, 2, 2]), weight: 3 }], { targetNorm: 6 });
    expect(Array.from(out).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([2, 4, 4]);
  });
  it('refuses a sum that cancels out, and a zero input, with EMBEDDING_ZERO', () => {
    expect(codeOf(() => combineEmbeddings([{ vector: [1, 1], weight: 1 }, { vector: [2, 2], weight: -1 }], { targetNorm: 1 }))).toBe('EMBEDDING_ZERO');
    expect(codeOf(() => combineEmbeddings([{ vector: [0, 0], weight: 1 }], { targetNorm: 1 }))).toBe('EMBEDDING_ZERO');
    expect(codeOf(() => combineEmbeddings([{ vector: [1, 0], weight: 0 }], { targetNorm: 1 }))).toBe('EMBEDDING_ZERO');
  });
  it('refuses mismatched sizes, non-finite values and bad options', () => {
    expect(codeOf(() => combineEmbeddings([{ vector: [1, 0], weight: 1 }, { vector: [1, 0, 0], weight: 1 }], { targetNorm: 1 }))).toBe('EMBEDDING_DIMENSION_MISMATCH');
    expect(codeOf(() => combineEmbeddings([{ vector: [Number.NaN, 1], weight: 1 }], { targetNorm: 1 }))).toBe('NON_FINITE_VALUE');
    expect(() => combineEmbeddings([{ vector: [1], weight: Number.POSITIVE_INFINITY }], { targetNorm: 1 })).toThrow('Expected a finite number for embeddings[0].weight but received Infinity');
    expect(() => combineEmbeddings([{ vector: [1], weight: 1 }], { targetNorm: 0 })).toThrow('Expected a positive finite number for targetNorm but received 0');
    expect(codeOf(() => combineEmbeddings([], { targetNorm: 1 }))).toBe('INVALID_OPTION');
  });
});

describe('cosineSimilarity and topK', () => {
  it('computes cos on hand-checked vectors', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2, 2], [2, 4, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([3, 4], [4, 3])).toBeCloseTo(24 / 25, 12);
    expect(codeOf(() => cosineSimilarity([0, 0], [1, 0]))).toBe('EMBEDDING_ZERO');
    expect(codeOf(() => cosineSimilarity([1], [1, 0]))).toBe('EMBEDDING_DIMENSION_MISMATCH');
  });
  it('ranks rows by cosine, best first, ties to the lower index, skipping zero rows', () => {
    const matrix = Float32Array.from([
      0, 1, // 0: cos 0.8
      3, 4, // 1: cos 1 (same direction as the query)
      0, 0, // 2: zero row
      -3, -4, // 3: cos -1
      0, 2, // 4: cos 0.8, ties with 0
    ]);
    const best = topK([3, 4], matrix, 3);
    expect(best.map((s) => s.index)).toEqual([1, 0, 4]);
    expect(best[0]!.score).toBeCloseTo(1, 6);
    expect(best[1]!.score).toBeCloseTo(0.8, 6);
    expect(topK([3, 4], matrix, 10).map((s) => s.index)).toEqual([1, 0, 4, 3]);
  });
  it('refuses a bad k, a ragged matrix or a zero query', () => {
    expect(codeOf(() => topK([1, 0], [1, 0], 0))).toBe('INVALID_OPTION');
    expect(codeOf(() => topK([1, 0], [1, 0, 1], 1))).toBe('EMBEDDING_DIMENSION_MISMATCH');
    expect(codeOf(() => topK([0, 0], [1, 0], 1))).toBe('EMBEDDING_ZERO');
  });
});
