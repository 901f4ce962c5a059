// The pipeline on an ImageBind export (models/recipes/export_imagebind.py, random weights here)
// assembled with a stand-in decoder half (fixtures/make_test_decoder.py) by assemble_pack.py:
// the pack carries the export's measured conditioning.norm, and the decoder is handed an image
// at its raw vision embedding and audio at that norm (sampleDecoder's imageEmbeddings, recorded).
//
// Runs when A2I_IMAGEBIND_PACK names such an export (with its reference/conditioning/, which
// export_imagebind.py writes), with /usr/bin/python3 and python3-onnx for the stand-in, e.g.
//   A2I_IMAGEBIND_PACK=/work/ext/ib-tiny npx vitest run packages/pipeline/test/imagebind-pack-conditioning.test.ts
// The assembled pack is made beside the export (hard links) and removed after.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEncoder, imageAsClip, imageToTensor, type EncoderManifest } from '@a2i/imagebind';
import { decodeImage } from '@a2i/media';
import type { PipelineInput } from '@a2i/protocol';
import { OnnxPipeline } from '../src/onnx/index.js';
import { testJob } from './test-jobs.js';
import { REPO, wavBytes, type Json } from './tiny-pack-inputs.js';

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

const PACK = process.env.A2I_IMAGEBIND_PACK;
const CONDITIONING = PACK === undefined ? '' : join(PACK, 'reference', 'conditioning');
const ready = PACK !== undefined && existsSync(join(CONDITIONING, 'index.json'));
const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 64 * 1024 * 1024 };
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: false, verifyChecksums: false } as const;
// float32 graphs against the same graphs (vision) or float64 scaling (audio): 1e-5 relative
const TOLERANCE = 1e-5;

const l2 = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
function maxRelativeDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst / l2(expected);
}

describe.skipIf(!ready)('an assembled ImageBind export: the pipeline conditions with its measured norm', () => {
  if (!ready) it(PACK === undefined ? 'skipped: set A2I_IMAGEBIND_PACK to an export_imagebind.py pack' : `skipped: ${join(CONDITIONING, 'index.json')} is missing`, () => {});
  let work: string;
  let pipeline: OnnxPipeline;
  let manifest: Json;
  let photo: { file: string; norm: number };
  const sound = () => join(work, 'tones.wav');

  beforeAll(async () => {
    work = mkdtempSync(join(dirname(PACK!), '.a2i-conditioning-'));
    const dim = (JSON.parse(readFileSync(join(PACK!, 'manifest.json'), 'utf8')) as Json).spaces.imagebind.dim as number;
    const run = (script: string, args: string[]) => execFileSync('/usr/bin/python3', [join(REPO, script), ...args], { cwd: REPO, stdio: 'pipe' });
    run('packages/pipeline/test/fixtures/make_test_decoder.py', ['--dim', String(dim), '--out', join(work, 'unclip')]);
    run('models/recipes/assemble_pack.py', ['--imagebind', PACK!, '--unclip', join(work, 'unclip'), '--out', join(work, 'pack')]);
    manifest = JSON.parse(readFileSync(join(work, 'pack', 'manifest.json'), 'utf8')) as Json;
    photo = (JSON.parse(readFileSync(join(CONDITIONING, 'index.json'), 'utf8')) as Json).photos[0];
    writeFileSync(sound(), wavBytes(16000, 2.5));
    pipeline = await OnnxPipeline.open({ packDir: join(work, 'pack'), limits: LIMITS, runtime: RUNTIME, modalities: ['image', 'audio'] });
  }, 600_000);
  afterAll(async () => {
    await pipeline?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function conditionOf(inputs: PipelineInput[]): Promise<Float32Array> {
    decoderCalls.length = 0;
    await pipeline.generate(testJob('c', inputs, { steps: 2 }), { signal: new AbortController().signal, onProgress: () => {}, onPreview: () => {} });
    expect(decoderCalls).toHaveLength(1);
    return decoderCalls[0]!;
  }

  it('carries the ImageBind export\'s conditioning section into the pack, and no decoder.embeddingNorm', () => {
    const exported = JSON.parse(readFileSync(join(PACK!, 'manifest.json'), 'utf8')) as Json;
    expect(manifest.conditioning).toEqual(exported.conditioning);
    expect(manifest.decoder.embeddingNorm).toBeUndefined();
  });

  it('an image: its raw vision embedding, at the norm PyTorch measured for that photo', { timeout: 600_000 }, async () => {
    const path = join(CONDITIONING, photo.file);
    const condition = await conditionOf([{ modality: 'image', weight: 1, file: path }]);
    // the exported graph's own output for the photo, through the encoder API, not the pipeline
    const vision = manifest.encoders.vision as EncoderManifest & { preprocess: never };
    const encoder = await createEncoder(PACK!, 'vision', vision);
    try {
      const tensor = imageToTensor(await decodeImage(new Uint8Array(readFileSync(path)), { mode: 'rgb' }), vision.preprocess);
      const frames = vision.input.shape.length === 5 ? vision.input.shape[2]! : 1;
      const { raw } = await encoder.runWithRaw([{ data: frames > 1 ? imageAsClip(tensor, 3, frames) : tensor, rows: 1 }]);
      expect(maxRelativeDiff(condition, raw[0]!)).toBeLessThan(TOLERANCE);
    } finally {
      await encoder.release();
    }
    console.log(`image ${photo.file}: condition norm ${l2(condition).toPrecision(8)} (PyTorch's raw norm ${photo.norm.toPrecision(8)}; conditioning.norm ${manifest.conditioning.norm.toPrecision(8)})`);
    expect(relative(l2(condition), photo.norm)).toBeLessThan(1e-4); // preprocessing vs PIL: imagebind-huge-pack.test.ts
  });

  it('audio: its direction at conditioning.norm; image + audio: their mean', { timeout: 600_000 }, async () => {
    const audio: PipelineInput = { modality: 'audio', weight: 1, file: sound() };
    const [audioVector] = (await pipeline.embed([audio])).vectors;
    const condition = await conditionOf([audio]);
    expect(relative(l2(condition), manifest.conditioning.norm)).toBeLessThan(TOLERANCE);
    expect(maxRelativeDiff(condition, Array.from(audioVector!, (v) => (v * manifest.conditioning.norm) / l2(audioVector!)))).toBeLessThan(TOLERANCE);
    const image = await conditionOf([{ modality: 'image', weight: 1, file: join(CONDITIONING, photo.file) }]);
    const mixed = await conditionOf([{ modality: 'image', weight: 1, file: join(CONDITIONING, photo.file) }, audio]);
    expect(maxRelativeDiff(mixed, Array.from(image, (v, j) => (v + condition[j]!) / 2))).toBeLessThan(TOLERANCE);
  });
});
