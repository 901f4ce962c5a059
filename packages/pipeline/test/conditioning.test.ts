// What the pipeline hands Stable unCLIP's decoder as its image embedding (sampleDecoder's
// `imageEmbeddings`, recorded by wrapping @a2i/unclip's sampleDecoder), on the tiny pack with a
// `conditioning` section as export_imagebind.py writes it (models/README.md): an image input at
// its raw vision embedding, every other input at conditioning.norm, their weighted mean; and
// without the section (the demo pack's way) the query itself, rescaled by the decoder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { imageToTensor, parseImagePreprocess } from '@a2i/imagebind';
import { decodeImage } from '@a2i/media';
import type { GenerationHooks, PipelineInput } from '@a2i/protocol';
import { OnnxPipeline } from '../src/onnx/index.js';
import { testJob } from './test-jobs.js';
import { pngBytes, TINY_PACK, tinyPackCopy, wavBytes, type Json } from './tiny-pack-inputs.js';

const decoderCalls = vi.hoisted(() => [] as Float32Array[]);
vi.mock('@a2i/unclip', async (importOriginal) => {
  const unclip = await importOriginal<typeof import('@a2i/unclip')>();
  return {
    ...unclip,
    sampleDecoder: (options: Parameters<typeof unclip.sampleDecoder>[0]) => {
      decoderCalls.push(Float32Array.from(options.imageEmbeddings));
      return unclip.sampleDecoder(options);
    },
  };
});

const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 8 * 1024 * 1024 };
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: false, verifyChecksums: true } as const;
// conditioning.norm of the test pack: not 1 (the tiny decoder's embeddingNorm) nor 20 (audio's scale)
const NORM = 7.5;

const l2 = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
const scaledTo = (v: ArrayLike<number>, norm: number) => Array.from(v, (x) => (x * norm) / l2(v));
const hooks = (extra: Partial<GenerationHooks> = {}): GenerationHooks => ({ signal: new AbortController().signal, onProgress: () => {}, onPreview: () => {}, ...extra });
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  Array.from(actual).forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, digits));
}

let dir: string;
const files: Record<string, string> = {};
let pack: { dir: string; cleanup: () => void };
let pipeline: OnnxPipeline;
let plain: OnnxPipeline;

/** The tiny vision graph's own output for a photo (decodeImage -> imageToTensor -> vision.onnx), before any postprocess. */
async function rawVision(path: string): Promise<Float32Array> {
  const manifest = JSON.parse(readFileSync(join(TINY_PACK, 'manifest.json'), 'utf8')) as Json;
  const tensor = imageToTensor(await decodeImage(new Uint8Array(readFileSync(path))), parseImagePreprocess(manifest.encoders.vision.preprocess));
  const session = await ort.InferenceSession.create(join(TINY_PACK, 'encoders/vision.onnx'));
  try {
    return (await session.run({ pixel_values: new ort.Tensor('float32', tensor, [1, 3, 16, 16]) })).embedding!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** The decoder's image embedding for these inputs (one generation, 2 steps). */
async function conditionOf(on: OnnxPipeline, inputs: PipelineInput[], extra: Partial<GenerationHooks> = {}): Promise<Float32Array> {
  decoderCalls.length = 0;
  await on.generate(testJob('c', inputs, { steps: 2 }), hooks(extra));
  expect(decoderCalls).toHaveLength(1);
  return decoderCalls[0]!;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'a2i-conditioning-'));
  files.photo = join(dir, 'photo.png');
  writeFileSync(files.photo, await pngBytes(40, 24, [255, 128, 30]));
  files.sound = join(dir, 'tones.wav');
  writeFileSync(files.sound, wavBytes(16000, 2.5));
  pack = tinyPackCopy((m) => {
    m.conditioning = { norm: NORM, measurement: { photos: ['photo.png'] } };
    delete m.decoder.embeddingNorm;
  });
  pipeline = await OnnxPipeline.open({ packDir: pack.dir, limits: LIMITS, runtime: RUNTIME });
  plain = await OnnxPipeline.open({ packDir: TINY_PACK, limits: LIMITS, runtime: RUNTIME });
});
afterAll(async () => {
  await pipeline?.close();
  await plain?.close();
  pack?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  decoderCalls.length = 0;
});

describe('a pack with a conditioning section', () => {
  const image: PipelineInput = { modality: 'image', weight: 1, file: '' };
  const audio: PipelineInput = { modality: 'audio', weight: 1, file: '' };
  beforeAll(() => {
    image.file = files.photo!;
    audio.file = files.sound!;
  });

  it('conditions on an image at its raw vision embedding, whatever its weight', async () => {
    const raw = await rawVision(files.photo!);
    expect(l2(raw)).not.toBeCloseTo(1, 1); // the postprocessed (unit) vector would not pass for it
    expectClose(await conditionOf(pipeline, [image]), raw);
    expectClose(await conditionOf(pipeline, [{ ...image, weight: 0.4 }]), raw);
  });

  it('conditions on audio, text and a raw vector at conditioning.norm, in their own direction', async () => {
    const [audioVector, textVector] = (await pipeline.embed([audio, { modality: 'text', weight: 1, text: 'the sea bell' }])).vectors;
    expect(l2(audioVector!)).toBeCloseTo(20, 4); // embed keeps ImageBind's x20
    expectClose(await conditionOf(pipeline, [audio]), scaledTo(audioVector!, NORM));
    expectClose(await conditionOf(pipeline, [{ modality: 'text', weight: 2, text: 'the sea bell' }]), scaledTo(textVector!, NORM));
    expectClose(await conditionOf(pipeline, [{ modality: 'embedding', weight: 1, vector: [0, 3, 0, 0, 0, 0, 0, 4] }]), [0, 4.5, 0, 0, 0, 0, 0, 6]);
  });

  it('mixes image and audio as their weighted mean, not renormalised; retrieved terms count like other inputs', async () => {
    const raw = await rawVision(files.photo!);
    const [audioVector] = (await pipeline.embed([audio])).vectors;
    const audioAtNorm = scaledTo(audioVector!, NORM);
    const mixed = await conditionOf(pipeline, [{ ...image, weight: 1 }, { ...audio, weight: 3 }]);
    expectClose(mixed, Array.from(raw, (v, j) => (1 * v + 3 * audioAtNorm[j]!) / 4));
    expect(l2(mixed)).toBeLessThan(Math.max(l2(raw), NORM)); // two directions: shorter than either, kept so
    // augmentCondition's terms (stored items): at conditioning.norm too
    const term = Float32Array.from([2, 0, 0, 0, 0, 0, 0, 0]);
    const augmented = await conditionOf(pipeline, [image], { augmentCondition: async () => [{ vector: term, weight: 1 }] });
    expectClose(augmented, Array.from(raw, (v, j) => (v + (j === 0 ? NORM : 0)) / 2));
  });

  it('keeps search on the normalised embeddings: embed() gives the postprocessed vectors and their unit mix', async () => {
    const { vectors, combined } = await pipeline.embed([image, audio]);
    expect(l2(vectors[0]!)).toBeCloseTo(1, 5);
    expect(l2(combined)).toBeCloseTo(1, 6);
    const unitMix = vectors[0]!.map((v, j) => v / l2(vectors[0]!) + vectors[1]![j]! / l2(vectors[1]!));
    expectClose(combined, scaledTo(unitMix, 1), 6);
  });

  it('reaches the image: another conditioning.norm gives other bytes for audio, the same for a lone image', async () => {
    const other = tinyPackCopy((m) => {
      m.conditioning = { norm: 2 * NORM };
      delete m.decoder.embeddingNorm;
    });
    const doubled = await OnnxPipeline.open({ packDir: other.dir, limits: LIMITS, runtime: RUNTIME });
    try {
      const bytes = async (on: OnnxPipeline, inputs: PipelineInput[]) => Buffer.from((await on.generate(testJob('b', inputs, { steps: 2 }), hooks())).images[0]!.rgb);
      expect((await bytes(doubled, [audio])).equals(await bytes(pipeline, [audio]))).toBe(false);
      expect((await bytes(doubled, [image])).equals(await bytes(pipeline, [image]))).toBe(true);
    } finally {
      await doubled.close();
      other.cleanup();
    }
  });
});

describe('a pack without it (the demo pack\'s way)', () => {
  it('hands the decoder the query, unit directions mixed by weight (the decoder rescales to decoder.embeddingNorm)', async () => {
    const inputs: PipelineInput[] = [{ modality: 'image', weight: 1, file: files.photo! }, { modality: 'audio', weight: 3, file: files.sound! }];
    const { combined } = await plain.embed(inputs);
    expect(Array.from(await conditionOf(plain, inputs))).toEqual(Array.from(combined));
    expect(l2(combined)).toBeCloseTo(1, 6);
  });
});
