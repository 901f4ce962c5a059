import { describe, expect, it } from 'vitest';
import { embeddingRequestSchema, generationRequestSchema, generationJobSchema, parseOrThrow, resolveGenerationRequest, resolveInputs, type PackDescription, type StoredItemVectors } from '../src/index.js';

// Generation from search, the protocol's part: `item` inputs (collection + id, looked up by the
// api into `embedding` inputs) and `neighbors` (searched by the worker).
const pack: PackDescription = {
  name: 'test',
  dim: 3,
  modalities: ['audio', 'image', 'text', 'embedding'],
  imageSize: { width: 64, height: 64 },
  prior: { available: true, defaultFor: ['audio', 'text'] },
  defaults: { steps: 25, guidance: 3, noiseLevel: 0 },
  limits: { maxSteps: 50, maxImages: 2, maxNoiseLevel: 999 },
};
const limits = { maxSteps: 40, maxImages: 4, maxInputs: 3, maxTextChars: 20, maxNeighbors: 8 };
const ctx = { id: 'j', createdAt: 1, randomSeed: () => 7 };

function issues(body: unknown): string[] {
  const parsed = generationRequestSchema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error('expected an error');
}

describe('item inputs', () => {
  it('take collection and id, nothing else; other inputs take neither', () => {
    expect(issues({ inputs: [{ modality: 'item', collection: 'photos', id: 'sea-bell', weight: 0.5 }] })).toEqual([]);
    expect(issues({ inputs: [{ modality: 'item', collection: 'photos' }] })).toEqual(['inputs.0.id: Expected id for a item input but received nothing']);
    expect(issues({ inputs: [{ modality: 'item', collection: 'photos', id: 'x', vector: [1, 2, 3] }] })).toEqual(['inputs.0.vector: Expected no vector for a item input (it takes collection and id)']);
    expect(issues({ inputs: [{ modality: 'text', text: 'x', collection: 'photos' }] })).toEqual(['inputs.0.collection: Expected no collection for a text input (it takes text)']);
    expect(issues({ inputs: [{ modality: 'item', collection: 'photos', id: '' }] })).toHaveLength(1);
    // search and /v1/embeddings take a generation's inputs: items too
    expect(embeddingRequestSchema.safeParse({ inputs: [{ modality: 'item', collection: 'photos', id: 'x' }] }).success).toBe(true);
  });

  it('become embedding inputs with the stored vector, and count as their own modality for prior "auto"', () => {
    const request = parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'item', collection: 'photos', id: 'sea-bell', weight: 0.5 }] });
    const image: StoredItemVectors = new Map([[0, { vector: [0, 0.6, 0.8], modality: 'image' }]]);
    const job = resolveGenerationRequest(request, pack, limits, { ...ctx, items: image });
    expect(job.inputs).toEqual([{ modality: 'embedding', weight: 0.5, vector: [0, 0.6, 0.8], item: { collection: 'photos', id: 'sea-bell', modality: 'image' } }]);
    expect(job.options.usePrior).toBe(false);
    const audio: StoredItemVectors = new Map([[0, { vector: [0, 0.6, 0.8], modality: 'audio' }]]);
    expect(resolveGenerationRequest(request, pack, limits, { ...ctx, items: audio }).options.usePrior).toBe(true);
    expect(generationJobSchema.parse(job)).toEqual(job);
  });

  it('are refused where nothing looked them up, and when the stored vector is not the pack\'s size', () => {
    const request = parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'item', collection: 'photos', id: 'x' }] });
    expect(codeOf(() => resolveInputs(request.inputs, pack, limits))).toBe('UNSUPPORTED_MODALITY');
    expect(codeOf(() => resolveInputs(request.inputs, pack, limits, undefined, new Map([[0, { vector: [1, 0], modality: 'image' }]])))).toBe('EMBEDDING_DIMENSION_MISMATCH');
  });
});

describe('neighbors', () => {
  it('defaults k 4 and weight 1, carries the owner and filter into the job, refuses k over the limit', () => {
    const request = parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'photos', filter: { place: 'sea' } } });
    const job = resolveGenerationRequest(request, pack, limits, { ...ctx, collectionOwner: 'abc' });
    expect(job.neighbors).toEqual({ collection: 'photos', owner: 'abc', k: 4, weight: 1, filter: { place: 'sea' } });
    expect(generationJobSchema.parse(job).neighbors).toEqual(job.neighbors);
    const shared = resolveGenerationRequest(parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'photos', k: 8, weight: 0.3 } }), pack, limits, ctx);
    expect(shared.neighbors).toEqual({ collection: 'photos', owner: null, k: 8, weight: 0.3 });
    const tooMany = parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'photos', k: 9 } });
    expect(codeOf(() => resolveGenerationRequest(tooMany, pack, limits, ctx))).toBe('INVALID_K');
    expect(issues({ inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'photos', k: 0 } })).toHaveLength(1);
    expect(issues({ inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'photos', extra: 1 } })).toHaveLength(1);
  });
});
