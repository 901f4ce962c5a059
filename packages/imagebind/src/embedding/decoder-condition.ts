import { ImageBindError, imagebindGuards } from '../imagebind-error.js';
import type { WeightedEmbedding } from './embedding-math.js';

const { expectFiniteValues, expectPositiveNumber, invalid } = imagebindGuards;

export interface DecoderConditionTerm extends WeightedEmbedding {
  /**
   * true: the vector is used at its own norm (an image's raw vision embedding, the scale of the
   * OpenCLIP ViT-H image_embeds Stable unCLIP-H was trained on); false: its unit direction
   * times `norm` (every other input).
   */
  atOwnNorm: boolean;
}

/**
 * Stable unCLIP's image embedding from weighted inputs, for a pack with a `conditioning`
 * section (models/README.md):
 *
 *   c = sum_i w_i t_i / sum_i |w_i|,   t_i = v_i (atOwnNorm) or norm * v_i / ||v_i||
 *
 * A weighted mean, not renormalised: Anything2Image mixes with weights that sum to 1,
 * `audio * s + image * (1 - s)`, and (image + audio) / 2 (Zeqiang-Lai/Anything2Image
 * anything2image/api.py, tasks/audioimg2img.py), and feeds the sum to the pipeline as it is;
 * dividing by sum |w_i| makes any weights such a mix (1 and 1 is half and half), and keeps
 * a single input at its own scale whatever its weight.
 *
 * @throws EMBEDDING_ZERO when a term is the zero vector, every weight is 0 or the sum cancels,
 *   EMBEDDING_DIMENSION_MISMATCH when lengths differ, NON_FINITE_VALUE on NaN / infinity.
 */
export function decoderCondition(terms: readonly DecoderConditionTerm[], options: { norm: number }): Float32Array {
  const norm = expectPositiveNumber(options?.norm, 'norm');
  if (!Array.isArray(terms) || terms.length === 0) throw invalid('a non-empty array of { vector, weight, atOwnNorm }', 'terms', terms);
  const dim = terms[0]!.vector.length;
  if (dim === 0) throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', 'Expected embeddings with at least one dimension but received an empty vector');
  const sum = new Float64Array(dim);
  let weights = 0;
  let largest = 0; // the largest term norm: the scale a cancelling sum is judged against
  terms.forEach(({ vector, weight, atOwnNorm }, i) => {
    if (typeof weight !== 'number' || !Number.isFinite(weight)) throw invalid('a finite number', `terms[${i}].weight`, weight);
    if (vector.length !== dim) {
      throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected embedding ${i} to have ${dim} dimensions like embedding 0 but it has ${vector.length}`);
    }
    expectFiniteValues(vector, `embedding ${i}`);
    const length = l2(vector);
    if (length === 0) throw new ImageBindError('EMBEDDING_ZERO', `Embedding ${i} is the zero vector: it has no direction to condition on`);
    const scale = atOwnNorm ? 1 : norm / length;
    for (let j = 0; j < dim; j++) sum[j]! += weight * scale * vector[j]!;
    weights += Math.abs(weight);
    largest = Math.max(largest, Math.abs(weight) * (atOwnNorm ? length : norm));
  });
  if (weights === 0) throw new ImageBindError('EMBEDDING_ZERO', 'Every input has weight 0: nothing to condition on');
  if (l2(sum) <= largest * 1e-9) {
    throw new ImageBindError('EMBEDDING_ZERO', 'The weighted sum of the embeddings is the zero vector (the weights cancel out): nothing to generate from');
  }
  return Float32Array.from(sum, (v) => v / weights);
}

function l2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}
