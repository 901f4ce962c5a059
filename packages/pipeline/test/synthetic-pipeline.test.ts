import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationJob, ProgressReport } from '@a2i/protocol';
import { SyntheticPipeline } from '../src/index.js';
import { RAIN_TEXT, syntheticThreadForSuite, testJob } from './test-jobs.js';

const job = (overrides: Partial<GenerationJob['options']> = {}, inputs = RAIN_TEXT): GenerationJob =>
  testJob('j1', inputs, { seed: 5, numImages: 2, previewEvery: 2, ...overrides });

const hooks = (signal = new AbortController().signal) => {
  const progress: ProgressReport[] = [];
  const previews: number[] = [];
  const onProgress = (p: ProgressReport): void => void progress.push(p);
  const onPreview = (p: { step: number }): void => void previews.push(p.step);
  return { progress, previews, hooks: { signal, onProgress, onPreview } };
};

describe('SyntheticPipeline (the stand-in for the models)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2i-synth-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic in inputs and seed, and the seed of image i is seed + i', async () => {
    const pipeline = new SyntheticPipeline({ stepMs: 0 });
    const a = await pipeline.generate(job(), hooks().hooks);
    const b = await pipeline.generate(job(), hooks().hooks);
    const c = await pipeline.generate(job({ seed: 6 }), hooks().hooks);
    expect(a.images.map((i) => i.seed)).toEqual([5, 6]);
    expect(Buffer.from(a.images[0]!.rgb).equals(Buffer.from(b.images[0]!.rgb))).toBe(true);
    expect(Buffer.from(a.images[0]!.rgb).equals(Buffer.from(c.images[0]!.rgb))).toBe(false);
    // Image 1 of seed 5 is image 0 of seed 6.
    expect(Buffer.from(a.images[1]!.rgb).equals(Buffer.from(c.images[0]!.rgb))).toBe(true);
  });

  it('reports every stage step and previews every N steps', async () => {
    const pipeline = new SyntheticPipeline({ stepMs: 0, priorSteps: 3 });
    const h = hooks();
    await pipeline.generate(job({ usePrior: true, numImages: 1, steps: 5 }), h.hooks);
    expect(h.progress.map((p) => `${p.stage}${p.step}/${p.steps}`)).toEqual(['embed1/1', 'prior1/3', 'prior2/3', 'prior3/3', 'decode1/5', 'decode2/5', 'decode3/5', 'decode4/5', 'decode5/5']);
    expect(h.previews).toEqual([2, 4, 5]);
  });

  it('mixes embeddings by weight', async () => {
    const pipeline = new SyntheticPipeline({ stepMs: 0, dim: 3 });
    const out = await pipeline.embed([
      { modality: 'embedding', weight: 2, vector: [1, 0, 0] },
      { modality: 'embedding', weight: -1, vector: [0, 1, 0] },
    ]);
    expect(Array.from(out.combined)).toEqual([2, -1, 0]);
  });

  it('refuses inputs with a decoder code: empty, wrong kind, broken image', async () => {
    const pipeline = new SyntheticPipeline({ stepMs: 0 });
    const empty = join(dir, 'empty.wav');
    const text = join(dir, 'text.wav');
    const broken = join(dir, 'broken.png');
    await writeFile(empty, '');
    await writeFile(text, 'hello');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
    await writeFile(broken, png.subarray(0, 30));
    const code = (file: string, modality: 'audio' | 'image') => pipeline.embed([{ modality, weight: 1, file }]).then(() => 'none', (e: { code: string }) => e.code);
    expect(await code(empty, 'audio')).toBe('MEDIA_EMPTY');
    expect(await code(text, 'audio')).toBe('MEDIA_UNSUPPORTED_FORMAT');
    expect(await code(broken, 'image')).toBe('IMAGE_INVALID');
  });

  it('stops at the next step when aborted', async () => {
    const pipeline = new SyntheticPipeline({ stepMs: 5 });
    const controller = new AbortController();
    const h = hooks(controller.signal);
    h.hooks.onProgress = (p) => {
      h.progress.push(p);
      if (p.stage === 'decode' && p.step === 3) controller.abort();
    };
    await expect(pipeline.generate(job({ steps: 100 }), h.hooks)).rejects.toThrow();
    expect(h.progress.at(-1)).toMatchObject({ stage: 'decode', step: 3 });
  });
});

describe('ThreadedPipeline (the pipeline in its worker thread)', () => {
  const thread = syntheticThreadForSuite(5);

  it('describes the pack, and returns the same images as in-process', async () => {
    expect(thread.pipeline.describe().name).toBe('synthetic');
    const h = hooks();
    const threaded = await thread.pipeline.generate(job(), h.hooks);
    const direct = await new SyntheticPipeline({ stepMs: 0 }).generate(job(), hooks().hooks);
    expect(Buffer.from(threaded.images[1]!.rgb).equals(Buffer.from(direct.images[1]!.rgb))).toBe(true);
    expect(h.progress.at(-1)).toEqual({ stage: 'decode', step: 4, steps: 4 });
    expect(h.previews).toEqual([2, 2, 4, 4]);
  });

  it('forwards an abort into the thread and keeps serving', async () => {
    const controller = new AbortController();
    const h = hooks(controller.signal);
    h.hooks.onProgress = (p) => {
      h.progress.push(p);
      if (p.stage === 'decode' && p.step === 5) controller.abort();
    };
    const running = thread.pipeline.generate(job({ steps: 1000, previewEvery: 0 }), h.hooks);
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(h.progress.length).toBeLessThan(100);
    const out = await thread.pipeline.embed([{ modality: 'text', weight: 1, text: 'after' }]);
    expect(out.vectors).toHaveLength(1);
  });

  it('carries input errors across the thread with their code', async () => {
    await expect(thread.pipeline.embed([{ modality: 'audio', weight: 1, file: '/nonexistent/file.wav' }])).rejects.toMatchObject({ code: 'INTERNAL', fault: 'server' });
    await expect(thread.pipeline.embed([{ modality: 'embedding', weight: 1, vector: [1] }])).rejects.toMatchObject({ code: 'EMBEDDING_DIMENSION_MISMATCH', fault: 'input' });
  });
});
