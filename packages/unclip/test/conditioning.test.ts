import { describe, expect, it } from 'vitest';
import { classifierFreeGuidance, duplicateBatch, NoiseAugmentation, timestepEmbedding, UnclipError } from '../src/index.js';
import { loadFixture, maxAbsError } from './load-fixture.js';

// Numbers from diffusers' get_timestep_embedding, StableUnCLIPImg2ImgPipeline.noise_image_embeddings
// (with StableUnCLIPImageNormalizer and a squaredcos_cap_v2 DDPMScheduler) and the CFG formula,
// run in float32 torch 1.13 (fixtures/README.md).
interface Fixture {
  timestepEmbedding: Array<{ dim: number; flipSinToCos: boolean; downscaleFreqShift: number; timesteps: number[]; embedding: number[] }>;
  noiseAugmentation: Array<{
    dim: number; mean: number[]; std: number[]; noiseLevel: number;
    imageEmbeddings: number[]; noise: number[]; classLabels: number[];
  }>;
  guidance: Array<{ guidanceScale: number; batched: number[]; guided: number[] }>;
}
const fixture = loadFixture<Fixture>('conditioning.json');

describe('timestepEmbedding equals diffusers get_timestep_embedding', () => {
  for (const c of fixture.timestepEmbedding) {
    it(`dim ${c.dim} flip ${c.flipSinToCos} shift ${c.downscaleFreqShift}`, () => {
      const actual = timestepEmbedding(c.timesteps, c);
      // Tolerance 2^-14 ~ 6.1e-5, one float32 ulp of an argument t * freq in [512, 1024):
      // torch's vectorised expf is not correctly rounded (8 of 64 frequencies differ by 1 ulp
      // from ours, measured), which moves t * freq by up to an ulp at t = 999. Small t agree to
      // ~6e-8 (measured).
      expect(maxAbsError(actual, c.embedding)).toBeLessThan(2 ** -14);
    });
  }
});

describe('NoiseAugmentation equals Stable unCLIP noise_image_embeddings', () => {
  for (const c of fixture.noiseAugmentation) {
    it(`D ${c.dim} noise level ${c.noiseLevel}`, () => {
      const augmentation = new NoiseAugmentation({
        mean: c.mean, std: c.std, numTrainTimesteps: 1000, betaSchedule: 'squaredcos_cap_v2',
        timestepEmbedding: { dim: c.dim, flipSinToCos: true, downscaleFreqShift: 0 },
      });
      const labels = augmentation.classLabels(Float32Array.from(c.imageEmbeddings), c.noiseLevel, Float32Array.from(c.noise));
      expect(labels).toHaveLength(3 * 2 * c.dim);
      const D = c.dim;
      const embeddingHalf = labels.filter((_, i) => i % (2 * D) < D);
      const expectedHalf = c.classLabels.filter((_, i) => i % (2 * D) < D);
      expect(maxAbsError(embeddingHalf, expectedHalf)).toBeLessThan(1e-6); // noised embedding: float32 rounding only
      expect(maxAbsError(labels, c.classLabels)).toBeLessThan(2 ** -14); // noise-level half: as timestepEmbedding
      expect(augmentation.unconditionalClassLabels(3)).toEqual(new Float32Array(3 * 2 * c.dim));
    });
  }

  it('refuses a bad manifest section and bad inputs by name', () => {
    const ok = {
      mean: [0, 0], std: [1, 1], numTrainTimesteps: 1000, betaSchedule: 'squaredcos_cap_v2' as const,
      timestepEmbedding: { dim: 2, flipSinToCos: true, downscaleFreqShift: 0 },
    };
    expect(() => new NoiseAugmentation({ ...ok, std: [1] })).toThrowError(/decoder.noiseAugmentation.std/);
    expect(() => new NoiseAugmentation({ ...ok, betaSchedule: 'cosine' as never })).toThrowError(/decoder.noiseAugmentation.betaSchedule/);
    const augmentation = new NoiseAugmentation(ok);
    expect(() => augmentation.classLabels(new Float32Array(4), 1000, new Float32Array(4))).toThrowError(
      /Expected an integer in \[0, 999\] for noiseLevel but received 1000/,
    );
    expect(() => augmentation.classLabels(new Float32Array(3), 0, new Float32Array(3))).toThrowError(UnclipError);
  });
});

describe('classifierFreeGuidance', () => {
  for (const c of fixture.guidance) {
    it(`u + ${c.guidanceScale} (c - u) over a [uncond; cond] batch`, () => {
      expect(maxAbsError(classifierFreeGuidance(Float32Array.from(c.batched), c.guidanceScale), c.guided)).toBeLessThan(1e-6);
    });
  }
  it('scale 1 returns the conditional half; scale 0 the unconditional one', () => {
    const batched = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    expect(Array.from(classifierFreeGuidance(batched, 1))).toEqual([10, 20, 30, 40]);
    expect(Array.from(classifierFreeGuidance(batched, 0))).toEqual([1, 2, 3, 4]);
    expect(Array.from(duplicateBatch(Float32Array.from([1, 2])))).toEqual([1, 2, 1, 2]);
    expect(() => classifierFreeGuidance(new Float32Array(3), 2)).toThrowError(UnclipError);
  });
});
