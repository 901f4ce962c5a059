import { describe, expect, it } from 'vitest';
import { embeddingAtTime, slerp, smoothEmbeddings } from '../src/embedding/embedding-path.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const angle = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.acos(Math.min(1, dot(a, b) / (norm(a) * norm(b))));

describe('slerp', () => {
  const a = [1, 0, 0];
  const b = [0, 3, 0]; // a quarter turn away, not unit: only directions count

  it('moves along the great circle at constant angular speed and stays unit length', () => {
    for (const t of [0, 0.1, 0.25, 0.5, 0.9, 1]) {
      const v = slerp(a, b, t);
      expect(norm(v)).toBeCloseTo(1, 6);
      expect(angle(a, v)).toBeCloseTo(t * (Math.PI / 2), 5);
      expect(v[2]).toBeCloseTo(0, 7); // in the plane of a and b
    }
    expect(Array.from(slerp(a, b, 0.5))).toEqual([Math.SQRT1_2, Math.SQRT1_2, 0].map((x) => Math.fround(x)));
  });

  it('falls back to the linear mix for (nearly) the same direction and refuses opposite ones', () => {
    expect(Array.from(slerp([1, 0], [2, 0], 0.3))).toEqual([1, 0]);
    expect(() => slerp([1, 0], [-1, 0], 0.5)).toThrow(expect.objectContaining({ code: 'EMBEDDING_ZERO' }));
  });

  it('refuses t outside [0, 1], different lengths and zero vectors with coded errors', () => {
    expect(() => slerp(a, b, 1.5)).toThrow(/\[0, 1\]/);
    expect(() => slerp(a, [1, 0], 0.5)).toThrow(expect.objectContaining({ code: 'EMBEDDING_DIMENSION_MISMATCH' }));
    expect(() => slerp([0, 0, 0], b, 0.5)).toThrow(expect.objectContaining({ code: 'EMBEDDING_ZERO' }));
  });
});

describe('smoothEmbeddings', () => {
  // a step: 8 windows of direction x, then 8 of direction y, one every 0.5 s
  const x = [1, 0];
  const y = [0, 1];
  const step = [...Array(8).fill(x), ...Array(8).fill(y)] as number[][];
  const towardsY = (v: ArrayLike<number>) => angle(x, v) / (Math.PI / 2); // 0 at x, 1 at y

  it('time constant 0 keeps every direction', () => {
    expect(smoothEmbeddings(step, 0.5, 0).map((v) => Array.from(v))).toEqual(step);
  });

  it('is zero-phase: a step is smoothed symmetrically around its time, not delayed', () => {
    const smoothed = smoothEmbeddings(step, 0.5, 1).map(towardsY);
    // halfway between windows 7 and 8, on either side by the same amount
    expect(smoothed[7]! + smoothed[8]!).toBeCloseTo(1, 2);
    expect(smoothed[7]).toBeGreaterThan(0.1);
    expect(smoothed[8]).toBeLessThan(0.9);
    // monotonic from x to y, and back at the ends
    for (let k = 1; k < smoothed.length; k++) expect(smoothed[k]).toBeGreaterThanOrEqual(smoothed[k - 1]! - 1e-9);
    // 7 windows (3.5 s, 3.5 time constants) from the change: within 2 % of where they were
    expect(smoothed[0]).toBeLessThan(0.02);
    expect(smoothed[15]).toBeGreaterThan(0.98);
  });

  it('a longer time constant spreads the change over more windows', () => {
    const short = smoothEmbeddings(step, 0.5, 0.5).map(towardsY);
    const long = smoothEmbeddings(step, 0.5, 2).map(towardsY);
    expect(long[5]).toBeGreaterThan(short[5]!);
    expect(long[10]).toBeLessThan(short[10]!);
  });

  it('keeps a steady sequence where it is', () => {
    for (const v of smoothEmbeddings(Array(6).fill([0.6, 0.8]), 0.5, 1)) {
      expect(v[0]).toBeCloseTo(0.6, 6);
      expect(v[1]).toBeCloseTo(0.8, 6);
    }
  });
});

describe('embeddingAtTime', () => {
  const times = [1, 1.5, 2];
  const vectors = [[1, 0], [Math.SQRT1_2, Math.SQRT1_2], [0, 1]];

  it('holds the ends and interpolates between window centres', () => {
    expect(Array.from(embeddingAtTime(times, vectors, 0))).toEqual([1, 0]);
    expect(Array.from(embeddingAtTime(times, vectors, 5))).toEqual([0, 1]);
    const v = embeddingAtTime(times, vectors, 1.25);
    expect(angle([1, 0], v)).toBeCloseTo(Math.PI / 8, 5);
    expect(angle([1, 0], embeddingAtTime(times, vectors, 1.75))).toBeCloseTo((3 * Math.PI) / 8, 5);
  });

  it('refuses times that do not increase or do not match the vectors', () => {
    expect(() => embeddingAtTime([1, 1], [[1, 0], [0, 1]], 1)).toThrow(/strictly increasing/);
    expect(() => embeddingAtTime([1], vectors, 1)).toThrow(/as many times as vectors/);
  });
});
