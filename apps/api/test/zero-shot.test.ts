import { describe, expect, it } from 'vitest';
import { LabelEmbeddingCache } from '../src/label-embedding-cache.js';
import { CLIP_LOGIT_SCALE, zeroShot } from '../src/zero-shot.js';

describe('zeroShot', () => {
  it('takes the scale from the label embeddings (text postprocess), softmaxes scale x cosine', () => {
    const s = 16.970276;
    const labels = [
      { label: 'a', vector: [s, 0] },
      { label: 'b', vector: [0, s] },
    ];
    const r = zeroShot([3, 4], labels);
    expect(r.logitScaleSource).toBe('text-postprocess');
    expect(r.logitScale).toBeCloseTo(s, 6);
    // cos(q, a) = 0.6, cos(q, b) = 0.8; p = softmax(s * [0.6, 0.8])
    const pB = 1 / (1 + Math.exp(s * (0.6 - 0.8)));
    expect(r.labels.map((l) => l.label)).toEqual(['b', 'a']);
    expect(r.labels[0]!.score).toBeCloseTo(0.8, 6);
    expect(r.labels[0]!.probability).toBeCloseTo(pB, 9);
  });

  it("uses CLIP's 100 when the text embeddings are unit length (no scale)", () => {
    const r = zeroShot([1, 0], [{ label: 'x', vector: [1, 0] }, { label: 'y', vector: [0, 1] }]);
    expect([r.logitScale, r.logitScaleSource]).toEqual([CLIP_LOGIT_SCALE, 'clip-default']);
    expect(r.labels[0]!.probability).toBeCloseTo(1 / (1 + Math.exp(-100)), 12);
  });
});

describe('LabelEmbeddingCache', () => {
  it('keys by pack and label, evicts the least recently used past its capacity', () => {
    const cache = new LabelEmbeddingCache(2);
    const demo = { name: 'demo', dim: 2 };
    cache.set(demo, 'a', new Float32Array([1, 0]));
    cache.set(demo, 'b', new Float32Array([0, 1]));
    expect(cache.get({ name: 'other', dim: 2 }, 'a')).toBeUndefined();
    expect(cache.get(demo, 'a')).toBeDefined(); // a is now the most recent
    cache.set(demo, 'c', new Float32Array([1, 1]));
    expect([cache.get(demo, 'b'), cache.size]).toEqual([undefined, 2]);
    expect(cache.get(demo, 'a')).toBeDefined();
  });
});
