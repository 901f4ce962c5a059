/** An 8-bit RGB image, rows of pixels, channels interleaved: data [height, width, 3]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * A value in [lo, hi] to a byte as diffusers' VaeImageProcessor does:
 * round(clamp((x - lo) / (hi - lo), 0, 1) * 255), rounding half to even (numpy).
 */
export function toByte(x: number, lo: number, hi: number): number {
  const unit = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  const scaled = unit * 255;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Planar CHW float images [B, 3, H, W] in [lo, hi] -> interleaved RGB bytes, one image per row. */
export function planarToRgbImages(planar: Float32Array, batch: number, height: number, width: number, range: readonly number[]): RgbImage[] {
  const [lo, hi] = [range[0] ?? -1, range[1] ?? 1];
  const plane = height * width;
  const images: RgbImage[] = [];
  for (let b = 0; b < batch; b++) {
    const data = new Uint8Array(plane * 3);
    const base = b * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[p * 3 + c] = toByte(planar[base + c * plane + p]!, lo, hi);
    }
    images.push({ width, height, data });
  }
  return images;
}
