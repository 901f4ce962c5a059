/** Percentiles and rounding of the batching bench and its curve (batch-curve.ts). */
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** The p-th percentile (nearest rank) of `xs`; NaN for none. */
export function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
export const median = (xs: number[]) => percentile(xs, 50);
export const r1 = (x: number) => Number(x.toFixed(1));
export const r3 = (x: number) => Number(x.toFixed(3));
