import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GenerationHooks, GenerationJob, GenerationOutput, PipelineInput, ProgressReport } from '@a2i/protocol';
import { leastBusy, modelRowsOf, PipelinePool, type PipelineInstance } from '../src/pipeline-pool.js';
import type { ModelCallReport } from '../src/pipeline-thread-messages.js';
import { REPO } from './tiny-pack-inputs.js';
import { RAIN_TEXT, testJob } from './test-jobs.js';

// A2I_PIPELINE_INSTANCES: a worker's jobs spread over several pipeline threads, each call on the
// instance with the least work in hand (model rows x decoder steps left), and kept there.

interface HeldCall {
  job: GenerationJob | null;
  hooks: GenerationHooks | null;
  settle(error?: Error): void;
}

/** A stand-in instance whose calls wait until the test settles them. */
function standIn(name: string) {
  const held: HeldCall[] = [];
  const hold = <T>(job: GenerationJob | null, hooks: GenerationHooks | null, value: T) =>
    new Promise<T>((resolve, reject) => held.push({ job, hooks, settle: (error) => (error ? reject(error) : resolve(value)) }));
  const instance: PipelineInstance & { held: HeldCall[]; closed: boolean } = {
    held,
    closed: false,
    onModelCall: null,
    onRowLimit: null,
    describe: () => ({ name }) as ReturnType<PipelineInstance['describe']>,
    generate: (job, hooks) => hold(job, hooks, { images: [] } as GenerationOutput),
    embed: () => hold(null, null, {} as Awaited<ReturnType<PipelineInstance['embed']>>),
    embedSound: () => hold(null, null, {} as Awaited<ReturnType<PipelineInstance['embedSound']>>),
    warmUp: async () => ({ encoders: [name], steps: 1, prior: false, previews: 0, ms: 1 }),
    close: async () => void (instance.closed = true),
  };
  return instance;
}

const noHooks = (onProgress: (p: ProgressReport) => void = () => undefined): GenerationHooks => ({ signal: new AbortController().signal, onProgress, onPreview: () => undefined });
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('PipelinePool (stand-in instances)', () => {
  it('counts a generation as its model rows times its steps: images, twice under guidance', () => {
    expect(modelRowsOf(testJob('a', RAIN_TEXT, { numImages: 3, guidance: 3 }))).toBe(6);
    expect(modelRowsOf(testJob('b', RAIN_TEXT, { numImages: 3, guidance: 1 }))).toBe(3);
    expect(leastBusy([5, 2, 2, 9])).toBe(1);
    expect(leastBusy([0, 0])).toBe(0);
  });

  it('sends each call to the instance with the least work in hand, lowers it as the decoder steps, and frees it when the call ends', async () => {
    const [a, b] = [standIn('a'), standIn('b')];
    const pool = new PipelinePool([a, b]);
    const progress: ProgressReport[] = [];
    const big = pool.generate(testJob('big', RAIN_TEXT, { numImages: 4, guidance: 3, steps: 10 }), noHooks((p) => progress.push(p)));
    const small = pool.generate(testJob('small', RAIN_TEXT, { numImages: 1, guidance: 1, steps: 10 }), noHooks());
    const embed = pool.embed(RAIN_TEXT as PipelineInput[]);
    expect(pool.workInHand()).toEqual([80, 11]);
    expect(a.held.map((c) => c.job?.id ?? 'embed')).toEqual(['big']);
    expect(b.held.map((c) => c.job?.id ?? 'embed')).toEqual(['small', 'embed']);

    // the big job's decoder at step 9 of 10: 8 rows x 1 step left, and the caller still hears its progress
    a.held[0]!.hooks!.onProgress({ stage: 'prior', step: 1, steps: 5 });
    a.held[0]!.hooks!.onProgress({ stage: 'decode', step: 9, steps: 10 });
    expect(progress).toEqual([{ stage: 'prior', step: 1, steps: 5 }, { stage: 'decode', step: 9, steps: 10 }]);
    expect(pool.workInHand()).toEqual([8, 11]);
    const next = pool.generate(testJob('next', RAIN_TEXT, { numImages: 1, guidance: 3, steps: 5 }), noHooks());
    expect(a.held.map((c) => c.job?.id)).toEqual(['big', 'next']);
    expect(pool.workInHand()).toEqual([18, 11]);

    // a call that fails frees its work as one that succeeds does
    a.held[0]!.settle(new Error('bad input'));
    await expect(big).rejects.toThrow('bad input');
    b.held[0]!.settle();
    b.held[1]!.settle();
    await Promise.all([small, embed]);
    expect(pool.workInHand()).toEqual([10, 0]);
    a.held[1]!.settle();
    await next;
    await settled();
    expect(pool.workInHand()).toEqual([0, 0]);
    // progress heard after the call ended changes nothing
    a.held[1]!.hooks!.onProgress({ stage: 'decode', step: 1, steps: 5 });
    expect(pool.workInHand()).toEqual([0, 0]);
  });

  it('gives the listeners, warm-up and close to every instance, and describes the pack by the first', async () => {
    const instances = [standIn('a'), standIn('b'), standIn('c')];
    const pool = new PipelinePool(instances);
    const heard: ModelCallReport[] = [];
    pool.onModelCall = (call) => heard.push(call);
    for (const instance of instances) instance.onModelCall?.({ stage: 'decode', rows: 2, seats: 1, runMs: 1, waitingRows: 0 });
    expect(heard).toHaveLength(3);
    expect(pool.onModelCall).not.toBeNull();
    const limit = () => undefined;
    pool.onRowLimit = limit;
    expect(instances.every((i) => i.onRowLimit === limit)).toBe(true);
    expect(pool.describe()).toEqual({ name: 'a' });
    expect(await pool.warmUp()).toEqual({ encoders: ['a'], steps: 1, prior: false, previews: 0, ms: 1 });
    await pool.close();
    expect(instances.map((i) => i.closed)).toEqual([true, true, true]);
    expect(() => new PipelinePool([])).toThrow(RangeError);
  });
});

describe('PipelinePool on the demo pack: two pipeline threads', () => {
  const DEMO = process.env.A2I_TEST_PACK ?? join(REPO, 'models/demo');
  const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 25 * 1024 * 1024 };
  const RUNTIME = { executionProvider: 'cpu' as const, deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: true, verifyChecksums: false };
  const SOUND: PipelineInput[] = [{ modality: 'audio', weight: 1, file: join(DEMO, 'samples/sea-bell.wav') }];
  const spec = { pipeline: 'onnx', packDir: DEMO, limits: LIMITS, syntheticStepMs: 0, runtime: RUNTIME, modalities: null, shareModelCalls: true };
  const JOBS = [
    testJob('ddim', SOUND, { steps: 12, seed: 21, guidance: 3, scheduler: 'ddim', numImages: 2 }),
    testJob('euler', RAIN_TEXT, { steps: 6, seed: 22, guidance: 1, scheduler: 'euler' }),
    testJob('dpm', SOUND, { steps: 9, seed: 23, guidance: 5, scheduler: 'dpmsolver++', usePrior: true }),
    testJob('pndm', RAIN_TEXT, { steps: 8, seed: 24, guidance: 2, scheduler: 'pndm', numImages: 3 }),
  ];

  it('runs jobs on both threads at once, each image the one a single thread makes of it alone, to the last bit', async () => {
    const [pool, single] = await Promise.all([PipelinePool.start(spec, 2), PipelinePool.start(spec, 1)]);
    try {
      expect([pool.size, single.size]).toEqual([2, 1]);
      const lone: GenerationOutput[] = [];
      for (const job of JOBS) lone.push(await single.generate(job, noHooks()));
      const together = JOBS.map((job) => pool.generate(job, noHooks()));
      // ddim (48 rows x steps) on the first, euler (6) and the others on the second until it holds more
      expect(pool.workInHand().every((work) => work > 0)).toBe(true);
      const outputs = await Promise.all(together);
      outputs.forEach((output, j) => {
        expect(output.images).toHaveLength(JOBS[j]!.options.numImages);
        output.images.forEach((image, i) => expect(Buffer.compare(Buffer.from(image.rgb), Buffer.from(lone[j]!.images[i]!.rgb)), `${JOBS[j]!.id} image ${i}`).toBe(0));
      });
      expect(pool.workInHand()).toEqual([0, 0]);
    } finally {
      await Promise.all([pool.close(), single.close()]);
    }
  }, 120_000);

  it('fails to start when the pipeline cannot load, and refuses no instances', async () => {
    await expect(PipelinePool.start({ ...spec, packDir: join(DEMO, 'no-such-pack') }, 2)).rejects.toThrow();
    await expect(PipelinePool.start(spec, 0)).rejects.toThrow(RangeError);
  });
});
