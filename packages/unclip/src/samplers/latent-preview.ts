import { unclipGuards } from '../unclip-error.js';
import { toByte, type RgbImage } from './vae-decode.js';

const { invalid } = unclipGuards;

/**
 * A cheap preview of latents [B, C, h, w]: each latent pixel's C values through the pack's
 * linear map to RGB, rgb = latent^T W + b in [-1, 1] (W [C][3]; the "latent_rgb_factors"
 * idea ComfyUI uses), as h x w RGB bytes. Costs B h w C 3 multiply-adds, nothing like a VAE decode.
 */
export class LatentPreview {
  private readonly weights: Float64Array; // [C, 3]
  private readonly bias: Float64Array; // [3]

  constructor(
    private readonly latentShape: readonly [number, number, number],
    latentToRgb: ReadonlyArray<readonly number[]>,
    bias: readonly number[],
  ) {
    const channels = latentShape[0];
    if (!Array.isArray(latentToRgb) || latentToRgb.length !== channels || latentToRgb.some((row) => !Array.isArray(row) || row.length !== 3)) {
      throw invalid(`a ${channels} x 3 matrix`, 'decoder.preview.latentToRgb', latentToRgb);
    }
    if (!Array.isArray(bias) || bias.length !== 3) throw invalid('3 numbers', 'decoder.preview.bias', bias);
    this.weights = Float64Array.from(latentToRgb.flat());
    this.bias = Float64Array.from(bias);
  }

  render(latents: Float32Array): RgbImage[] {
    const [channels, height, width] = this.latentShape;
    const plane = height * width;
    const batch = latents.length / (channels * plane);
    const images: RgbImage[] = [];
    for (let b = 0; b < batch; b++) {
      const data = new Uint8Array(plane * 3);
      const base = b * channels * plane;
      for (let p = 0; p < plane; p++) {
        for (let rgb = 0; rgb < 3; rgb++) {
          let value = this.bias[rgb]!;
          for (let c = 0; c < channels; c++) value += latents[base + c * plane + p]! * this.weights[c * 3 + rgb]!;
          data[p * 3 + rgb] = toByte(value, -1, 1);
        }
      }
      images.push({ width, height, data });
    }
    return images;
  }
}

// ---------------------------------------------------------------- shown at the image's size

/**
 * Nearest-neighbour enlargement of an RGB image by an integer factor, so a latent-sized
 * preview (16 x 16 for a 64 x 64 demo image) shows at the image's size without blur.
 * @param rgb [height, width, 3] bytes
 * @returns [height * factor, width * factor, 3]
 */
export function upscaleNearest(rgb: Uint8Array, width: number, height: number, factor: number): Uint8Array {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`Expected a positive integer for factor but received ${factor}`);
  if (rgb.length !== width * height * 3) throw new RangeError(`Expected ${width * height * 3} bytes for a ${width} x ${height} RGB image but received ${rgb.length}`);
  if (factor === 1) return rgb;
  const outWidth = width * factor;
  const out = new Uint8Array(outWidth * height * factor * 3);
  for (let y = 0; y < height * factor; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < outWidth; x++) {
      const s = (sy * width + Math.floor(x / factor)) * 3;
      const o = (y * outWidth + x) * 3;
      out[o] = rgb[s]!;
      out[o + 1] = rgb[s + 1]!;
      out[o + 2] = rgb[s + 2]!;
    }
  }
  return out;
}

/** The integer factor that brings a preview closest to the image's size without passing it. */
export function previewFactor(preview: { width: number; height: number }, image: { width: number; height: number }): number {
  return Math.max(1, Math.min(Math.floor(image.width / preview.width), Math.floor(image.height / preview.height)));
}
