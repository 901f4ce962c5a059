import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationJobSchema, type PackDescription } from '@a2i/protocol';
import { OnnxPipeline, warmUpEncoders, warmUpJob, type WarmableEncoder } from '../src/onnx/index.js';
import { ThreadedPipeline } from '../src/threaded-pipeline.js';
import { tinyPackCopy } from './tiny-pack-inputs.js';

// The worker's warm-up (src/onnx/warm-up.ts) and A2I_MODALITIES (only the served encoders opened).
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 8 * 1024 * 1024 };
// Small session options: the machine is shared, and the demo graphs need few threads.
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: false, verifyChecksums: false } as const;

/** An encoder that records what it was given. */
function recordingEncoder(rowShape: number[], dtype: WarmableEncoder['dtype'], runs: Array<{ key: string; type: string; length: number; rows: number | undefined }>, key: string): WarmableEncoder {
  return {
    dtype,
    encoder: {
      rowShape,
      run: async (inputs) => {
        for (const input of inputs) runs.push({ key, type: input.data.constructor.name, length: input.data.length, rows: input.rows });
        return inputs.map(() => new Float32Array(4));
      },
    },
  };
}

describe('warmUpEncoders', () => {
  it('runs every encoder once on one row of zeros of its input type and shape', async () => {
    const runs: Array<{ key: string; type: string; length: number; rows: number | undefined }> = [];
    const encoders = new Map([
      ['vision', recordingEncoder([3, 2, 8, 8], 'float32', runs, 'vision')],
      ['text', recordingEncoder([77], 'int64', runs, 'text')],
      ['audio', recordingEncoder([1, -1, 16], 'float32', runs, 'audio')],
    ]);
    expect(await warmUpEncoders(encoders)).toEqual(['vision', 'text', 'audio']);
    expect(runs).toEqual([
      { key: 'vision', type: 'Float32Array', length: 3 * 2 * 8 * 8, rows: 1 },
      { key: 'text', type: 'BigInt64Array', length: 77, rows: 1 },
      { key: 'audio', type: 'Float32Array', length: 16, rows: 1 }, // a dynamic dimension counts 1
    ]);
  });
});

describe('warmUpJob', () => {
  const description: PackDescription = {
    name: 'p', dim: 8, modalities: ['audio', 'embedding'], imageSize: { width: 64, height: 64 },
    prior: { available: true }, defaults: { steps: 25, guidance: 3, noiseLevel: 0 }, limits: { maxSteps: 200, maxImages: 4, maxNoiseLevel: 999 },
  };

  it('is a valid 2-step job from a unit vector of the space, with the prior when the pack has one and a preview each step', () => {
    const job = generationJobSchema.parse(warmUpJob(description, 5));
    expect(job.inputs).toEqual([{ modality: 'embedding', weight: 1, vector: [1, 0, 0, 0, 0, 0, 0, 0] }]);
    expect(job.options).toMatchObject({ steps: 2, guidance: 3, usePrior: true, numImages: 1, previewEvery: 1 });
    expect(warmUpJob({ ...description, prior: { available: false } }).options.usePrior).toBe(false);
  });
});

describe('the ONNX pipeline on the demo pack', () => {
  let all: OnnxPipeline;
  let audioText: OnnxPipeline;
  beforeAll(async () => {
    all = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME });
    audioText = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME, modalities: ['audio', 'text'] });
  }, 60_000);
  afterAll(async () => {
    await all?.close();
    await audioText?.close();
  });

  it('warms up every encoder with a file, then the prior, the decoder and the previews', async () => {
    const report = await all.warmUp();
    expect(report.encoders).toEqual(['vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
    expect(report).toMatchObject({ steps: 2, prior: true, previews: 2 });
    expect(report.ms).toBeGreaterThan(0);
  }, 60_000);

  it('opens and warms only the encoders of A2I_MODALITIES, and offers only those modalities', async () => {
    expect(audioText.describe().modalities).toEqual(['audio', 'text', 'embedding']);
    expect((await audioText.warmUp()).encoders).toEqual(['text', 'audio']);
    const sample = (name: string) => join(DEMO, 'samples', name);
    expect((await audioText.embed([{ modality: 'audio', weight: 1, file: sample('sea-bell.wav') }])).vectors[0]).toHaveLength(128);
    await expect(audioText.embed([{ modality: 'image', weight: 1, file: sample('sea-bell.png') }])).rejects.toMatchObject({ code: 'UNSUPPORTED_MODALITY' });
  }, 60_000);

  it('keeps the prompt encoder when text is not served (the demo pack conditions prompts on its text encoder)', async () => {
    const audioOnly = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME, modalities: ['audio'] });
    try {
      expect(audioOnly.describe().modalities).toEqual(['audio', 'embedding']);
      const report = await audioOnly.warmUp(); // its generation encodes the prompt 'warm-up'
      expect(report.encoders).toEqual(['audio']);
    } finally {
      await audioOnly.close();
    }
  }, 60_000);
});

describe('A2I_MODALITIES naming a modality the pack has no encoder for', () => {
  it('stops the pipeline at open with CONFIG_INVALID naming it', async () => {
    const copy = tinyPackCopy((m) => {
      delete m.encoders.imu;
      m.prior.defaultFor = m.prior.defaultFor.filter((modality: string) => modality !== 'imu');
    });
    try {
      await expect(OnnxPipeline.open({ packDir: copy.dir, limits: LIMITS, runtime: RUNTIME, modalities: ['audio', 'imu'] })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('it needs imu'),
      });
    } finally {
      copy.cleanup();
    }
  });
});

describe('ThreadedPipeline.warmUp', () => {
  it('answers null for a pipeline with nothing to warm up (synthetic)', async () => {
    const threaded = await ThreadedPipeline.start({ pipeline: 'synthetic', packDir: '.', limits: LIMITS, syntheticStepMs: 0 });
    try {
      expect(await threaded.warmUp()).toBeNull();
    } finally {
      await threaded.close();
    }
  });
});
