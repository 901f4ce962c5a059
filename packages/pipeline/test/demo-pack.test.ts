import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npyToFloat32, parseNpy } from '@a2i/media';
import { cosineSimilarity } from '@a2i/imagebind';
import type { GenerationJob, PipelineInput, ProgressReport } from '@a2i/protocol';
import { OnnxPipeline } from '../src/onnx/index.js';
import { REPO } from './tiny-pack-inputs.js';
import { testJob } from './test-jobs.js';

// The ONNX pipeline on the real demo pack (models/demo): each shipped sample FILE goes through
// the whole embed path (decoder, preprocessing, ONNX encoder, postprocess) and is compared with
// the recipe's PyTorch embedding (models/recipes/make_reference.py, reference/models/index.json);
// then whole generations from a sample sound.
const DEMO = process.env.A2I_TEST_PACK ?? join(REPO, 'models/demo');
const REF = join(DEMO, 'reference/models');

interface EncoderCase {
  sample: string;
  modality: 'vision' | 'text' | 'audio' | 'depth' | 'thermal' | 'imu';
  file: string;
  embedding: string;
}
// No skip when the pack is missing: the demo pack is part of the repository, so its absence is a failure.
const cases = (JSON.parse(readFileSync(join(REF, 'index.json'), 'utf8')) as { encoders: EncoderCase[] }).encoders;
const floats = (name: string) => npyToFloat32(parseNpy(new Uint8Array(readFileSync(join(REF, name)))));


/** A reference case as the input a request would carry. */
function inputOf(c: EncoderCase): PipelineInput {
  if (c.modality === 'text') return { modality: 'text', weight: 1, text: readFileSync(join(DEMO, c.file), 'utf8').trim() };
  return { modality: c.modality === 'vision' ? 'image' : c.modality, weight: 1, file: join(DEMO, c.file) };
}

const job = (inputs: PipelineInput[], options: Partial<GenerationJob['options']> = {}): GenerationJob =>
  testJob('demo', inputs, { steps: 10, previewEvery: 5, ...options });

describe('the ONNX pipeline on the demo pack', () => {
  let pipeline: OnnxPipeline;
  beforeAll(async () => {
    pipeline = await OnnxPipeline.open({
      packDir: DEMO,
      limits: { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 25 * 1024 * 1024 },
      runtime: { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: true, verifyChecksums: true },
    });
  }, 120_000);
  afterAll(async () => {
    await pipeline?.close();
  });

  it('checks the pack at open and describes it', () => {
    expect(pipeline.describe()).toMatchObject({ name: 'demo', dim: 128, imageSize: { width: 64, height: 64 }, prior: { available: true } });
  });

  // Tolerance: cosine >= 0.999 between the TypeScript path on the FILE and PyTorch's
  // embedding (the recipe's transforms on the same file); the norm within 0.5 %.
  for (const c of cases) {
    it(`embeds ${c.file} (${c.modality}) as PyTorch does: cosine >= 0.999`, async () => {
      const { vectors } = await pipeline.embed([inputOf(c)]);
      const expected = floats(c.embedding);
      expect(vectors[0]).toHaveLength(expected.length);
      expect(cosineSimilarity(vectors[0]!, expected)).toBeGreaterThanOrEqual(0.999);
      const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
      expect(Math.abs(norm(vectors[0]!) / norm(expected) - 1)).toBeLessThan(0.005);
    });
  }

  it('embeds the sample videos through the vision encoder (frames only), near their own picture', async () => {
    const videos = readdirSync(join(DEMO, 'samples')).filter((f) => f.endsWith('.mp4'));
    expect(videos.length).toBeGreaterThan(0);
    for (const video of videos) {
      const still = join(DEMO, 'samples', video.replace(/\.mp4$/, '.png'));
      const { vectors } = await pipeline.embed([
        { modality: 'video', weight: 1, file: join(DEMO, 'samples', video) },
        { modality: 'image', weight: 1, file: still },
      ]);
      expect(Array.from(vectors[0]!).every(Number.isFinite)).toBe(true);
      // the mean of 30 views (5 clips x 3 crops x 2 frames) of unit vectors: at most 1
      expect(Math.hypot(...Array.from(vectors[0]!))).toBeLessThanOrEqual(1 + 1e-5);
      expect(cosineSimilarity(vectors[0]!, vectors[1]!)).toBeGreaterThan(0.5);
    }
  });

  it('generates a 64x64 image from a sample sound, the same bytes for the same seed', async () => {
    const sound: PipelineInput = { modality: 'audio', weight: 1, file: join(DEMO, 'samples/sea-bell.wav') };
    const progress: ProgressReport[] = [];
    const previews: Array<{ width: number; height: number }> = [];
    const hooks = { signal: new AbortController().signal, onProgress: (p: ProgressReport) => progress.push(p), onPreview: (p: { width: number; height: number }) => previews.push(p) };
    const first = await pipeline.generate(job([sound], { usePrior: true, seed: 5 }), hooks);
    expect(first.images.map((i) => [i.width, i.height, i.rgb.length, i.seed])).toEqual([[64, 64, 64 * 64 * 3, 5]]);
    expect([...new Set(progress.map((p) => p.stage))]).toEqual(['embed', 'prior', 'decode']);
    expect(progress.at(-1)).toEqual({ stage: 'decode', step: 10, steps: 10 });
    // previews: 16x16 latents shown at 64x64, at steps 5 and 10
    expect(previews.map((p) => [p.width, p.height])).toEqual([[64, 64], [64, 64]]);
    const again = await pipeline.generate(job([sound], { usePrior: true, seed: 5 }), { ...hooks, onProgress: () => {}, onPreview: () => {} });
    expect(Buffer.from(again.images[0]!.rgb).equals(Buffer.from(first.images[0]!.rgb))).toBe(true);
    const other = await pipeline.generate(job([sound], { usePrior: true, seed: 6 }), { ...hooks, onProgress: () => {}, onPreview: () => {} });
    expect(Buffer.from(other.images[0]!.rgb).equals(Buffer.from(first.images[0]!.rgb))).toBe(false);
  }, 120_000);

  it('stops within one step of a cancel', async () => {
    const controller = new AbortController();
    const progress: ProgressReport[] = [];
    const onProgress = (p: ProgressReport) => {
      progress.push(p);
      if (p.stage === 'decode' && p.step === 3) controller.abort(new Error('canceled by its owner'));
    };
    const sound: PipelineInput = { modality: 'audio', weight: 1, file: join(DEMO, 'samples/sea-bell.wav') };
    await expect(pipeline.generate(job([sound], { steps: 50 }), { signal: controller.signal, onProgress, onPreview: () => {} })).rejects.toMatchObject({ code: 'SAMPLING_ABORTED' });
    expect(progress.at(-1)).toEqual({ stage: 'decode', step: 3, steps: 50 });
  }, 120_000);
});
