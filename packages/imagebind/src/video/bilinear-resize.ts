/**
 * torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False) on
 * float32 planes, as pytorchvideo's `short_side_scale` calls it (torch 1.13 CPU kernel,
 * aten/src/ATen/native/UpSample.h + cpu/UpSampleKernel.cpp):
 *
 *   scale = in / out (float32); src = max(scale * (dst + 0.5) - 0.5, 0) (in double);
 *   i0 = min(floor(src), in - 1); i1 = i0 + (i0 < in - 1 ? 1 : 0);
 *   l1 = float32(clamp(src - i0, 0, 1)); l0 = 1 - l1;
 *   out = (x[y0][x0] * wx0 + x[y0][x1] * wx1) * wy0 + (x[y1][x0] * wx0 + x[y1][x1] * wx1) * wy1
 *
 * with every other operation rounded to float32 like the kernel (rounding src to float32 too
 * moves l1 by up to an ulp of src: 5.5e-6 after normalisation at 96 -> 85, more on large frames).
 * No antialiasing: a shrink samples, it does not average.
 */

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

function linearTaps(inSize: number, outSize: number): LinearTaps {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const t: LinearTaps = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), w0: new Float32Array(outSize), w1: new Float32Array(outSize) };
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(scale * (d + 0.5) - 0.5, 0); // in double from the float32 scale: not rounded
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = f(Math.min(Math.max(src - i0, 0), 1));
    t.i0[d] = i0;
    t.i1[d] = i0 < inSize - 1 ? i0 + 1 : i0;
    t.w1[d] = l1;
    t.w0[d] = f(1 - l1);
  }
  return t;
}

/**
 * @param planes [planes, inHeight, inWidth] float32
 * @returns [planes, outHeight, outWidth] float32
 */
export function resizeBilinearTorch(planes: Float32Array, count: number, inHeight: number, inWidth: number, outHeight: number, outWidth: number): Float32Array {
  const f = Math.fround;
  const ty = linearTaps(inHeight, outHeight);
  const tx = linearTaps(inWidth, outWidth);
  const out = new Float32Array(count * outHeight * outWidth);
  for (let p = 0; p < count; p++) {
    const base = p * inHeight * inWidth;
    for (let y = 0; y < outHeight; y++) {
      const r0 = base + ty.i0[y]! * inWidth;
      const r1 = base + ty.i1[y]! * inWidth;
      const wy0 = ty.w0[y]!;
      const wy1 = ty.w1[y]!;
      const o = (p * outHeight + y) * outWidth;
      for (let x = 0; x < outWidth; x++) {
        const x0 = tx.i0[x]!;
        const x1 = tx.i1[x]!;
        const wx0 = tx.w0[x]!;
        const wx1 = tx.w1[x]!;
        const top = f(f(planes[r0 + x0]! * wx0) + f(planes[r0 + x1]! * wx1));
        const bottom = f(f(planes[r1 + x0]! * wx0) + f(planes[r1 + x1]! * wx1));
        out[o + x] = f(f(top * wy0) + f(bottom * wy1));
      }
    }
  }
  return out;
}
