import { describe, expect, it } from 'vitest';
import { NOISE_DOMAINS, philox4x32, philoxNormals, seededNormal, UnclipError } from '../src/index.js';
import { loadFixture } from './load-fixture.js';

const hex = (words: Uint32Array): string => Array.from(words, (w) => w.toString(16).padStart(8, '0')).join(' ');

describe('philox4x32', () => {
  it('matches the Random123 known-answer vectors (kat_vectors, philox4x32 10)', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])))
      .toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });
});

describe('seededNormal', () => {
  // Pinned: printed by test/fixtures/philox_normals.py (independent Python implementation).
  it('gives the pinned first values for seeds 0 and 42', () => {
    expect(Array.from(seededNormal(0, [1, 6]))).toEqual([
      -0.12151796370744705, -1.3500326871871948, -0.08187421411275864, -0.2227090448141098, 1.7764242887496948, 2.173520803451538,
    ]);
    expect(Array.from(seededNormal(42, [1, 6]))).toEqual([
      0.8864974975585938, 0.4393560588359833, -0.15660962462425232, -0.013718678615987301, -0.49410051107406616, -0.37216684222221375,
    ]);
    expect(Array.from(philoxNormals(42, 3, { lane: 3 }))).toEqual([-0.427327036857605, -2.497955560684204, -0.5934855341911316]);
    expect(Array.from(philoxNormals(42, 2, { domain: NOISE_DOMAINS.priorSample }))).toEqual([-1.4216984510421753, 0.46191439032554626]);
    expect(Array.from(philoxNormals(2 ** 40 + 5, 2))).toEqual([0.5152781009674072, 1.315534234046936]);
  });

  it('equals the Python reference bit for bit over thousands of values', () => {
    const reference = loadFixture<{ seed123: number[]; seed9lane5domain1: number[] }>('philox-normals.json');
    expect(Array.from(philoxNormals(123, 4096))).toEqual(reference.seed123);
    expect(Array.from(philoxNormals(9, 512, { lane: 5, domain: 1 }))).toEqual(reference.seed9lane5domain1);
  });

  it('row i of a batch with seed s is the noise of seed s + i', () => {
    const batch = seededNormal(1000, [3, 4, 2, 2]);
    expect(batch).toHaveLength(48);
    for (let i = 0; i < 3; i++) {
      expect(batch.subarray(i * 16, (i + 1) * 16)).toEqual(seededNormal(1000 + i, [1, 4, 2, 2]));
    }
  });

  it('is standard normal: mean ~0, variance ~1, streams differ', () => {
    const x = philoxNormals(5, 100_000);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.01); // 3.2 sigma of the mean of 1e5 N(0,1)
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    expect(philoxNormals(5, 4, { lane: 1 })).not.toEqual(philoxNormals(5, 4));
    expect(philoxNormals(5, 4, { domain: 1 })).not.toEqual(philoxNormals(5, 4));
    expect(philoxNormals(6, 4)).not.toEqual(philoxNormals(5, 4));
  });

  it('an odd count is a prefix of the even one', () => {
    expect(philoxNormals(3, 5)).toEqual(philoxNormals(3, 6).subarray(0, 5));
  });

  it('refuses bad seeds and shapes with a typed error', () => {
    expect(() => seededNormal(-1, [1, 4])).toThrowError(UnclipError);
    expect(() => seededNormal(1.5, [1, 4])).toThrowError(/Expected an integer in \[0, 2\^53 - 1\] for seed but received 1.5/);
    expect(() => seededNormal(Number.MAX_SAFE_INTEGER, [2, 4])).toThrowError(/seed \+ batch - 1/);
    expect(() => seededNormal(0, [4])).toThrowError(/shape/);
    expect(() => philoxNormals(0, 4, { lane: 2 ** 32 })).toThrowError(/noise lane/);
  });
});
