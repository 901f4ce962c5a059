import { ImageBindError } from '../imagebind-error.js';
import { parseImagePreprocess, type ImagePreprocess } from '../preprocess-config.js';
import { resizeBicubicPil, type PixelBuffer } from './pil-resample.js';

/**
 * Decoded pixels, interleaved [height, width, channels] (the shape @a2i/media's
 * decodeImage returns). 16-bit images come as Uint16Array.
 */
export interface ImagePixels {
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (alpha is dropped, as PIL's convert does). */
  channels: number;
  data: Uint8Array | Uint16Array;
  bitDepth?: number;
}

/**
 * The resized size torchvision 0.14 computes for `Resize(size)` (an int: the short side):
 * `_compute_resized_output_size` gives the long side `int(size * long / short)` (truncated).
 */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/** Python's round() (half to even), which torchvision's center_crop uses for its offsets. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision 0.14 `center_crop` offsets: `int(round((H - size) / 2.0))`, likewise for W. */
export function centerCropOffsets(width: number, height: number, size: number): { top: number; left: number } {
  return { top: roundHalfEven((height - size) / 2), left: roundHalfEven((width - size) / 2) };
}

function checkPixels(image: ImagePixels): void {
  const { width, height, channels, data } = image;
  const ok = Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0 && [1, 2, 3, 4].includes(channels);
  if (!ok) {
    throw new ImageBindError(
      'IMAGE_INVALID_SHAPE',
      `Expected an image with positive integer width and height and 1-4 channels but received ${width}x${height}x${channels}`,
    );
  }
  if (!(data instanceof Uint8Array || data instanceof Uint16Array)) {
    throw new ImageBindError('IMAGE_INVALID_SHAPE', 'Expected image data as Uint8Array (8-bit) or Uint16Array (16-bit)');
  }
  if (data.length !== width * height * channels) {
    throw new ImageBindError(
      'IMAGE_INVALID_SHAPE',
      `Expected ${width * height * channels} values for a ${width}x${height}x${channels} image but received ${data.length}`,
    );
  }
}

// PIL's RGB -> L (src/libImaging/Convert.c, ITU-R 601-2 luma in 16.16 fixed point):
// L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
const LUMA = [19595, 38470, 7471] as const;

/** 8-bit pixels with `target` channels, converted as PIL's `convert("RGB" | "L")`. */
function toChannels8(image: ImagePixels & { data: Uint8Array }, target: 1 | 3): PixelBuffer<Uint8Array> {
  const { width, height, channels: c, data } = image;
  const n = width * height;
  if (c === target) return { width, height, channels: c, data };
  const out = new Uint8Array(n * target);
  for (let i = 0; i < n; i++) {
    if (c <= 2) {
      // gray (+ alpha) -> gray or replicated RGB
      const v = data[i * c]!;
      if (target === 1) out[i] = v;
      else out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
    } else if (target === 1) {
      out[i] = (data[i * c]! * LUMA[0] + data[i * c + 1]! * LUMA[1] + data[i * c + 2]! * LUMA[2] + 0x8000) >> 16;
    } else {
      out[i * 3] = data[i * c]!;
      out[i * 3 + 1] = data[i * c + 1]!;
      out[i * 3 + 2] = data[i * c + 2]!;
    }
  }
  return { width, height, channels: target, data: out };
}

/**
 * 16-bit pixels brought to the 8-bit scale as float (x / 257: 65535 -> 255), with
 * `target` channels (luma with the same weights as the 8-bit path, unrounded).
 */
function toChannels16(image: ImagePixels & { data: Uint16Array }, target: 1 | 3): PixelBuffer<Float32Array> {
  const { width, height, channels: c, data } = image;
  const n = width * height;
  const out = new Float32Array(n * target);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < target; t++) {
      let v: number;
      if (c <= 2) v = data[i * c]!;
      else if (target === 1) v = (data[i * c]! * LUMA[0] + data[i * c + 1]! * LUMA[1] + data[i * c + 2]! * LUMA[2]) / 65536;
      else v = data[i * c + t]!;
      out[i * target + t] = v / 257;
    }
  }
  return { width, height, channels: target, data: out };
}

/**
 * ImageBind's image transform (facebookresearch/ImageBind imagebind/data.py
 * `load_and_transform_vision_data`, torchvision 0.14 on PIL), constants from the manifest:
 *
 * 1. channels: RGB for "image", gray for "depth" / "thermal" (PIL convert semantics);
 * 2. `Resize(size, BICUBIC)`: short side -> size, long side int(size * long / short), with
 *    Pillow's antialiased bicubic (bit-exact for 8-bit input);
 * 3. `CenterCrop(size)`: offsets round-half-even((H - size) / 2);
 * 4. `ToTensor` + `Normalize`: (x * rescale - mean[c]) / std[c], CHW.
 *
 * 16-bit input (depth PNGs) has no upstream loader: values are mapped to the 8-bit scale as
 * x / 257 (so `rescale` keeps its meaning: 65535 -> 1.0) and resized in float, without the
 * 8-bit path's rounding.
 *
 * @returns Float32Array [channels, size, size]
 */
export function imageToTensor(image: ImagePixels, preprocess: ImagePreprocess): Float32Array {
  const p = parseImagePreprocess(preprocess);
  checkPixels(image);
  const S = p.size;
  const pixels =
    image.data instanceof Uint16Array
      ? toChannels16(image as ImagePixels & { data: Uint16Array }, p.channels)
      : toChannels8(image as ImagePixels & { data: Uint8Array }, p.channels);
  const target = resizedSize(pixels.width, pixels.height, S);
  const resized: PixelBuffer =
    target.width === pixels.width && target.height === pixels.height ? pixels : resizeBicubicPil<Uint8Array | Float32Array>(pixels, target.width, target.height);
  const { top, left } = centerCropOffsets(resized.width, resized.height, S);
  const C = p.channels;
  const out = new Float32Array(C * S * S);
  const src = resized.data;
  for (let c = 0; c < C; c++) {
    const mean = p.mean[c]!;
    const std = p.std[c]!;
    for (let y = 0; y < S; y++) {
      const row = ((y + top) * resized.width + left) * C + c;
      const o = (c * S + y) * S;
      for (let x = 0; x < S; x++) out[o + x] = (src[row + x * C]! * p.rescale - mean) / std;
    }
  }
  return out;
}

/** Several images as one batch: Float32Array [N, channels, size, size]. */
export function imagesToBatch(images: readonly ImagePixels[], preprocess: ImagePreprocess): Float32Array {
  const p = parseImagePreprocess(preprocess);
  const per = p.channels * p.size * p.size;
  const out = new Float32Array(images.length * per);
  images.forEach((image, i) => out.set(imageToTensor(image, p), i * per));
  return out;
}

/**
 * An image tensor [C, S, S] as a clip of `frames` identical frames [C, T, S, S]: what
 * ImageBind's vision preprocessor does to a still image (PadIm2Video(pad_type="repeat",
 * ntimes=2), imagebind/models/multimodal_preprocessors.py), for a vision graph exported with
 * its time axis so that video clips keep two distinct frames.
 */
export function imageAsClip(chw: Float32Array, channels: number, frames: number): Float32Array {
  if (!Number.isInteger(frames) || frames < 1) throw new ImageBindError('INVALID_OPTION', `Expected a positive whole number of frames but received ${frames}`);
  if (channels < 1 || chw.length % channels !== 0) throw new ImageBindError('INVALID_OPTION', `Expected ${channels} equal planes but received ${chw.length} values`);
  if (frames === 1) return chw;
  const plane = chw.length / channels;
  const out = new Float32Array(chw.length * frames);
  for (let c = 0; c < channels; c++) {
    const source = chw.subarray(c * plane, (c + 1) * plane);
    for (let t = 0; t < frames; t++) out.set(source, (c * frames + t) * plane);
  }
  return out;
}
