import { mulberry32 } from '@a2i/protocol';
/**
 * Vectors for the search benches, with a known answer.
 *
 * The table: `rows` unit vectors, iid Gaussian directions (no structure: the hardest case
 * for IVF and for quantisation), among which `groups` planted groups of 10 are hidden.
 * Group g is 10 copies of an anchor a_g with noise: normalise(a_g + s·n), s = 0.33 per
 * coordinate (relative to the anchor's unit-variance coordinates).
 *
 * The planted queries: normalise(a_g + s·n') for a fresh n'. With s = 0.33,
 * cos(query, member) = 1 / (1 + s²) ≈ 0.90, while a random vector sits at cos ~ N(0, 1/dim)
 * (the largest of 1M random cosines at 1024-d is about 0.17): the true top-10 of a planted
 * query is exactly its group, known by construction. Random queries (fresh Gaussian
 * directions) are reported apart; their truth is the exact scan.
 *
 * Deterministic (seeded) and streamed in chunks: nothing holds the whole table.
 */

/** Standard normal samples, both outputs of each Box-Muller pair used. */
export function gaussianSource(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12)));
    const theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

export const PLANTED_NOISE = 0.33;
export const GROUP_SIZE = 10;

export interface PlantedRow {
  id: string;
  vector: Float32Array;
  /** the group's index for a planted row */
  group: number | null;
}

export class PlantedVectors {
  private readonly gaussian: () => number;
  private readonly queryGaussian: () => number;
  /** a_g, unit-variance coordinates (not normalised) */
  readonly anchors: Float32Array[] = [];
  /** rows between the starts of two planted groups */
  private readonly stride: number;

  constructor(
    readonly rows: number,
    readonly dim: number,
    readonly groups: number,
    seed = 42,
  ) {
    if (groups * GROUP_SIZE > rows) throw new RangeError(`Expected at most ${Math.floor(rows / GROUP_SIZE)} groups for groups but received ${groups}`);
    this.gaussian = gaussianSource(mulberry32(seed));
    this.queryGaussian = gaussianSource(mulberry32(seed + 1_000_003));
    this.stride = Math.floor(rows / Math.max(1, groups));
  }

  private gaussianVector(): Float32Array {
    const v = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) v[i] = this.gaussian();
    return v;
  }

  private near(anchor: Float32Array, gaussian: () => number): Float32Array {
    const v = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) v[i] = anchor[i]! + PLANTED_NOISE * gaussian();
    return normalise(v);
  }

  /** Rows in order, `chunk` at a time; the planted groups are spread evenly through the table. */
  *chunks(chunk: number): Generator<PlantedRow[]> {
    let out: PlantedRow[] = [];
    let made = 0;
    while (made < this.rows) {
      const g = this.anchors.length;
      if (g < this.groups && made === g * this.stride) {
        const anchor = this.gaussianVector();
        this.anchors.push(anchor);
        for (let j = 0; j < GROUP_SIZE; j++, made++) out.push({ id: `g${g}-${j}`, vector: this.near(anchor, this.gaussian), group: g });
      } else {
        out.push({ id: `r${made}`, vector: normalise(this.gaussianVector()), group: null });
        made++;
      }
      if (out.length >= chunk) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  }

  /** One query near each of the first `n` groups (call after the rows were generated). */
  plantedQueries(n: number): { vector: Float32Array; truth: Set<string> }[] {
    if (n > this.anchors.length) throw new RangeError(`Expected at most ${this.anchors.length} planted queries for n but received ${n}`);
    return this.anchors.slice(0, n).map((anchor, g) => ({
      vector: this.near(anchor, this.queryGaussian),
      truth: new Set(Array.from({ length: GROUP_SIZE }, (_, j) => `g${g}-${j}`)),
    }));
  }

  /** Fresh random directions (their true top-10 is whatever the exact scan says). */
  randomQueries(n: number): Float32Array[] {
    return Array.from({ length: n }, () => {
      const v = new Float32Array(this.dim);
      for (let i = 0; i < this.dim; i++) v[i] = this.queryGaussian();
      return normalise(v);
    });
  }
}

export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
