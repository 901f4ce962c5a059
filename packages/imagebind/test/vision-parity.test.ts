import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageToTensor, type ImagePixels, type ImagePreprocess } from '../src/index.js';
import { CACHE_REFERENCE, DEMO_REFERENCE, decodePng, exists, loadNpy, maxAbsDiff, readJson } from './helpers.js';

// Parity with ImageBind's vision transform as torchvision 0.14 + Pillow 9.4 run it
// (models/recipes/reference_vision.py). The resize is a port of Pillow's bicubic resampling,
// bit-exact on 8-bit input, so the only differences are float32 rounding in the
// normalisation: measured max |error| 2.4e-7 (demo images and the three real photos).
// Tolerance 1e-5 (the brief's target is 0.02).
const TOLERANCE = 1e-5;

interface VisionIndex {
  size: number;
  mean: number[];
  std: number[];
  gray: Record<'depth' | 'thermal', { mean: number[]; std: number[] }>;
  cases: Array<{ name: string; kind: 'image' | 'depth' | 'thermal'; input: string; output: string; bitDepth?: 8 | 16; shape: number[] }>;
}

function preprocessFor(index: VisionIndex, kind: 'image' | 'depth' | 'thermal'): ImagePreprocess {
  const stats = kind === 'image' ? { mean: index.mean, std: index.std, channels: 3 as const } : { ...index.gray[kind], channels: 1 as const };
  return { type: kind, size: index.size, resize: 'bicubic', crop: 'center', rescale: 1 / 255, ...stats };
}

function npyPixels(path: string): ImagePixels {
  const a = loadNpy(path);
  return { height: a.shape[0]!, width: a.shape[1]!, channels: a.shape[2] ?? 1, data: a.data as Uint8Array };
}

const demoDir = join(DEMO_REFERENCE, 'vision');
describe('imageToTensor matches torchvision on the demo reference images', () => {
  const index = readJson<VisionIndex>(join(demoDir, 'index.json'));
  for (const c of index.cases) {
    it(`${c.name} (${c.bitDepth}-bit)`, async () => {
      const image = await decodePng(join(demoDir, c.input), c.bitDepth ?? 8);
      const out = imageToTensor(image, preprocessFor(index, c.kind));
      const ref = loadNpy(join(demoDir, c.output));
      expect(ref.shape).toEqual(c.shape);
      expect(out.length).toBe(ref.data.length);
      expect(maxAbsDiff(out, ref.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

// The real photos' references live in .cache (CC BY-NC: never committed); made by
// `/usr/bin/python3 models/recipes/reference_vision.py real`.
const realDir = join(CACHE_REFERENCE, 'real-samples', 'vision');
describe.skipIf(!exists(join(realDir, 'index.json')))('imageToTensor matches torchvision on real photos (ImageBind-huge constants)', () => {
  const index = exists(join(realDir, 'index.json')) ? readJson<VisionIndex>(join(realDir, 'index.json')) : { cases: [] as VisionIndex['cases'] } as VisionIndex;
  for (const c of index.cases) {
    it(`${c.name}`, () => {
      // depth / thermal start from the RGB photo, so PIL's RGB -> L conversion is checked too.
      const image = npyPixels(join(realDir, c.input.replace('.gray.input', '.input')));
      const out = imageToTensor(image, preprocessFor(index, c.kind));
      const ref = loadNpy(join(realDir, c.output));
      expect(maxAbsDiff(out, ref.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
