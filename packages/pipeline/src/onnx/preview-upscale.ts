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
