/**
 * RGB -> L as Pillow's Image.convert("L") computes it (libImaging/Convert.c, rgb2l):
 *     L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16
 * i.e. ITU-R 601-2 luma (0.299, 0.587, 0.114) in 16-bit fixed point, rounded.
 */
export function pilLuma(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0, k = 0; i < pixels; i++, k += 3) {
    out[i] = (rgb[k]! * 19595 + rgb[k + 1]! * 38470 + rgb[k + 2]! * 7471 + 0x8000) >>> 16;
  }
  return out;
}
