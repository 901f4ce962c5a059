import { ImageBindError } from '../imagebind-error.js';
import { parseVideoPreprocess, type VideoPreprocess } from '../preprocess-config.js';
import { resizeBilinearTorch } from './bilinear-resize.js';

/** A decoded frame: [height, width, channels] (@a2i/media's VideoFrame: RGB, no `channels` field). */
export interface VideoFramePixels {
  width: number;
  height: number;
  /** 3 (RGB, the default), 4 (alpha dropped) or 1 (gray, replicated). */
  channels?: number;
  data: Uint8Array | Uint16Array;
}

/** Views ready for the vision encoder, averaged after postprocess. */
export interface VideoViews {
  /** Row-major, see `shape`. */
  data: Float32Array;
  /** "frames": [views, 3, size, size]; "clips": [views, 3, framesPerClip, size, size]. */
  shape: number[];
  /** Rows of the encoder batch: clips * crops (* framesPerClip for "frames"). */
  views: number;
}

export interface VideoViewsOptions {
  /**
   * "frames" (default): each frame of each crop is one image view, for a vision encoder
   * whose input is [-1, 3, S, S] (ImageBind repeats an image to 2 frames inside the model,
   * so frames are then encoded one by one); "clips": [-1, 3, T, S, S], ImageBind's own
   * video input, for a vision encoder exported with a time axis.
   */
  layout?: 'frames' | 'clips';
}

/** pytorchvideo `short_side_scale` sizes: long side int(floor(long / short * size)). */
export function shortSideScaleSize(width: number, height: number, size: number): { width: number; height: number } {
  return width < height
    ? { width: size, height: Math.floor((height / width) * size) }
    : { width: Math.floor((width / height) * size), height: size };
}

/**
 * ImageBind data.py `uniform_crop` offsets for spatial index 0, 1, 2 (left / centre / right
 * when the frame is wide, top / centre / bottom when tall): centre ceil((dim - size) / 2).
 */
export function spatialCropOffset(width: number, height: number, size: number, spatialIndex: number): { top: number; left: number } {
  let top = Math.ceil((height - size) / 2);
  let left = Math.ceil((width - size) / 2);
  if (height > width) {
    if (spatialIndex === 0) top = 0;
    else if (spatialIndex === 2) top = height - size;
  } else {
    if (spatialIndex === 0) left = 0;
    else if (spatialIndex === 2) left = width - size;
  }
  return { top, left };
}

/** One frame: x * rescale, short side scaled (bilinear), normalised; [3, h, w]. */
function frameToPlanes(frame: VideoFramePixels, p: VideoPreprocess): { data: Float32Array; width: number; height: number } {
  const { width, height } = frame;
  const n = width * height;
  const planes = new Float32Array(3 * n);
  const c = frame.channels ?? 3;
  const scale = frame.data instanceof Uint16Array ? p.rescale / 257 : p.rescale;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) planes[ch * n + i] = frame.data[i * c + (c >= 3 ? ch : 0)]! * scale;
  }
  const size = shortSideScaleSize(width, height, p.size);
  const resized =
    size.width === width && size.height === height ? planes : resizeBilinearTorch(planes, 3, height, width, size.height, size.width);
  const m = size.width * size.height;
  for (let ch = 0; ch < 3; ch++) {
    const mean = p.mean[ch]!;
    const std = p.std[ch]!;
    for (let i = 0; i < m; i++) resized[ch * m + i] = (resized[ch * m + i]! - mean) / std;
  }
  return { data: resized, ...size };
}

/**
 * ImageBind's video views (data.py load_and_transform_video_data): each frame / 255,
 * `ShortSideScale(size)` (bilinear, pytorchvideo), `NormalizeVideo(mean, std)`, then
 * `SpatialCrop(size, spatialCrops)`: per clip, crops 0, 1, 2 (or the centre one only).
 *
 * @param frames clipsPerVideo * framesPerClip decoded frames, clip-major (the order of
 *   videoFrameTimes(...).times), all the same size, 8-bit (or 16-bit) RGB or gray.
 */
export function videoViews(frames: readonly VideoFramePixels[], preprocess: VideoPreprocess, options: VideoViewsOptions = {}): VideoViews {
  const p = parseVideoPreprocess(preprocess);
  const layout = options.layout ?? 'frames';
  if (layout !== 'frames' && layout !== 'clips') {
    throw new ImageBindError('INVALID_OPTION', `Expected "frames" or "clips" for layout but received ${JSON.stringify(layout)}`);
  }
  const T = p.framesPerClip;
  const expected = p.clipsPerVideo * T;
  if (frames.length !== expected) {
    throw new ImageBindError('VIDEO_INVALID', `Expected ${expected} frames (${p.clipsPerVideo} clips x ${T} frames) but received ${frames.length}`);
  }
  const first = frames[0]!;
  for (const [i, f] of frames.entries()) {
    const channels = f.channels ?? 3;
    const ok = Number.isInteger(f.width) && f.width > 0 && Number.isInteger(f.height) && f.height > 0 && [1, 3, 4].includes(channels);
    if (!ok || f.data.length !== f.width * f.height * channels) {
      throw new ImageBindError('VIDEO_INVALID', `Expected frame ${i} as width x height x 1, 3 or 4 values but received ${f.width}x${f.height}x${channels} with ${f.data?.length} values`);
    }
    if (f.width !== first.width || f.height !== first.height) {
      throw new ImageBindError('VIDEO_INVALID', `Expected every frame to be ${first.width}x${first.height} but frame ${i} is ${f.width}x${f.height}`);
    }
  }
  const S = p.size;
  const crops = p.spatialCrops === 3 ? [0, 1, 2] : [1];
  const views = p.clipsPerVideo * crops.length * (layout === 'frames' ? T : 1);
  const plane = S * S;
  const data = new Float32Array(p.clipsPerVideo * crops.length * T * 3 * plane);
  for (let clip = 0; clip < p.clipsPerVideo; clip++) {
    for (let t = 0; t < T; t++) {
      const frame = frameToPlanes(frames[clip * T + t]!, p);
      for (const [ci, spatialIndex] of crops.entries()) {
        const { top, left } = spatialCropOffset(frame.width, frame.height, S, spatialIndex);
        const view = clip * crops.length + ci;
        for (let ch = 0; ch < 3; ch++) {
          // frames: [view*T + t, ch, y, x]; clips: [view, ch, t, y, x]
          const o = layout === 'frames' ? (((view * T + t) * 3 + ch) * plane) : (((view * 3 + ch) * T + t) * plane);
          const src = ch * frame.width * frame.height;
          for (let y = 0; y < S; y++) {
            const row = src + (y + top) * frame.width + left;
            data.set(frame.data.subarray(row, row + S), o + y * S);
          }
        }
      }
    }
  }
  const shape = layout === 'frames' ? [views, 3, S, S] : [views, 3, T, S, S];
  return { data, shape, views };
}
