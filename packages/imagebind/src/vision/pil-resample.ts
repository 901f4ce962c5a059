/**
 * Separable bicubic resampling as Pillow computes it (`Image.resize(size, BICUBIC)`, which
 * torchvision 0.14's `Resize` calls on PIL images): src/libImaging/Resample.c.
 *
 * - Filter: Keys' cubic convolution with a = -0.5, support 2 (R. Keys, "Cubic convolution
 *   interpolation for digital image processing", 1981).
 * - Antialiasing on downscale: the filter is stretched by the scale factor (support 2*scale),
 *   each output pixel's weights are normalised to sum 1.
 * - Horizontal pass first, then vertical; a dimension whose size does not change is not
 *   resampled.
 * - 8-bit images: weights in fixed point with 22 fractional bits (32 - 8 - 2), each pass
 *   rounds and clamps to 0..255, so the result is bit-exact with Pillow.
 * - Float images (Pillow mode "F"): weights and sums in float64, each pass stored as float32.
 *
 * Written from the algorithm's description; the exactness is checked against Pillow 9.4 by
 * the parity tests (test/vision-parity.test.ts).
 */

/** Interleaved pixels: `data` is [height, width, channels] row-major. */
export interface PixelBuffer<T extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  width: number;
  height: number;
  channels: number;
  data: T;
}

const BICUBIC_SUPPORT = 2;
const PRECISION_BITS = 32 - 8 - 2;

/** Keys' cubic kernel with a = -0.5, written in the evaluation order Pillow uses. */
function bicubicKernel(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Taps per output sample (the row stride of `weights`). */
  taps: number;
  /** [outSize]: first input index used by each output sample. */
  first: Int32Array;
  /** [outSize]: number of input samples used by each output sample. */
  count: Int32Array;
  /** [outSize, taps]: normalised weights. */
  weights: Float64Array;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const inverseFilterScale = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = hi - lo;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = bicubicKernel((i + lo - center + 0.5) * inverseFilterScale);
      weights[out * taps + i] = w;
      sum += w;
    }
    if (sum !== 0) for (let i = 0; i < n; i++) weights[out * taps + i]! /= sum;
    first[out] = lo;
    count[out] = n;
  }
  return { taps, first, count, weights };
}

/** Weights in fixed point, rounded half away from zero (Resample.c normalize_coeffs_8bpc). */
function fixedPoint(weights: Float64Array): Int32Array {
  const one = 1 << PRECISION_BITS;
  return Int32Array.from(weights, (w) => (w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one)));
}

/** Fixed-point sum -> 0..255, as Pillow's clip8 (arithmetic shift, then clamp). */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HALF = 1 << (PRECISION_BITS - 1);

/**
 * The arithmetic of one of Pillow's two paths: 8-bit (fixed-point weights, a rounding bias,
 * clipped to a byte: ImagingResampleHorizontal_8bpc / Vertical_8bpc) or "F" (float weights, the
 * sum as it is: ImagingResampleHorizontal_32bpc for mode F).
 */
interface PassArithmetic<T extends Uint8Array | Float32Array> {
  kernel(weights: Float64Array): ArrayLike<number>;
  bias: number;
  finish(sum: number): number;
  allocate(length: number): T;
}

const EIGHT_BIT: PassArithmetic<Uint8Array> = { kernel: fixedPoint, bias: HALF, finish: clip8, allocate: (n) => new Uint8Array(n) };
const FLOAT: PassArithmetic<Float32Array> = { kernel: (w) => w, bias: 0, finish: (sum) => sum, allocate: (n) => new Float32Array(n) };

function horizontalPass<T extends Uint8Array | Float32Array>(src: PixelBuffer<T>, rowStart: number, rows: number, outWidth: number, math: PassArithmetic<T>): PixelBuffer<T> {
  const { width, channels: c, data } = src;
  const co = coefficients(width, outWidth);
  const k = math.kernel(co.weights);
  const out = math.allocate(rows * outWidth * c);
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + rowStart) * width * c;
    const rowOut = y * outWidth * c;
    for (let x = 0; x < outWidth; x++) {
      const lo = co.first[x]!;
      const n = co.count[x]!;
      const kb = x * co.taps;
      for (let ch = 0; ch < c; ch++) {
        let sum = math.bias;
        for (let i = 0; i < n; i++) sum += data[rowIn + (lo + i) * c + ch]! * k[kb + i]!;
        out[rowOut + x * c + ch] = math.finish(sum);
      }
    }
  }
  return { width: outWidth, height: rows, channels: c, data: out };
}

function verticalPass<T extends Uint8Array | Float32Array>(src: PixelBuffer<T>, co: Coefficients, rowShift: number, outHeight: number, math: PassArithmetic<T>): PixelBuffer<T> {
  const { width, channels: c, data } = src;
  const k = math.kernel(co.weights);
  const stride = width * c;
  const out = math.allocate(outHeight * stride);
  for (let y = 0; y < outHeight; y++) {
    const lo = co.first[y]! - rowShift;
    const n = co.count[y]!;
    const kb = y * co.taps;
    for (let j = 0; j < stride; j++) {
      let sum = math.bias;
      for (let i = 0; i < n; i++) sum += data[(lo + i) * stride + j]! * k[kb + i]!;
      out[y * stride + j] = math.finish(sum);
    }
  }
  return { width, height: outHeight, channels: c, data: out };
}

/**
 * Resizes to `width` x `height` with Pillow's BICUBIC filter (antialiased when shrinking).
 * Uint8Array pixels follow Pillow's 8-bit path (bit-exact), Float32Array its "F" path.
 */
export function resizeBicubicPil<T extends Uint8Array | Float32Array>(src: PixelBuffer<T>, width: number, height: number): PixelBuffer<T> {
  const needHorizontal = width !== src.width;
  const needVertical = height !== src.height;
  if (!needHorizontal && !needVertical) return { ...src, data: src.data.slice() as T };
  const vertical = coefficients(src.height, height);
  // Only the input rows the vertical pass reads go through the horizontal pass.
  const rowFirst = vertical.first[0]!;
  const rowLast = vertical.first[height - 1]! + vertical.count[height - 1]!;
  const math = (src.data instanceof Float32Array ? FLOAT : EIGHT_BIT) as unknown as PassArithmetic<T>;
  let image: PixelBuffer<T> = src;
  let rowShift = 0;
  if (needHorizontal) {
    image = horizontalPass(src, rowFirst, rowLast - rowFirst, width, math);
    rowShift = rowFirst;
  }
  if (needVertical) image = verticalPass(image, vertical, rowShift, height, math);
  return image;
}
