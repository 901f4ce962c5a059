import { describe, expect, it } from 'vitest';
import type { GenerationHooks, GenerationJob } from '@a2i/protocol';
import { CodedError } from '@a2i/protocol/errors';
import { SyntheticPipeline } from '../src/index.js';
import { RAIN_TEXT, syntheticThreadForSuite, testJob } from './test-jobs.js';

// GenerationHooks.augmentCondition (retrieval-augmented generation): called once with the
// query between combining the inputs and the prior; its terms join the condition. Across the
// pipeline thread it is a request/response message pair answered by the main thread.
const DIM = 128;
const job = (inputs = RAIN_TEXT): GenerationJob => testJob('j1', inputs, { seed: 9, steps: 3 });
const hooks = (extra: Partial<GenerationHooks> = {}): GenerationHooks => ({ signal: new AbortController().signal, onProgress: () => {}, onPreview: () => {}, ...extra });
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const unit = (d: number) => Float32Array.from({ length: DIM }, (_, i) => (i === d ? 1 : 0));

describe('augmentCondition across the pipeline thread', () => {
  const thread = syntheticThreadForSuite(1);

  it('gets the query once, and mixes the terms in exactly like an input with that vector and weight', async () => {
    const queries: Float32Array[] = [];
    const text = { modality: 'text' as const, weight: 1, text: 'rain' };
    const mixed = await thread.pipeline.generate(
      job([text]),
      hooks({
        augmentCondition: async (query) => {
          queries.push(query);
          return [{ vector: unit(0), weight: 0.7 }];
        },
      }),
    );
    expect(queries).toHaveLength(1);
    expect(queries[0]).toBeInstanceOf(Float32Array);
    expect(queries[0]!.length).toBe(DIM);
    // the query is the inputs' own: the embedding of the text alone
    const [embedded] = (await thread.pipeline.embed([text])).vectors;
    expect(Array.from(queries[0]!)).toEqual(Array.from(embedded!));
    const plain = await thread.pipeline.generate(job([text]), hooks());
    const asInput = await thread.pipeline.generate(job([text, { modality: 'embedding', weight: 0.7, vector: Array.from(unit(0)) }]), hooks());
    expect(same(mixed.images[0]!.rgb, plain.images[0]!.rgb)).toBe(false);
    expect(same(mixed.images[0]!.rgb, asInput.images[0]!.rgb)).toBe(true);
    // no terms: the condition is the query
    const none = await thread.pipeline.generate(job([text]), hooks({ augmentCondition: async () => [] }));
    expect(same(none.images[0]!.rgb, plain.images[0]!.rgb)).toBe(true);
  });

  it("fails the call with the hook's code and fault, and keeps serving", async () => {
    const failing = thread.pipeline.generate(job(), hooks({ augmentCondition: () => Promise.reject(new CodedError('COLLECTION_NOT_FOUND', 'No collection photos')) }));
    await expect(failing).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND', fault: 'input', message: 'No collection photos' });
    const broken = thread.pipeline.generate(job(), hooks({ augmentCondition: () => Promise.reject(new Error('disk on fire')) }));
    await expect(broken).rejects.toMatchObject({ code: 'INTERNAL', fault: 'server' });
    expect((await thread.pipeline.generate(job(), hooks())).images).toHaveLength(1);
  });

  it('an abort while the hook runs ends the call at once', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const running = thread.pipeline.generate(job(), {
      ...hooks({ augmentCondition: () => new Promise(() => controller.abort()) }), // never answers
      signal: controller.signal,
    });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await thread.pipeline.generate(job(), hooks())).images).toHaveLength(1);
  });

  it('in process too (SyntheticPipeline), a wrong-sized term is refused', async () => {
    const direct = new SyntheticPipeline({ stepMs: 0 });
    await expect(direct.generate(job(), hooks({ augmentCondition: async () => [{ vector: new Float32Array(3).fill(1), weight: 1 }] }))).rejects.toMatchObject({
      code: 'EMBEDDING_DIMENSION_MISMATCH',
    });
  });
});
