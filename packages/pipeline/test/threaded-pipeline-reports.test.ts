import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ThreadedPipeline } from '../src/threaded-pipeline.js';
import type { ModelCallReport, RowLimitReport } from '../src/pipeline-thread-messages.js';
import { RAIN_TEXT, testJob } from './test-jobs.js';

// What the pipeline thread tells the main thread of continuous batching, for the worker's metrics
// and log: every shared model call ('model-call') and a row limit learned from a failed call
// ('row-limit'). The pipeline is a module that makes both up (fixtures/batch-reporting-pipeline.ts).
const MODULE = fileURLToPath(new URL('./fixtures/batch-reporting-pipeline.ts', import.meta.url));
const LIMITS = { maxAudioSeconds: 60, maxPixels: 1e6, maxUploadBytes: 1e6 };

describe('ThreadedPipeline: reports of shared model calls from the pipeline thread', () => {
  it('hands each shared call and each row limit to onModelCall and onRowLimit, in the order they came', async () => {
    const pipeline = await ThreadedPipeline.start({ pipeline: MODULE, packDir: '.', limits: LIMITS, syntheticStepMs: 0 });
    try {
      const calls: ModelCallReport[] = [];
      const limits: RowLimitReport[] = [];
      pipeline.onModelCall = (call) => calls.push(call);
      pipeline.onRowLimit = (limit) => limits.push(limit);
      await pipeline.generate(testJob('a', RAIN_TEXT, { steps: 8, seed: 3 }), { signal: new AbortController().signal, onProgress: () => undefined, onPreview: () => undefined });
      await pipeline.generate(testJob('b', RAIN_TEXT, { steps: 5, seed: 2 }), { signal: new AbortController().signal, onProgress: () => undefined, onPreview: () => undefined });
      expect(calls).toEqual([
        { stage: 'decode', rows: 8, seats: 2, runMs: 12.5, waitingRows: 0 },
        { stage: 'decode', rows: 5, seats: 2, runMs: 12.5, waitingRows: 0 },
      ]);
      expect(limits).toEqual([
        { stage: 'decode', limit: 3, failedRows: 6, error: 'Failed to allocate memory' },
        { stage: 'decode', limit: null, ranRows: 12 },
        { stage: 'decode', limit: 2, failedRows: 4, error: 'Failed to allocate memory' },
        { stage: 'decode', limit: null, ranRows: 8 },
      ]);
    } finally {
      await pipeline.close();
    }
  });

  it('says nothing with a pipeline that shares no calls (the synthetic one)', async () => {
    const pipeline = await ThreadedPipeline.start({ pipeline: 'synthetic', packDir: '.', limits: LIMITS, syntheticStepMs: 0 });
    try {
      const heard: unknown[] = [];
      pipeline.onModelCall = (call) => heard.push(call);
      pipeline.onRowLimit = (limit) => heard.push(limit);
      await pipeline.generate(testJob('a', RAIN_TEXT, { steps: 4 }), { signal: new AbortController().signal, onProgress: () => undefined, onPreview: () => undefined });
      expect(heard).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });
});
