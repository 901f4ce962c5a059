// A pack whose decoder computes in float16: the tiny pack's UNet and VAE decoder converted the way
// real exports are (models/recipes/fp16_graphs.py, onnxruntime's float16 converter with float32
// inputs and outputs; packages/model-pack/test/fixtures/make_tiny_fp16_graphs.py). pack:check and
// the pipeline take it as they take the float32 pack (same names, float32 tensors), onnxruntime's
// CPU provider runs it (ops without a float16 kernel through Casts it inserts), and the images
// stay within float16's rounding of the float32 pack's. A UNet with float16 inputs and outputs
// (onnxruntime's optimize_pipeline --float16 writes such) is refused, naming the type.
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPack } from '@a2i/model-pack';
import { OnnxPipeline } from '../src/onnx/index.js';
import { testJob } from './test-jobs.js';
import { REPO, TINY_PACK, tinyPackCopy, type Json } from './tiny-pack-inputs.js';

const FP16 = join(REPO, 'packages/model-pack/test/fixtures/tiny-fp16');
const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 8 * 1024 * 1024 };
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 1, interOpThreads: 1, memoryArena: false, verifyChecksums: true } as const;

/** A copy of the tiny pack with `graphs` (fixture file -> pack file) copied in and their checksums updated. */
function packWith(graphs: Record<string, string>) {
  return tinyPackCopy((manifest: Json, dir: string) => {
    for (const [fixture, file] of Object.entries(graphs)) {
      copyFileSync(join(FP16, fixture), join(dir, file));
      manifest.files[file] = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
    }
  });
}

const fp16Decoder = { 'unet.onnx': 'decoder/unet.onnx', 'vae_decoder.onnx': 'decoder/vae_decoder.onnx' };

describe('a pack whose decoder computes in float16', () => {
  let pack: ReturnType<typeof packWith>;
  let fp16: OnnxPipeline;
  let fp32: OnnxPipeline;
  beforeAll(async () => {
    pack = packWith(fp16Decoder);
    fp16 = await OnnxPipeline.open({ packDir: pack.dir, limits: LIMITS, runtime: RUNTIME });
    fp32 = await OnnxPipeline.open({ packDir: TINY_PACK, limits: LIMITS, runtime: RUNTIME });
  });
  afterAll(async () => {
    await fp16?.close();
    await fp32?.close();
    pack?.cleanup();
  });

  it('passes pack:check: the same input and output names, float32 at the graph boundary', async () => {
    const report = await checkPack(pack.dir);
    expect(report.problems).toEqual([]);
    expect(report.checked.sessions).toBeGreaterThan(0);
  });

  it('computes in float16 inside: the UNet differs from the float32 one by float16 rounding, no more', async () => {
    const rows = 2;
    const feeds = () => ({
      sample: new ort.Tensor('float32', Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i * 0.731) * 1.7), [rows, 4, 4, 4]),
      timestep: new ort.Tensor('float32', Float32Array.from([981, 437.25]), [rows]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: rows * 77 * 8 }, (_, i) => Math.cos(i * 0.37)), [rows, 77, 8]),
      class_labels: new ort.Tensor('float32', Float32Array.from({ length: rows * 16 }, (_, i) => Math.sin(i * 1.3) * 3), [rows, 16]),
    });
    const run = async (file: string) => {
      const session = await ort.InferenceSession.create(file);
      try {
        return (await session.run(feeds())).out_sample!.data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const half = await run(join(FP16, 'unet.onnx'));
    const full = await run(join(TINY_PACK, 'decoder/unet.onnx'));
    const scale = Math.max(...Array.from(full, Math.abs));
    const worst = Math.max(...Array.from(full, (v, i) => Math.abs(half[i]! - v)));
    expect(worst).toBeGreaterThan(0); // float16 did round something
    expect(worst / scale).toBeLessThan(2e-3); // float16's relative spacing is 2^-10 ~ 1e-3 per rounding
  });

  it('generates the float32 pack\'s image to within a few levels of 255', async () => {
    const job = testJob('fp16', [{ modality: 'text', weight: 1, text: 'sea' }], { seed: 7, steps: 6, prompt: 'a bell' });
    const signal = new AbortController().signal;
    const hooks = { signal, onProgress: () => {}, onPreview: () => {} };
    const [a, b] = [(await fp16.generate(job, hooks)).images[0]!, (await fp32.generate(job, hooks)).images[0]!];
    expect([a.width, a.height]).toEqual([b.width, b.height]);
    const diffs = Array.from(a.rgb, (v, i) => Math.abs(v - b.rgb[i]!));
    expect(Math.max(...diffs)).toBeLessThanOrEqual(3);
  });
});

describe('a UNet with float16 inputs and outputs', () => {
  it('is refused by pack:check, naming each float16 tensor and the float32 the pack needs', async () => {
    const pack = packWith({ 'unet_float16_io.onnx': 'decoder/unet.onnx' });
    try {
      const report = await checkPack(pack.dir);
      expect(report.ok).toBe(false);
      const messages = report.problems.filter((p) => p.code === 'PACK_TENSOR_MISMATCH').map((p) => p.message);
      for (const name of ['sample', 'encoder_hidden_states', 'class_labels', 'out_sample']) {
        expect(messages.some((m) => m.includes(`"${name}"`) && m.includes('float16') && m.includes('float32'))).toBe(true);
      }
    } finally {
      pack.cleanup();
    }
  });
});
