// Video embeddings of the demo pack against PyTorch (models/recipes/reference_video.py: ImageBind
// data.py load_and_transform_video_data with the pack's constants, pytorchvideo's clip sampler,
// decord's frame ranges, the trained image tower). The videos are the pack's sample mp4 files and
// variants the recipe encodes with ffmpeg (resized, 29.97 and 12 fps, shorter than a clip):
// files this test does not make. The TypeScript path is the worker's: probeVideo ->
// videoFrameTimes -> decodeVideoFrames -> videoViews -> the vision encoder (postprocess, mean).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeVideoFrames, npyToFloat32, probeVideo, type VideoFrame } from '@a2i/media';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, videoFrameTimes, videoViews, type VideoFramePlan, type VideoPreprocess, type VideoViews } from '../src/index.js';
import { loadNpy, maxAbsDiff, readJson, REPO } from './helpers.js';

const PACK = process.env.A2I_TEST_PACK ?? join(REPO, 'models', 'demo');
const REF = join(PACK, 'reference', 'video');

interface ClipRef { clip: number; startSec: number; endSec: number; frameRange: [number, number]; frameIndices: number[]; times: number[] }
interface CropRef { clip: number; spatialIndex: number; top: number; left: number }
interface VideoRef {
  name: string;
  /** Relative to the pack folder. */
  file: string;
  fps: number;
  frameCount: number;
  durationSec: number;
  clips: ClipRef[];
  frameIndices: number[];
  /** Presentation times (ffprobe pts * time_base) of the frames picked by index, seconds. */
  times: number[];
  /** uint8 [clips * T, H, W, 3]: the decoded frames PyTorch used. */
  decodedFrames: string;
  /** float32 [clips, 3, T, H', W']: after ShortSideScale + NormalizeVideo, before SpatialCrop. */
  clipTensors: string;
  /** float32 [views * T, D]: the image tower's raw outputs. */
  rawRows: string;
  views: { shape: number[]; crops: CropRef[] };
  embedding: number[];
}
interface VideoIndex {
  preprocess: VideoPreprocess;
  postprocess: { normalize: boolean; scale: number };
  videos: VideoRef[];
}

const manifest = JSON.parse(readFileSync(join(PACK, 'manifest.json'), 'utf8'));
if (!existsSync(join(REF, 'index.json'))) {
  throw new Error(`No video reference in ${REF}: run /usr/bin/python3 models/recipes/reference_video.py --pack ${PACK}`);
}
const index = readJson<VideoIndex>(join(REF, 'index.json'));
const pre = manifest.encoders.video.preprocess as VideoPreprocess;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i]! * b[i]!; aa += a[i]! * a[i]!; bb += b[i]! * b[i]!; }
  return ab / Math.sqrt(aa * bb);
}

/** The reference views in the encoder's "frames" layout [views * T, 3, S, S]: crops of the clip tensors at the listed offsets. */
function referenceFrameRows(clipTensors: Float32Array, clipShape: number[], crops: readonly CropRef[], size: number): Float32Array {
  const [, channels, T, H, W] = clipShape as [number, number, number, number, number];
  const out = new Float32Array(crops.length * T * channels * size * size);
  crops.forEach((crop, view) => {
    for (let t = 0; t < T; t++) for (let ch = 0; ch < channels; ch++) for (let y = 0; y < size; y++) {
      const src = (((crop.clip * channels + ch) * T + t) * H + crop.top + y) * W + crop.left;
      out.set(clipTensors.subarray(src, src + size), (((view * T + t) * channels + ch) * size + y) * size);
    }
  });
  return out;
}

describe('video reference matches this pack', () => {
  it('was made with the manifest video constants, and video rows take the vision encoder postprocess', () => {
    expect(index.preprocess).toEqual(pre);
    expect(index.postprocess).toEqual(manifest.encoders.video.postprocess);
    // The TypeScript path embeds video rows with the vision encoder (ImageBind: the vision
    // postprocessor); the reference uses encoders.video.postprocess. They must agree.
    expect(manifest.encoders.video.postprocess).toEqual(manifest.encoders.vision.postprocess);
    expect(index.videos.length).toBeGreaterThanOrEqual(2);
  });
});

for (const ref of index.videos) {
  describe(`video ${ref.name} (${ref.frameCount} frames at ${ref.fps.toFixed(3)} fps): TypeScript vs PyTorch`, () => {
    let plan: VideoFramePlan;
    let frames: VideoFrame[];
    let views: VideoViews;
    beforeAll(async () => {
      const bytes = new Uint8Array(readFileSync(join(PACK, ref.file)));
      const info = await probeVideo(bytes);
      plan = videoFrameTimes(info.durationSec!, info.fps!, pre);
      frames = await decodeVideoFrames(bytes, { times: plan.times });
      views = videoViews(frames, pre);
    });

    it('samples the same clips and frames as pytorchvideo + decord', () => {
      expect(plan.frameCount).toBe(ref.frameCount);
      expect(plan.clips.map((c) => c.frameIndices)).toEqual(ref.clips.map((c) => c.frameIndices));
      // Clip spans: the sampler's Fractions as floats (equal for 5 clips: divisions by 4 are exact).
      expect(plan.clips.map((c) => [c.startSec, c.endSec])).toEqual(ref.clips.map((c) => [c.startSec, c.endSec]));
      // Times: index / fps here, pts * time_base of those frames there; within 1e-9 s.
      expect(maxAbsDiff(plan.times, ref.times)).toBeLessThan(1e-9);
    });

    it('decodes the very frames PyTorch took by index (nearest-timestamp selection, same pixels)', () => {
      const want = loadNpy(join(REF, ref.decodedFrames));
      const [n, h, w] = want.shape as [number, number, number, number];
      expect(frames.length).toBe(n);
      // showinfo logs pts_time with 6 significant digits: within 1e-5 s of the exact pts.
      expect(maxAbsDiff(frames.map((f) => f.frameTime), ref.times)).toBeLessThan(1e-5);
      const wantPixels = want.data as Uint8Array;
      frames.forEach((f, i) => {
        expect([f.width, f.height]).toEqual([w, h]);
        // Same ffmpeg binary and rgb24 conversion on both sides: identical bytes.
        expect(maxAbsDiff(f.data, wantPixels.subarray(i * h * w * 3, (i + 1) * h * w * 3))).toBe(0);
      });
    });

    it('makes the same views (bilinear short-side scale, normalise, 3 crops) within 2e-6', () => {
      const clipNpy = loadNpy(join(REF, ref.clipTensors));
      const S = pre.size;
      const T = pre.framesPerClip;
      expect(views.shape).toEqual([ref.views.shape[0]! * T, 3, S, S]);
      const want = referenceFrameRows(npyToFloat32(clipNpy), clipNpy.shape, ref.views.crops, S);
      // Same uint8 input; float32 rescale / interpolation / normalisation rounding only:
      // measured max |error| 8.3e-7 (96x72 variant), 2.4e-7 to 6e-7 on the others.
      // Tolerance 2e-6 (a few float32 ulps of values up to ~2.2): rounding the bilinear source
      // index to float32, as torch does not, already gives 5.5e-6 on the 96x72 variant.
      expect(maxAbsDiff(views.data, want)).toBeLessThan(2e-6);
      // ImageBind's own [views, 3, T, S, S] layout holds the same crops.
      const clipsLayout = videoViews(frames, pre, { layout: 'clips' });
      expect(clipsLayout.shape).toEqual(ref.views.shape);
    });

    it('gives the image tower\'s raw outputs per frame row within 1e-4 (onnxruntime-node vs PyTorch)', async () => {
      const vision = manifest.encoders.vision;
      const session = await ort.InferenceSession.create(join(PACK, vision.file));
      try {
        const out = await session.run({ [vision.input.name]: new ort.Tensor('float32', views.data, views.shape) });
        const want = loadNpy(join(REF, ref.rawRows));
        expect(out[vision.output.name]!.dims).toEqual(want.shape);
        // measured max |diff| 7.7e-7 (float32 summation order only)
        expect(maxAbsDiff(out[vision.output.name]!.data as Float32Array, npyToFloat32(want))).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });

    it('embeds to cosine >= 0.999 with PyTorch (vision encoder in onnxruntime-node, postprocess, mean over views)', async () => {
      const encoder = await createEncoder(PACK, 'vision', manifest.encoders.vision);
      try {
        const [embedding] = await encoder.run([{ data: views.data, rows: views.views }]);
        // measured: cosine 1 - 5e-14 or closer, max |diff| 7.5e-8 on every video
        expect(cosine(embedding!, ref.embedding)).toBeGreaterThanOrEqual(0.999);
        expect(maxAbsDiff(embedding!, ref.embedding)).toBeLessThan(1e-4);
      } finally {
        await encoder.release();
      }
    });
  });
}
