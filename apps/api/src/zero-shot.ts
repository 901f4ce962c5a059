/**
 * Zero-shot classification as ImageBind evaluates it (and CLIP before it): the query is
 * L2-normalised, each label's text embedding carries the text head's learned logit scale
 * (ImageBind's text postprocessor: L2-normalise, then multiply by `logit_scale.exp()`; in a
 * pack, the text encoder's `postprocess: { normalize: true, scale }`), so
 *
 *   logit_i = q/|q| . t_i = scale * cos(q, t_i)          (|t_i| = scale)
 *   p_i     = softmax(logit)_i = exp(logit_i - max) / sum_j exp(logit_j - max)
 *
 * The scale is read from the label embeddings themselves (their norm, which is exactly the
 * manifest's text `postprocess.scale` when the encoder normalises): the api never reads a
 * manifest. A pack whose text embeddings come out unit length (no text scale) would give
 * near-uniform probabilities from cosines in [-1, 1]; it gets CLIP's fixed scale, 100.
 */
export const CLIP_LOGIT_SCALE = 100;
/** Label norms within this of 1 mean "no text scale". */
const UNIT_TOLERANCE = 1e-3;

export interface ZeroShotLabel {
  label: string;
  /** cos(query, label), in [-1, 1] */
  score: number;
  /** logit scale x score */
  logit: number;
  /** softmax over the labels */
  probability: number;
}

export interface ZeroShotResult {
  /** best first */
  labels: ZeroShotLabel[];
  /** The scale applied to the cosines, and where it came from. */
  logitScale: number;
  logitScaleSource: 'text-postprocess' | 'clip-default';
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

export function zeroShot(query: ArrayLike<number>, labels: ReadonlyArray<{ label: string; vector: ArrayLike<number> }>): ZeroShotResult {
  const qn = norm(query);
  if (!(qn > 0)) throw new RangeError('Expected a non-zero query vector');
  const norms = labels.map((l) => norm(l.vector));
  // One scale for all labels: their mean norm (they share one postprocess, so they agree).
  const mean = norms.reduce((a, b) => a + b, 0) / Math.max(1, norms.length);
  const unit = Math.abs(mean - 1) < UNIT_TOLERANCE;
  const logitScale = unit ? CLIP_LOGIT_SCALE : mean;
  const scored = labels.map((l, i) => {
    let dot = 0;
    for (let d = 0; d < query.length; d++) dot += query[d]! * l.vector[d]!;
    const score = norms[i]! > 0 ? dot / (qn * norms[i]!) : 0;
    return { label: l.label, score, logit: logitScale * score };
  });
  const max = Math.max(...scored.map((s) => s.logit));
  const exps = scored.map((s) => Math.exp(s.logit - max));
  const total = exps.reduce((a, b) => a + b, 0);
  const out = scored.map((s, i) => ({ ...s, probability: exps[i]! / total }));
  out.sort((a, b) => b.probability - a.probability);
  return { labels: out, logitScale, logitScaleSource: unit ? 'clip-default' : 'text-postprocess' };
}
