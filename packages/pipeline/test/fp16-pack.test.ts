// The pipeline end to end on an assembled real-architecture pack whose graphs compute in float16
// (export_imagebind.py / export_stable_unclip.py --precision fp16, or optimize_unclip_graphs.py
// --target cpu, then assemble_pack.py), against the float32 pack of the same weights: the pack
// checks, a sound becomes an image, and that image is the float32 pack's to within float16's
// rounding. Random weights make noise-like images: the comparison is of the arithmetic, not of
// what the images show.
//
// Runs when A2I_FP16_PACK and A2I_FP32_PACK name such packs (kept out of the repository), e.g.
//   A2I_FP16_PACK=/work/ext/fp16work/pack-tiny-fp16 A2I_FP32_PACK=/work/ext/fp16work/pack-tiny-fp32 \
//     npx vitest run packages/pipeline/test/fp16-pack.test.ts
// A2I_FP16_STEPS sets the denoising steps (default 2: a 768x768 pack takes minutes per step on a
// CPU), A2I_FP16_GUIDANCE the guidance scale (default 3; 1 runs one UNet row per step instead of
// two, which halves the unfused attention's memory: 768x768 on a 24 GB machine).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPack } from '@a2i/model-pack';
import type { GeneratedImage } from '@a2i/protocol';
import { OnnxPipeline } from '../src/onnx/index.js';
import { testJob } from './test-jobs.js';
import { wavBytes } from './tiny-pack-inputs.js';

const FP16_PACK = process.env.A2I_FP16_PACK;
const FP32_PACK = process.env.A2I_FP32_PACK;
const ready = FP16_PACK !== undefined && FP32_PACK !== undefined;
const STEPS = Number(process.env.A2I_FP16_STEPS ?? 2);
const GUIDANCE = Number(process.env.A2I_FP16_GUIDANCE ?? 3);
const LIMITS = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 64 * 1024 * 1024 };
const RUNTIME = { executionProvider: 'cpu', deviceId: 0, intraOpThreads: 2, interOpThreads: 1, memoryArena: false, verifyChecksums: false } as const;
// float16 keeps 11 significant bits; the rounding of every op's inputs and outputs moved the
// decoded image by 0.04 of a level of 255 on average here (tiny 128x128, 20 steps; 768x768, 2
// steps: models/README.md "float16 compute"). The bound leaves room for more steps and weights.
const MEAN_LEVELS = 2;

describe.skipIf(!ready)('a float16 pack against the float32 pack of the same weights', () => {
  if (!ready) it('skipped: set A2I_FP16_PACK and A2I_FP32_PACK to assembled packs of the same weights', () => {});
  let work: string;
  let sound: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'a2i-fp16-pack-'));
    sound = join(work, 'tones.wav');
    writeFileSync(sound, wavBytes(16000, 2.5));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes pack:check on the CPU provider', { timeout: 900_000 }, async () => {
    const report = await checkPack(FP16_PACK!, { verifyChecksums: false });
    expect(report.problems).toEqual([]);
  });

  it('turns a sound into the float32 pack\'s image, to within float16 rounding', { timeout: 3_600_000 }, async () => {
    const job = testJob('fp16', [{ modality: 'audio', weight: 1, file: sound }], { seed: 11, steps: STEPS, guidance: GUIDANCE, prompt: 'a dog barking in the rain' });
    const generate = async (packDir: string): Promise<GeneratedImage> => {
      const pipeline = await OnnxPipeline.open({ packDir, limits: LIMITS, runtime: RUNTIME, modalities: ['audio'] });
      try {
        const started = performance.now();
        const out = await pipeline.generate(job, { signal: new AbortController().signal, onProgress: () => {}, onPreview: () => {} });
        console.log(`${packDir}: ${STEPS} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return out.images[0]!;
      } finally {
        await pipeline.close();
      }
    };
    const half = await generate(FP16_PACK!);
    const full = await generate(FP32_PACK!);
    expect([half.width, half.height]).toEqual([full.width, full.height]);
    let sum = 0;
    let worst = 0;
    let [low, high, clipped] = [255, 0, 0];
    for (let i = 0; i < full.rgb.length; i++) {
      const d = Math.abs(half.rgb[i]! - full.rgb[i]!);
      sum += d;
      worst = Math.max(worst, d);
      low = Math.min(low, full.rgb[i]!);
      high = Math.max(high, full.rgb[i]!);
      if (full.rgb[i] === 0 || full.rgb[i] === 255) clipped++;
    }
    const mean = sum / full.rgb.length;
    const spread = high - low;
    // random weights decode to largely clipped images: a clipped value hides a difference, so say how many
    const share = clipped / full.rgb.length;
    console.log(`${full.width}x${full.height}: mean |fp16 - fp32| ${mean.toFixed(3)} levels, max ${worst} (image spread ${spread} levels, ${(100 * share).toFixed(1)} % of values clipped at 0 or 255)`);
    expect(spread).toBeGreaterThan(16); // an image, not a flat (or black) field
    expect(mean).toBeLessThan(MEAN_LEVELS);
  });
});
