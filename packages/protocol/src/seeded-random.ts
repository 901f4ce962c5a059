/**
 * mulberry32 (Tommy Ettinger's public-domain 32-bit PRNG): uniform numbers in [0, 1) from a
 * 32-bit seed, the same on every machine. For reproducible test data, benches and the
 * synthetic pipeline's noise; not for anything that needs to be unpredictable.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
