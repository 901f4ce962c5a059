import { afterAll, beforeAll } from 'vitest';
import type { GenerationJob } from '@a2i/protocol';
import { ThreadedPipeline } from '../src/threaded-pipeline.js';

/** What a test job starts from: no prior, no noise augmentation, one png, no previews. */
const BASE_OPTIONS: GenerationJob['options'] = {
  prompt: '',
  seed: 1,
  steps: 4,
  guidance: 3,
  usePrior: false,
  noiseLevel: 0,
  numImages: 1,
  format: 'png',
  previewEvery: 0,
  priority: 'normal',
};

export const RAIN_TEXT: GenerationJob['inputs'] = [{ modality: 'text', weight: 1, text: 'rain' }];

/** A generation job created at time 0; `options` override BASE_OPTIONS. */
export function testJob(id: string, inputs: GenerationJob['inputs'], options: Partial<GenerationJob['options']> = {}): GenerationJob {
  return { id, createdAt: 0, inputs, options: { ...BASE_OPTIONS, ...options } };
}

/**
 * The synthetic pipeline in its worker thread, started before the suite's tests and closed
 * after them (vitest hooks); read `.pipeline` inside a test.
 */
export function syntheticThreadForSuite(syntheticStepMs: number): { readonly pipeline: ThreadedPipeline } {
  let started: ThreadedPipeline | undefined;
  beforeAll(async () => {
    started = await ThreadedPipeline.start({ pipeline: 'synthetic', packDir: '.', limits: { maxAudioSeconds: 60, maxPixels: 1e6, maxUploadBytes: 1e6 }, syntheticStepMs });
  });
  afterAll(async () => {
    await started?.close();
  });
  return {
    get pipeline(): ThreadedPipeline {
      if (!started) throw new Error('The synthetic pipeline thread is not started: read .pipeline inside a test');
      return started;
    },
  };
}
