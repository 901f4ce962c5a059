import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationHooks, GenerationJob, GenerationOutput, PipelineInput, ProgressReport } from '@a2i/protocol';
import type { SharedCallRecord } from '@a2i/unclip';
import type { Encoder, EncoderInput } from '@a2i/imagebind';
import { OnnxPipeline } from '../src/onnx/index.js';
import { sharedEncoder } from '../src/onnx/shared-encoder.js';
import { REPO } from './tiny-pack-inputs.js';
import { testJob } from './test-jobs.js';

// Continuous batching (issue #15) on the demo pack: generations running at once on a pipeline
// opened with shareModelCalls share one prior / UNet call per step (and one VAE call when they
// end together), joining and leaving between steps, and each job's images are the ones it makes
// alone on an unshared pipeline, to the last bit.
//
// Why to the last bit: with one intra-op thread, onnxruntime's CPU kernels for these graphs
// (MLAS GEMM and convolutions) compute each output row from that row's inputs in the same order
// whatever the batch size; measured on the demo UNet at batch 1..16 and the VAE at 1..8 with a
// different timestep on every row: max |difference| 0 (README "Continuous batching"). Should a
// provider or thread count ever make a row depend on its batch, the decoded 8-bit pixels may
// differ by at most 1 (the bound); `maxPixelDifference` below is what is asserted.
const DEMO = process.env.A2I_TEST_PACK ?? join(REPO, 'models/demo');
const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 25 * 1024 * 1024 };
const RUNTIME = { executionProvider: 'cpu' as const, deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: true, verifyChecksums: false };
const SOUND: PipelineInput[] = [{ modality: 'audio', weight: 1, file: join(DEMO, 'samples/sea-bell.wav') }];
const TEXT: PipelineInput[] = [{ modality: 'text', weight: 1, text: 'a bell by the sea' }];

/** Jobs that differ in everything a request chooses. */
const JOBS: GenerationJob[] = [
  testJob('ddim', SOUND, { steps: 12, seed: 11, guidance: 3, scheduler: 'ddim', numImages: 2 }),
  testJob('dpm', TEXT, { steps: 7, seed: 12, guidance: 5, scheduler: 'dpmsolver++', noiseLevel: 100 }),
  testJob('euler', SOUND, { steps: 9, seed: 13, guidance: 1, scheduler: 'euler', usePrior: true }),
  testJob('pndm', TEXT, { steps: 10, seed: 14, guidance: 2, scheduler: 'pndm', numImages: 3, previewEvery: 3 }),
  testJob('ddpm', SOUND, { steps: 15, seed: 15, guidance: 4, scheduler: 'ddpm', usePrior: true, noiseLevel: 50 }),
];

function hooks(signal = new AbortController().signal, onProgress: (p: ProgressReport) => void = () => undefined): GenerationHooks & { previews: number } {
  const h = { signal, onProgress, onPreview: () => void h.previews++, previews: 0 };
  return h;
}

/** The largest difference of one 8-bit channel between two runs' images. */
function maxPixelDifference(a: GenerationOutput, b: GenerationOutput): number {
  expect(a.images.length).toBe(b.images.length);
  let max = 0;
  a.images.forEach((image, i) => {
    const other = b.images[i]!.rgb;
    expect(image.rgb.length).toBe(other.length);
    for (let p = 0; p < image.rgb.length; p++) max = Math.max(max, Math.abs(image.rgb[p]! - other[p]!));
  });
  return max;
}

/** Resolves once `job`'s decoder has reported step `step`. */
function atDecodeStep(step: number): { onProgress: (p: ProgressReport) => void; reached: Promise<void> } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return { onProgress: (p) => p.stage === 'decode' && p.step >= step && reach(), reached };
}

describe('continuous batching on the demo pack', () => {
  let alone: OnnxPipeline;
  let shared: OnnxPipeline;
  const lone = new Map<string, GenerationOutput>();
  let calls: Array<{ stage: string; record: SharedCallRecord }> = [];

  beforeAll(async () => {
    [alone, shared] = await Promise.all([
      OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME }),
      OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME, shareModelCalls: true }),
    ]);
    shared.observeSharedCalls((stage, record) => calls.push({ stage, record }));
    for (const job of JOBS) lone.set(job.id, await alone.generate(job, hooks()));
  }, 180_000);
  afterAll(async () => {
    await Promise.all([alone?.close(), shared?.close()]);
  });

  it('runs one job alone on the shared pipeline exactly as the unshared one does', async () => {
    calls = [];
    const out = await shared.generate(JOBS[0]!, hooks());
    expect(maxPixelDifference(out, lone.get('ddim')!)).toBe(0);
    expect(calls.every((c) => c.record.seatRows.length === 1)).toBe(true);
    expect(calls.filter((c) => c.stage === 'decode')).toHaveLength(12);
  });

  it('shares each step between jobs of every scheduler, guidance, noise level, prior and image count, and each gets its lone images', async () => {
    calls = [];
    const progress = JOBS.map(() => [] as ProgressReport[]);
    const jobHooks = JOBS.map((_, i) => hooks(undefined, (p) => progress[i]!.push(p)));
    const outs = await Promise.all(JOBS.map((job, i) => shared.generate(job, jobHooks[i]!)));
    JOBS.forEach((job, i) => expect(maxPixelDifference(outs[i]!, lone.get(job.id)!), job.id).toBe(0));
    // progress and previews stay per job: each job's decode steps 1..its steps in order, pndm's previews every 3 steps for its 3 images
    // (PNDM reports one step more than asked: its PLMS warm-up step)
    JOBS.forEach((job, i) => {
      const decode = progress[i]!.filter((p) => p.stage === 'decode');
      expect(decode.map((p) => p.step), job.id).toEqual(Array.from({ length: decode.at(-1)!.steps }, (_, k) => k + 1));
      expect(decode.at(-1)!.steps - job.options.steps, job.id).toBe(job.options.scheduler === 'pndm' ? 1 : 0);
    });
    expect(jobHooks.map((h) => h.previews)).toEqual([0, 0, 0, 9, 0]);
    // model rows: ddim 2 images x 2 (guided), dpm 1 x 2, euler 1 (guidance 1: no CFG), pndm 3 x 2, ddpm 1 x 2
    const decode = calls.filter((c) => c.stage === 'decode').map((c) => c.record);
    expect(Math.max(...decode.map((r) => r.seatRows.length))).toBeGreaterThanOrEqual(3);
    const widest = decode.find((r) => r.seatRows.length === Math.max(...decode.map((d) => d.seatRows.length)))!;
    // every seat carries its own timestep into the one call (different schedulers, different t)
    expect(new Set(widest.timesteps).size).toBeGreaterThan(1);
    // fewer calls than the jobs' steps put together (12 + 7 + 9 + 10 + 15 = 53; PNDM's PLMS warm-up adds 1)
    expect(decode.length).toBeLessThan(54);
    expect(calls.some((c) => c.stage === 'prior' && c.record.seatRows.length === 2)).toBe(true);
  }, 120_000);

  it('lets a job join between steps and leave when it is done, without waiting for the others', async () => {
    calls = [];
    const long = testJob('long', SOUND, { steps: 40, seed: 21, scheduler: 'ddim' });
    const short = testJob('short', TEXT, { steps: 5, seed: 22, scheduler: 'euler', guidance: 4 });
    const gate = atDecodeStep(10);
    const longRun = shared.generate(long, hooks(undefined, gate.onProgress));
    await gate.reached;
    const shortOut = await shared.generate(short, hooks());
    const longStepsAtShortEnd = calls.filter((c) => c.stage === 'decode').length;
    const longOut = await longRun;
    // the short job joined the long one's batch, ran its 5 steps, and ended while the long one went on
    const decode = calls.filter((c) => c.stage === 'decode').map((c) => c.record.seatRows.length);
    const firstShared = decode.indexOf(2);
    expect(firstShared).toBeGreaterThanOrEqual(10);
    expect(decode.filter((n) => n === 2)).toHaveLength(5);
    expect(decode.slice(firstShared + 5).every((n) => n === 1)).toBe(true);
    expect(decode).toHaveLength(40);
    // the short one did not wait for the long one's remaining steps: it ended with the long one
    // at about step 20 of 40 (10 before it came, 5 shared, a few during its embedding and VAE)
    expect(longStepsAtShortEnd).toBeLessThan(35);
    expect(maxPixelDifference(shortOut, await alone.generate(short, hooks()))).toBe(0);
    expect(maxPixelDifference(longOut, await alone.generate(long, hooks()))).toBe(0);
  }, 120_000);

  it('a canceled job leaves at the next step and the others go on to their lone images', async () => {
    calls = [];
    const abort = new AbortController();
    const gate = atDecodeStep(4);
    const victim = shared.generate(testJob('victim', SOUND, { steps: 30, seed: 31 }), hooks(abort.signal, gate.onProgress));
    const others = [JOBS[0]!, JOBS[3]!].map((job) => shared.generate(job, hooks()));
    await gate.reached;
    abort.abort('canceled by its owner');
    await expect(victim).rejects.toMatchObject({ code: 'SAMPLING_ABORTED' });
    const outs = await Promise.all(others);
    expect(maxPixelDifference(outs[0]!, lone.get('ddim')!)).toBe(0);
    expect(maxPixelDifference(outs[1]!, lone.get('pndm')!)).toBe(0);
    const victimCalls = calls.filter((c) => c.stage === 'decode' && c.record.seatRows.length === 3).length;
    expect(victimCalls).toBeGreaterThanOrEqual(4);
    expect(victimCalls).toBeLessThanOrEqual(6);
  }, 120_000);

  it("a bad input fails its own job only", async () => {
    const bad = testJob('bad', [{ modality: 'embedding', weight: 1, vector: [1, 2, 3] }], { steps: 5 });
    const results = await Promise.allSettled([shared.generate(JOBS[1]!, hooks()), shared.generate(bad, hooks()), shared.generate(JOBS[2]!, hooks())]);
    expect(results[1]!.status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ fault: 'input' });
    expect(maxPixelDifference((results[0] as PromiseFulfilledResult<GenerationOutput>).value, lone.get('dpm')!)).toBe(0);
    expect(maxPixelDifference((results[2] as PromiseFulfilledResult<GenerationOutput>).value, lone.get('euler')!)).toBe(0);
  }, 120_000);

  it('with a row cap (unetCallPolicy), fills each UNet call up to the cap, the others waiting a call, and each job still gets its lone images', async () => {
    const capped = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME, shareModelCalls: true, unetCallPolicy: { maxRows: 4, maxWaitRounds: 2 } });
    const records: SharedCallRecord[] = [];
    capped.observeSharedCalls((stage, record) => stage === 'decode' && records.push(record));
    try {
      const outs = await Promise.all(JOBS.map((job) => capped.generate(job, hooks())));
      JOBS.forEach((job, i) => expect(maxPixelDifference(outs[i]!, lone.get(job.id)!), job.id).toBe(0));
      // pndm's 6 model rows ride alone; every other call holds at most 4 rows, and some left rows waiting
      for (const r of records) if (r.seatRows.length > 1) expect(r.seatRows.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(4);
      expect(records.filter((r) => r.seatRows.length === 1 && r.seatRows[0] === 6)).toHaveLength(11);
      expect(records.some((r) => r.waitingRows > 0)).toBe(true);
    } finally {
      await capped.close();
    }
  }, 120_000);

  it('repeats itself exactly when the batch composition repeats', async () => {
    const first = await Promise.all(JOBS.slice(0, 3).map((job) => shared.generate(job, hooks())));
    const second = await Promise.all(JOBS.slice(0, 3).map((job) => shared.generate(job, hooks())));
    first.forEach((out, i) => expect(maxPixelDifference(out, second[i]!)).toBe(0));
  }, 120_000);
});

describe('sharedEncoder: the encoder calls of jobs that embed at the same moment', () => {
  /** An Encoder of our own interface that records its runs; an input whose first value is NaN is refused. */
  function recordingEncoder(runs: number[][]): Encoder {
    return {
      modality: 'audio', space: 'imagebind', dim: 1, rowShape: [1],
      run: async (inputs: readonly EncoderInput[]) => {
        runs.push(inputs.map((input) => Number(input.data[0])));
        if (inputs.some((input) => Number.isNaN(Number(input.data[0])))) throw Object.assign(new Error('bad rows'), { code: 'INPUT_INVALID', fault: 'input' });
        return inputs.map((input) => Float32Array.of(Number(input.data[0]) * 10));
      },
      runWithRaw: async () => ({ embeddings: [], raw: [] }),
      release: async () => undefined,
    };
  }
  const input = (x: number): EncoderInput => ({ data: Float32Array.of(x) });

  it('runs the inputs handed in during one turn in one call, and gives each caller its own embeddings', async () => {
    const runs: number[][] = [];
    const encoder = sharedEncoder(recordingEncoder(runs));
    const [a, b] = await Promise.all([encoder.run([input(1), input(2)]), encoder.run([input(3)])]);
    expect(runs).toEqual([[1, 2, 3]]);
    expect([...a!.map((v) => v[0])]).toEqual([10, 20]);
    expect([...b!.map((v) => v[0])]).toEqual([30]);
  });

  it("fails only the caller whose input the shared call refused", async () => {
    const runs: number[][] = [];
    const encoder = sharedEncoder(recordingEncoder(runs));
    const results = await Promise.allSettled([encoder.run([input(1)]), encoder.run([input(Number.NaN)]), encoder.run([input(3)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<Float32Array[]>).value[0]![0]).toBe(30);
  });

  it('on the demo pack: inputs embedded together are bit-equal to each embedded alone', async () => {
    const alone = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME });
    const shared = await OnnxPipeline.open({ packDir: DEMO, limits: LIMITS, runtime: RUNTIME, shareModelCalls: true });
    try {
      const inputs: PipelineInput[][] = [SOUND, TEXT, [{ modality: 'audio', weight: 1, file: join(DEMO, 'samples/desert-buzz.wav') }], [{ modality: 'image', weight: 1, file: join(DEMO, 'samples/sea-bell.png') }]];
      const together = await Promise.all(inputs.map((i) => shared.embed(i)));
      for (const [k, i] of inputs.entries()) {
        const own = await alone.embed(i);
        expect(Buffer.from(together[k]!.combined.buffer).equals(Buffer.from(own.combined.buffer)), `input ${k}`).toBe(true);
      }
    } finally {
      await Promise.all([alone.close(), shared.close()]);
    }
  }, 120_000);
});
