import { ImageBindError, imagebindGuards } from '../imagebind-error.js';

const { expectFiniteValues, expectPositiveInteger, expectPositiveNumber, invalid } = imagebindGuards;

export interface WeightedEmbedding {
  vector: ArrayLike<number>;
  /** Any finite number; negative weights subtract ("a dog" - "grass"). */
  weight: number;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * Embedding arithmetic: sum_i w_i * e_i / ||e_i||, rescaled to `targetNorm`.
 * Each input is unit-normalised first so that modalities with different output scales
 * (ImageBind scales audio by 20, depth by 5...) mix by their weights alone.
 *
 * @throws EMBEDDING_ZERO when an input or the weighted sum is the zero vector,
 *   EMBEDDING_DIMENSION_MISMATCH when lengths differ, NON_FINITE_VALUE on NaN / infinity.
 */
export function combineEmbeddings(items: readonly WeightedEmbedding[], options: { targetNorm: number }): Float32Array {
  const targetNorm = expectPositiveNumber(options?.targetNorm, 'targetNorm');
  if (!Array.isArray(items) || items.length === 0) throw invalid('a non-empty array of { vector, weight }', 'embeddings', items);
  const dim = items[0]!.vector.length;
  if (dim === 0) throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', 'Expected embeddings with at least one dimension but received an empty vector');
  const sum = new Float64Array(dim);
  items.forEach(({ vector, weight }, i) => {
    if (typeof weight !== 'number' || !Number.isFinite(weight)) throw invalid('a finite number', `embeddings[${i}].weight`, weight);
    if (vector.length !== dim) {
      throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected embedding ${i} to have ${dim} dimensions like embedding 0 but it has ${vector.length}`);
    }
    expectFiniteValues(vector, `embedding ${i}`);
    const n = norm(vector);
    if (n === 0) throw new ImageBindError('EMBEDDING_ZERO', `Embedding ${i} is the zero vector: it has no direction to combine`);
    for (let j = 0; j < dim; j++) sum[j]! += (weight * vector[j]!) / n;
  });
  const total = norm(sum);
  // Relative to the weights' scale: a sum that cancels to rounding noise is zero too.
  const scale = items.reduce((a, { weight }) => a + Math.abs(weight), 0);
  if (total <= scale * 1e-9) {
    throw new ImageBindError('EMBEDDING_ZERO', 'The weighted sum of the embeddings is the zero vector (the weights cancel out): nothing to generate from');
  }
  return Float32Array.from(sum, (v) => (v * targetNorm) / total);
}

/** cos(a, b) = a.b / (||a|| ||b||). @throws EMBEDDING_ZERO for a zero vector. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected vectors of the same length but received ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) throw new ImageBindError('EMBEDDING_ZERO', 'Cosine similarity is undefined for the zero vector');
  const c = dot / Math.sqrt(na * nb);
  if (!Number.isFinite(c)) throw new ImageBindError('NON_FINITE_VALUE', 'Expected finite vectors for cosine similarity');
  return c;
}

export interface ScoredIndex {
  index: number;
  /** Cosine similarity to the query. */
  score: number;
}

/**
 * The k rows of `matrix` [N, D] (row-major, D = query.length) most similar to `query` by
 * cosine similarity, best first; ties go to the lower index. Zero rows (no direction) are
 * skipped.
 */
export function topK(query: ArrayLike<number>, matrix: ArrayLike<number>, k: number): ScoredIndex[] {
  expectPositiveInteger(k, 'k');
  const dim = query.length;
  if (dim === 0 || matrix.length % dim !== 0) {
    throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected a matrix of rows of ${dim} values but received ${matrix.length} values`);
  }
  expectFiniteValues(query, 'the query');
  expectFiniteValues(matrix, 'the matrix');
  const qn = norm(query);
  if (qn === 0) throw new ImageBindError('EMBEDDING_ZERO', 'The query is the zero vector: it has no nearest neighbours');
  const rows = matrix.length / dim;
  const scored: ScoredIndex[] = [];
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let rn = 0;
    for (let j = 0; j < dim; j++) {
      const v = matrix[r * dim + j]!;
      dot += query[j]! * v;
      rn += v * v;
    }
    if (rn > 0) scored.push({ index: r, score: dot / (qn * Math.sqrt(rn)) });
  }
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, k);
}
