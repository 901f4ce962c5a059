import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  shortSideScaleSize,
  spatialCropOffset,
  uniformTemporalIndices,
  videoFrameTimes,
  videoViews,
  type VideoFramePixels,
  type VideoPreprocess,
} from '../src/index.js';
import { codeOf, DEMO_REFERENCE, loadNpy, maxAbsDiff, readJson } from './helpers.js';

const pre: VideoPreprocess = {
  type: 'video', encoder: 'vision', clipDuration: 2, clipsPerVideo: 5, framesPerClip: 2, spatialCrops: 3,
  size: 224, resize: 'bilinear', rescale: 1 / 255, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711],
};

interface VideoIndex {
  frameTimes: Array<{ frameCount: number; fps: number; durationSec: number; clipDuration: number; clipsPerVideo: number; framesPerClip: number; frameIndices: number[][] }>;
  views: { size: number; clipsPerVideo: number; framesPerClip: number; spatialCrops: 3; mean: number[]; std: number[]; cases: Array<{ name: string; frames: string; views: string; shape: number[] }> };
}

const videoDir = join(DEMO_REFERENCE, 'vision', 'video');
const index = readJson<VideoIndex>(join(videoDir, 'index.json'));

describe('videoFrameTimes', () => {
  it('picks the first and last frame of 5 evenly spaced 2 s clips (10 s at 30 fps)', () => {
    const plan = videoFrameTimes(10, 30, pre);
    expect(plan.frameCount).toBe(300);
    expect(plan.clips.map((c) => [c.startSec, c.endSec])).toEqual([[0, 2], [2, 4], [4, 6], [6, 8], [8, 10]]);
    expect(plan.frameIndices).toEqual([0, 59, 60, 119, 120, 179, 180, 239, 240, 299]);
    expect(plan.times[1]).toBeCloseTo(59 / 30, 12);
    expect(plan.times.length).toBe(10);
  });
  it('repeats the whole video for every clip when it is shorter than a clip', () => {
    const plan = videoFrameTimes(1.5, 30, pre);
    expect(plan.clips.map((c) => c.frameIndices)).toEqual(new Array(5).fill([0, 44]));
  });
  // Frame indices from pytorchvideo's own ConstantClipsPerVideoSampler and
  // uniform_temporal_subsample with decord's get_clip frame range
  // (models/recipes/reference_vision.py video): must be identical.
  for (const c of index.frameTimes) {
    it(`matches pytorchvideo: ${c.frameCount} frames at ${c.fps.toFixed(3)} fps, ${c.clipsPerVideo} x ${c.framesPerClip}`, () => {
      const plan = videoFrameTimes(c.durationSec, c.fps, { ...pre, clipDuration: c.clipDuration, clipsPerVideo: c.clipsPerVideo, framesPerClip: c.framesPerClip });
      expect(plan.frameCount).toBe(c.frameCount);
      expect(plan.clips.map((k) => k.frameIndices)).toEqual(c.frameIndices);
    });
  }
  it('follows torch.linspace(0, t - 1, n).long() for the temporal subsample', () => {
    // torch 1.13: linspace(0, 59, 2) -> [0, 59]; linspace(0, 9, 4) -> [0, 3, 6, 9]; linspace(0, 6, 4) -> [0, 2, 4, 6]
    expect(uniformTemporalIndices(60, 2)).toEqual([0, 59]);
    expect(uniformTemporalIndices(10, 4)).toEqual([0, 3, 6, 9]);
    expect(uniformTemporalIndices(7, 4)).toEqual([0, 2, 4, 6]);
    expect(uniformTemporalIndices(1, 3)).toEqual([0, 0, 0]);
  });
  it('refuses a non-positive duration or frame rate with VIDEO_INVALID', () => {
    expect(codeOf(() => videoFrameTimes(0, 30, pre))).toBe('VIDEO_INVALID');
    expect(codeOf(() => videoFrameTimes(10, Number.NaN, pre))).toBe('VIDEO_INVALID');
    expect(codeOf(() => videoFrameTimes(0.001, 30, pre))).toBe('VIDEO_INVALID'); // rounds to 0 frames
    expect(codeOf(() => videoFrameTimes(10, 30, { ...pre, clipsPerVideo: 0 }))).toBe('INVALID_MANIFEST');
  });
});

describe('video view geometry', () => {
  it('scales the short side with floor(long / short * size) (pytorchvideo short_side_scale)', () => {
    expect(shortSideScaleSize(640, 360, 224)).toEqual({ width: 398, height: 224 });
    expect(shortSideScaleSize(360, 640, 224)).toEqual({ width: 224, height: 398 });
  });
  it('takes left / centre / right crops of a wide frame and top / centre / bottom of a tall one (ceil centre)', () => {
    expect([0, 1, 2].map((i) => spatialCropOffset(398, 224, 224, i))).toEqual([{ top: 0, left: 0 }, { top: 0, left: 87 }, { top: 0, left: 174 }]);
    expect([0, 1, 2].map((i) => spatialCropOffset(224, 299, 224, i))).toEqual([{ top: 0, left: 0 }, { top: 38, left: 0 }, { top: 75, left: 0 }]); // ceil(37.5)
  });
});

describe('videoViews matches ImageBind data.py (torch bilinear interpolate, SpatialCrop)', () => {
  const v = index.views;
  const small: VideoPreprocess = { ...pre, size: v.size, clipsPerVideo: v.clipsPerVideo, framesPerClip: v.framesPerClip, mean: v.mean, std: v.std };
  // Interpolation in float32 in the kernel's order; scaling and normalisation differ by float
  // rounding only: measured max |error| 1.7e-6 on both cases. Tolerance 1e-5.
  for (const c of v.cases) {
    const framesNpy = loadNpy(join(videoDir, c.frames));
    const [n, h, w] = framesNpy.shape as [number, number, number, number];
    // @a2i/media's VideoFrame shape: RGB without a `channels` field.
    const frames: VideoFramePixels[] = Array.from({ length: n }, (_, i) => ({
      width: w, height: h, data: (framesNpy.data as Uint8Array).subarray(i * h * w * 3, (i + 1) * h * w * 3),
    }));
    const ref = loadNpy(join(videoDir, c.views));
    it(`${c.name}: clips layout [views, 3, T, S, S]`, () => {
      const out = videoViews(frames, small, { layout: 'clips' });
      expect(out.shape).toEqual(c.shape);
      expect(maxAbsDiff(out.data, ref.data as Float32Array)).toBeLessThanOrEqual(1e-5);
    });
    it(`${c.name}: frames layout [views * T, 3, S, S] holds the same crops`, () => {
      const out = videoViews(frames, small);
      const [views, , T, S] = c.shape as [number, number, number, number, number];
      expect(out.shape).toEqual([views * T, 3, S, S]);
      const refData = ref.data as Float32Array;
      const plane = S * S;
      for (let view = 0; view < views; view++) for (let t = 0; t < T; t++) for (let ch = 0; ch < 3; ch++) {
        const got = out.data.subarray(((view * T + t) * 3 + ch) * plane, ((view * T + t) * 3 + ch + 1) * plane);
        const want = refData.subarray(((view * 3 + ch) * T + t) * plane, ((view * 3 + ch) * T + t + 1) * plane);
        expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5);
      }
    });
  }
  it('refuses the wrong number of frames or mixed sizes with VIDEO_INVALID', () => {
    const frame = { width: 4, height: 4, channels: 3, data: new Uint8Array(48) };
    const tiny = { ...pre, size: 4, clipsPerVideo: 1, framesPerClip: 2 };
    expect(codeOf(() => videoViews([frame], tiny))).toBe('VIDEO_INVALID');
    expect(codeOf(() => videoViews([frame, { width: 5, height: 4, channels: 3, data: new Uint8Array(60) }], tiny))).toBe('VIDEO_INVALID');
    expect(codeOf(() => videoViews([frame, { ...frame, data: new Uint8Array(47) }], tiny))).toBe('VIDEO_INVALID');
    expect(videoViews([frame, frame], { ...tiny, spatialCrops: 1 }).shape).toEqual([2, 3, 4, 4]);
  });
});
