import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageToTensor, parseImagePreprocess, preprocessAudio, type AudioPreprocess } from '@a2i/imagebind';
import { decodeAudio, decodeImage } from '@a2i/media';
import { isPackError } from '@a2i/model-pack';
import type { GenerationJob, PipelineInput, PreviewFrame, ProgressReport } from '@a2i/protocol';
import { OnnxPipeline } from '../src/onnx/index.js';
import { ThreadedPipeline } from '../src/threaded-pipeline.js';
import { depth16PngBytes, imuCsv, mp4Bytes, pngBytes, TINY_PACK, tinyPackCopy, wavBytes, type Json } from './tiny-pack-inputs.js';
import { testJob } from './test-jobs.js';

const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 8 * 1024 * 1024 };
// Small session options: the machine is shared, and the tiny graphs need no threads.
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: false, verifyChecksums: true } as const;

let pipeline: OnnxPipeline;
let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'a2i-onnx-pipeline-'));
  const write = (name: string, bytes: Uint8Array | string) => {
    files[name] = join(dir, name);
    writeFileSync(files[name]!, bytes);
  };
  write('tones.wav', wavBytes(16000, 2.5));
  write('other.wav', wavBytes(44100, 3, 2, [300, 2000]));
  write('photo.png', await pngBytes(40, 24, [255, 128, 30]));
  write('photo2.png', await pngBytes(24, 40, [20, 200, 255]));
  write('depth16.png', await depth16PngBytes(20, 20));
  write('walk.imu.csv', imuCsv(400));
  write('not-audio.wav', 'this is not audio at all');
  write('pattern.mp4', await mp4Bytes(dir, 3));
  pipeline = await OnnxPipeline.open({ packDir: TINY_PACK, limits: LIMITS, runtime: RUNTIME });
});
afterAll(async () => {
  await pipeline?.close();
  rmSync(dir, { recursive: true, force: true });
});

const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));

const job = (inputs: PipelineInput[], options: Partial<GenerationJob['options']> = {}): GenerationJob => testJob('test', inputs, { seed: 42, ...options });

interface Recorded {
  progress: ProgressReport[];
  previews: PreviewFrame[];
}
function hooks(signal = new AbortController().signal, onProgress: (p: ProgressReport) => void = () => {}): Recorded & { signal: AbortSignal; onProgress(p: ProgressReport): void; onPreview(p: PreviewFrame): void } {
  const recorded: Recorded = { progress: [], previews: [] };
  return {
    ...recorded,
    signal,
    onProgress: (p) => {
      recorded.progress.push(p);
      onProgress(p);
    },
    onPreview: (p) => recorded.previews.push(p),
  };
}

describe('OnnxPipeline on the tiny pack', () => {
  it('describes the pack from its manifest', () => {
    expect(pipeline.describe()).toEqual({
      name: 'tiny',
      dim: 8,
      modalities: ['audio', 'image', 'text', 'video', 'depth', 'thermal', 'imu', 'embedding'],
      imageSize: { width: 8, height: 8 },
      prior: { available: true, defaultSteps: 5, defaultGuidance: 2, defaultFor: ['text', 'audio', 'depth', 'thermal', 'imu'] },
      scheduler: 'ddim',
      defaults: { steps: 4, guidance: 3, noiseLevel: 0 },
      limits: { maxSteps: 50, maxImages: 4, maxNoiseLevel: 999 },
    });
  });

  it('embeds every modality at its postprocess scale, and combines them at the decoder norm', async () => {
    const inputs: PipelineInput[] = [
      { modality: 'audio', weight: 1, file: files['tones.wav']! },
      { modality: 'audio', weight: 1, file: files['other.wav']! }, // 44.1 kHz stereo: resampled, channel 0
      { modality: 'image', weight: 1, file: files['photo.png']! },
      { modality: 'depth', weight: 1, file: files['depth16.png']! },
      { modality: 'thermal', weight: 1, file: files['photo2.png']! },
      { modality: 'imu', weight: 1, file: files['walk.imu.csv']! },
      { modality: 'text', weight: 1, text: 'the sea bell' },
      { modality: 'video', weight: 1, file: files['pattern.mp4']! },
      { modality: 'embedding', weight: 1, vector: [1, 0, 0, 0, 0, 0, 0, 2] },
    ];
    const { vectors, combined } = await pipeline.embed(inputs);
    expect(vectors).toHaveLength(inputs.length);
    for (const v of vectors) {
      expect(v).toHaveLength(8);
      expect(Array.from(v).every(Number.isFinite)).toBe(true);
    }
    // a single row is L2-normalised then scaled (audio, video: the mean of scaled rows, so <= scale)
    const scales = [20, 20, 1, 5, 10, 5, 14];
    [2, 3, 4, 5, 6].forEach((i) => expect(norm(vectors[i]!)).toBeCloseTo(scales[i]!, 4));
    expect(norm(vectors[0]!)).toBeLessThanOrEqual(20 + 1e-4);
    expect(norm(vectors[7]!)).toBeLessThanOrEqual(1 + 1e-6);
    expect(Array.from(vectors[8]!)).toEqual([1, 0, 0, 0, 0, 0, 0, 2]);
    expect(norm(combined)).toBeCloseTo(1, 6); // decoder.embeddingNorm
    // different inputs, different embeddings
    expect(Array.from(vectors[0]!)).not.toEqual(Array.from(vectors[1]!));
  });

  it('embeds audio as its clips through the encoder, postprocessed then averaged (ImageBind order)', async () => {
    const manifest = JSON.parse((await import('node:fs')).readFileSync(join(TINY_PACK, 'manifest.json'), 'utf8')) as Json;
    const pre = manifest.encoders.audio.preprocess as AudioPreprocess;
    const pcm = await decodeAudio(new Uint8Array((await import('node:fs')).readFileSync(files['tones.wav']!)));
    const clips = preprocessAudio(pcm, pre); // [3, 1, 128, 204]
    const session = await ort.InferenceSession.create(join(TINY_PACK, 'encoders/audio.onnx'));
    const out = (await session.run({ fbank: new ort.Tensor('float32', clips, [3, 1, 128, 204]) })).embedding!.data as Float32Array;
    await session.release();
    const expected = new Array(8).fill(0);
    for (let r = 0; r < 3; r++) {
      const row = out.slice(r * 8, r * 8 + 8);
      const n = norm(row);
      row.forEach((v, j) => (expected[j] += (20 * v) / n / 3));
    }
    const { vectors } = await pipeline.embed([{ modality: 'audio', weight: 1, file: files['tones.wav']! }]);
    Array.from(vectors[0]!).forEach((v, j) => expect(v).toBeCloseTo(expected[j], 5));

    // and an image: decodeImage -> imageToTensor -> encoder -> x 1 / ||x||
    const image = await decodeImage(new Uint8Array((await import('node:fs')).readFileSync(files['photo.png']!)));
    const tensor = imageToTensor(image, parseImagePreprocess(manifest.encoders.vision.preprocess));
    const vision = await ort.InferenceSession.create(join(TINY_PACK, 'encoders/vision.onnx'));
    const raw = (await vision.run({ pixel_values: new ort.Tensor('float32', tensor, [1, 3, 16, 16]) })).embedding!.data as Float32Array;
    await vision.release();
    const [imageVector] = (await pipeline.embed([{ modality: 'image', weight: 1, file: files['photo.png']! }])).vectors;
    Array.from(imageVector!).forEach((v, j) => expect(v).toBeCloseTo(raw[j]! / norm(raw), 6));
  });

  it('lets bad input fail with the decoders\' typed errors', async () => {
    await expect(pipeline.embed([{ modality: 'audio', weight: 1, file: files['not-audio.wav']! }])).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', fault: 'input' });
    await expect(pipeline.embed([{ modality: 'image', weight: 1, file: files['tones.wav']! }])).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', fault: 'input' });
    await expect(pipeline.embed([{ modality: 'embedding', weight: 1, vector: [1, 2, 3] }])).rejects.toMatchObject({ code: 'EMBEDDING_DIMENSION_MISMATCH', fault: 'input' });
    await expect(pipeline.embed([{ modality: 'embedding', weight: 1, vector: [1, 0, 0, 0, 0, 0, 0, Number.NaN] }])).rejects.toMatchObject({ code: 'NON_FINITE_VALUE', fault: 'input' });
    await expect(pipeline.embed([{ modality: 'embedding', weight: 0, vector: [1, 0, 0, 0, 0, 0, 0, 0] }])).rejects.toMatchObject({ code: 'EMBEDDING_ZERO' });
    const small = await OnnxPipeline.open({ packDir: TINY_PACK, limits: { ...LIMITS, maxUploadBytes: 100 }, runtime: RUNTIME });
    try {
      await expect(small.embed([{ modality: 'audio', weight: 1, file: files['tones.wav']! }])).rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE', fault: 'input' });
    } finally {
      await small.close();
    }
  });

  it('generates RGB images with progress per stage and upscaled previews; seeds are seed, seed + 1, ...', async () => {
    const h = hooks();
    const out = await pipeline.generate(job([{ modality: 'audio', weight: 1, file: files['tones.wav']! }, { modality: 'text', weight: 0.5, text: 'sea' }], { numImages: 2, previewEvery: 2, seed: 0xffff_ffff }), h);
    expect(out.images.map((i) => [i.width, i.height, i.rgb.length, i.seed])).toEqual([
      [8, 8, 192, 0xffff_ffff],
      [8, 8, 192, 0],
    ]);
    expect(h.progress.map((p) => `${p.stage}:${p.step}/${p.steps}`)).toEqual(['embed:1/2', 'embed:2/2', 'decode:1/4', 'decode:2/4', 'decode:3/4', 'decode:4/4']);
    // latents 4x4 -> previews enlarged x2 to the image's 8x8
    expect(h.previews.map((p) => [p.stage, p.step, p.index, p.width, p.height, p.rgb.length])).toEqual([
      ['decode', 2, 0, 8, 8, 192],
      ['decode', 2, 1, 8, 8, 192],
      ['decode', 4, 0, 8, 8, 192],
      ['decode', 4, 1, 8, 8, 192],
    ]);
    // image i of a batch is the single image of seed + i
    const single = await pipeline.generate(job([{ modality: 'audio', weight: 1, file: files['tones.wav']! }, { modality: 'text', weight: 0.5, text: 'sea' }], { seed: 0 }), hooks());
    expect(Buffer.from(single.images[0]!.rgb).equals(Buffer.from(out.images[1]!.rgb))).toBe(true);
  });

  it('gives the same bytes for the same request and seed, other bytes for another seed, prompt or input', async () => {
    const inputs: PipelineInput[] = [{ modality: 'image', weight: 1, file: files['photo.png']! }];
    const bytes = async (options: Partial<GenerationJob['options']> = {}, which = inputs) => Buffer.from((await pipeline.generate(job(which, options), hooks())).images[0]!.rgb);
    const first = await bytes();
    expect((await bytes()).equals(first)).toBe(true);
    expect((await bytes({ seed: 43 })).equals(first)).toBe(false);
    expect((await bytes({ prompt: 'the bell' })).equals(first)).toBe(false);
    expect((await bytes({}, [{ modality: 'image', weight: 1, file: files['photo2.png']! }])).equals(first)).toBe(false);
  });

  it('runs the prior when asked, with its own progress stage', async () => {
    const h = hooks();
    const inputs: PipelineInput[] = [{ modality: 'text', weight: 1, text: 'the sea' }];
    const withPrior = await pipeline.generate(job(inputs, { usePrior: true }), h);
    expect(h.progress.filter((p) => p.stage === 'prior').map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    const without = await pipeline.generate(job(inputs), hooks());
    expect(Buffer.from(withPrior.images[0]!.rgb).equals(Buffer.from(without.images[0]!.rgb))).toBe(false);
  });

  it('stops between steps when the signal aborts (no step after the one running)', async () => {
    const controller = new AbortController();
    const h = hooks(controller.signal, (p) => {
      if (p.stage === 'decode' && p.step === 2) controller.abort(new Error('canceled by its owner'));
    });
    await expect(pipeline.generate(job([{ modality: 'text', weight: 1, text: 'bell' }], { steps: 10 }), h)).rejects.toMatchObject({ code: 'SAMPLING_ABORTED' });
    expect(h.progress.at(-1)).toEqual({ stage: 'decode', step: 2, steps: 10 });
    // aborted before it starts: no input is even decoded
    const early = hooks(AbortSignal.abort());
    await expect(pipeline.generate(job([{ modality: 'audio', weight: 1, file: files['tones.wav']! }]), early)).rejects.toThrow();
    expect(early.progress).toEqual([]);
  });
});

describe('a bad pack stops the pipeline at open, with the check\'s code', () => {
  const openEdited = async (edit: (m: Json, dir: string) => void) => {
    const copy = tinyPackCopy(edit);
    try {
      return await OnnxPipeline.open({ packDir: copy.dir, limits: LIMITS, runtime: RUNTIME }).then(
        async (p) => {
          await p.close();
          return undefined;
        },
        (error: unknown) => error,
      );
    } finally {
      copy.cleanup();
    }
  };
  it('refuses a wrong checksum, a renamed output, an unknown scheduler and a bad preprocess', async () => {
    const checksum = await openEdited((m) => (m.files['encoders/text.onnx'] = '0'.repeat(64)));
    expect(isPackError(checksum, 'PACK_CHECKSUM_MISMATCH')).toBe(true);
    const renamed = await openEdited((m) => (m.encoders.vision.output.name = 'image_embeds'));
    expect(isPackError(renamed, 'PACK_TENSOR_MISMATCH')).toBe(true);
    expect((renamed as Error).message).toContain('encoders.vision.output.name is "image_embeds" but encoders/vision.onnx has no output of that name');
    const scheduler = await openEdited((m) => (m.decoder.defaults.scheduler = m.defaults.scheduler = 'lms'));
    expect(isPackError(scheduler, 'PACK_MANIFEST_INVALID')).toBe(true);
    expect((scheduler as Error).message).toContain('decoder.defaults.scheduler');
    const preprocess = await openEdited((m) => (m.encoders.audio.preprocess.fbank.windowType = 'kaiser'));
    expect((preprocess as Error).message).toContain('encoders.audio.preprocess');
  });

  it('refuses an encoders-only pack (valid for pack:check) with PACK_NO_DECODER', async () => {
    const encodersOnly = await openEdited((m) => {
      delete m.decoder;
      m.prior = null;
      delete m.defaults;
    });
    expect(isPackError(encodersOnly, 'PACK_NO_DECODER')).toBe(true);
    expect((encodersOnly as Error).message).toContain('encoders only');
  });
});

describe('the worker hosts it in its pipeline thread (A2I_PIPELINE=onnx)', () => {
  it('loads the pack once in the thread and generates there; a bad pack fails the start with its message', async () => {
    const spec = { pipeline: 'onnx', packDir: TINY_PACK, limits: LIMITS, syntheticStepMs: 0, runtime: RUNTIME };
    const threaded = await ThreadedPipeline.start(spec);
    try {
      expect(threaded.describe().name).toBe('tiny');
      const out = await threaded.generate(job([{ modality: 'text', weight: 1, text: 'sea' }]), hooks());
      const direct = await pipeline.generate(job([{ modality: 'text', weight: 1, text: 'sea' }]), hooks());
      expect(Buffer.from(out.images[0]!.rgb).equals(Buffer.from(direct.images[0]!.rgb))).toBe(true);
      await expect(threaded.embed([{ modality: 'audio', weight: 1, file: files['not-audio.wav']! }])).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', fault: 'input' });
    } finally {
      await threaded.close();
    }
    const copy = tinyPackCopy((m) => (m.encoders.audio.input.name = 'mel'));
    try {
      await expect(ThreadedPipeline.start({ ...spec, packDir: copy.dir })).rejects.toMatchObject({
        code: 'PACK_TENSOR_MISMATCH',
        message: expect.stringContaining('encoders.audio.input.name is "mel" but encoders/audio.onnx has no input of that name'),
      });
    } finally {
      copy.cleanup();
    }
  });
});
