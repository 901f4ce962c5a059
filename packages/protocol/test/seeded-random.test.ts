import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/index.js';

describe('mulberry32', () => {
  it('gives the reference sequence for a seed (0 starts 0.2664292..., the published first value)', () => {
    const zero = mulberry32(0);
    expect([zero(), zero()]).toEqual([0.26642920868471265, 0.0003297457005828619]);
    const fortyTwo = mulberry32(42);
    expect([fortyTwo(), fortyTwo(), fortyTwo()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('repeats for the same seed, stays in [0, 1), and takes the seed modulo 2^32', () => {
    const a = mulberry32(7);
    const b = mulberry32(7 + 2 ** 32);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(b()).toBe(x);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});
