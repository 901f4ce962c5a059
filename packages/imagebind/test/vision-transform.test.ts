import { describe, expect, it } from 'vitest';
import { centerCropOffsets, ImageBindError, imageAsClip, imageToTensor, imagesToBatch, resizeBicubicPil, resizedSize, type ImagePreprocess } from '../src/index.js';

const rgb: ImagePreprocess = { type: 'image', size: 4, resize: 'bicubic', crop: 'center', rescale: 1 / 255, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1], channels: 3 };
const gray: ImagePreprocess = { type: 'depth', size: 4, resize: 'bicubic', crop: 'center', rescale: 1 / 255, mean: [0], std: [1], channels: 1 };

function image(width: number, height: number, channels: number, f: (x: number, y: number, c: number) => number) {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageBindError);
    // bad pixels are the input's fault, a bad manifest section the server's
    expect((e as ImageBindError).fault).toBe((e as ImageBindError).code === 'INVALID_MANIFEST' ? 'server' : 'input');
    return (e as ImageBindError).code;
  }
  return undefined;
}

describe('torchvision geometry', () => {
  it('resizes the short side and truncates the long one (int(size * long / short))', () => {
    expect(resizedSize(640, 855, 224)).toEqual({ width: 224, height: 299 }); // 299.25
    expect(resizedSize(640, 360, 224)).toEqual({ width: 398, height: 224 }); // 398.2
    expect(resizedSize(40, 71, 64)).toEqual({ width: 64, height: 113 }); // 113.6 -> 113, not 114
    expect(resizedSize(50, 50, 64)).toEqual({ width: 64, height: 64 });
  });
  it('rounds crop offsets half to even, like Python round()', () => {
    expect(centerCropOffsets(64, 113, 64)).toEqual({ top: 24, left: 0 }); // 24.5 -> 24
    expect(centerCropOffsets(103, 64, 64)).toEqual({ top: 0, left: 20 }); // 19.5 -> 20
    expect(centerCropOffsets(65, 64, 64)).toEqual({ top: 0, left: 0 }); // 0.5 -> 0
    expect(centerCropOffsets(67, 64, 64)).toEqual({ top: 0, left: 2 }); // 1.5 -> 2
    expect(centerCropOffsets(224, 299, 224)).toEqual({ top: 38, left: 0 }); // 37.5 -> 38
  });
});

describe('resizeBicubicPil', () => {
  it('keeps a constant image constant (weights sum to one) when shrinking and enlarging', () => {
    const flat = { width: 9, height: 7, channels: 1, data: new Uint8Array(63).fill(200) };
    expect(Array.from(resizeBicubicPil(flat, 4, 3).data)).toEqual(new Array(12).fill(200));
    expect(Array.from(resizeBicubicPil(flat, 20, 15).data)).toEqual(new Array(300).fill(200));
  });
  it('halving a 2-pixel-period stripe averages it (antialiasing), unlike point sampling', () => {
    const stripes = { width: 8, height: 1, channels: 1, data: Uint8Array.from([0, 255, 0, 255, 0, 255, 0, 255]) };
    const out = resizeBicubicPil(stripes, 4, 1).data;
    // Interior outputs average a pair: the cubic kernel stretched to support 4 weighs both equally.
    for (const v of out.slice(1, 3)) expect(Math.abs(v - 127.5)).toBeLessThan(20);
  });
  it('clamps overshoot to 0..255 on 8-bit data and keeps it on float data', () => {
    const step = Uint8Array.from([0, 0, 0, 255, 255, 255]);
    const up8 = resizeBicubicPil({ width: 6, height: 1, channels: 1, data: step }, 12, 1).data;
    expect(Math.min(...up8)).toBe(0);
    expect(Math.max(...up8)).toBe(255);
    const upF = resizeBicubicPil({ width: 6, height: 1, channels: 1, data: Float32Array.from(step) }, 12, 1).data;
    expect(Math.min(...upF)).toBeLessThan(0); // Keys' a = -0.5 rings
    expect(Math.max(...upF)).toBeGreaterThan(255);
  });
});

describe('imageToTensor', () => {
  it('gives [channels, size, size] normalised CHW', () => {
    const out = imageToTensor(image(4, 4, 3, (x, y, c) => (c === 0 ? 255 : c === 1 ? 0 : x * 10 + y)), rgb);
    expect(out.length).toBe(3 * 16);
    expect(out[0]).toBeCloseTo((1 - 0.5) / 0.5, 6); // R = 255
    expect(out[16]).toBeCloseTo((0 - 0.25) / 0.25, 6); // G = 0
    expect(out[32 + 1 * 4 + 2]).toBeCloseTo((2 * 10 + 1) / 255, 6); // B at x=2, y=1
  });
  it('replicates gray to RGB and drops alpha (PIL convert("RGB"))', () => {
    const g = imageToTensor(image(4, 4, 1, (x) => x * 50), rgb);
    const rgba = imageToTensor(image(4, 4, 4, (x, _y, c) => (c === 3 ? 7 : x * 50)), rgb);
    const same = imageToTensor(image(4, 4, 3, (x) => x * 50), rgb);
    expect(Array.from(g)).toEqual(Array.from(same));
    expect(Array.from(rgba)).toEqual(Array.from(same));
  });
  it("converts RGB to gray with PIL's ITU-R 601-2 luma for depth / thermal", () => {
    const out = imageToTensor(image(4, 4, 3, (_x, _y, c) => [200, 100, 50][c]!), gray);
    // (200*19595 + 100*38470 + 50*7471 + 0x8000) >> 16 = 124
    expect(out[0]! * 255).toBeCloseTo(124, 4);
  });
  it('maps 16-bit data to the 8-bit scale (x / 257) before rescale', () => {
    const data = new Uint16Array(16).fill(65535);
    const out = imageToTensor({ width: 4, height: 4, channels: 1, data, bitDepth: 16 }, gray);
    for (const v of out) expect(v).toBeCloseTo(1, 6);
  });
  it('crops the centre of a long image after resizing', () => {
    // 4 x 8 (tall): no resize (short side 4), crop rows 2..5; row value = y * 10
    const out = imageToTensor(image(4, 8, 1, (_x, y) => y * 10), gray);
    expect(Array.from(out.filter((_, i) => i % 4 === 0), (v) => Math.round(v * 255))).toEqual([20, 30, 40, 50]);
  });
  it('batches images into [N, C, S, S]', () => {
    const a = image(5, 6, 3, (x, y) => x + y);
    const b = image(9, 4, 3, (x) => x * 3);
    const batch = imagesToBatch([a, b], rgb);
    expect(batch.length).toBe(2 * 48);
    expect(Array.from(batch.subarray(48))).toEqual(Array.from(imageToTensor(b, rgb)));
  });
  it('refuses malformed pixels with IMAGE_INVALID_SHAPE', () => {
    expect(codeOf(() => imageToTensor({ width: 4, height: 4, channels: 3, data: new Uint8Array(47) }, rgb))).toBe('IMAGE_INVALID_SHAPE');
    expect(codeOf(() => imageToTensor({ width: 0, height: 4, channels: 3, data: new Uint8Array(0) }, rgb))).toBe('IMAGE_INVALID_SHAPE');
    expect(codeOf(() => imageToTensor({ width: 2, height: 2, channels: 5, data: new Uint8Array(20) }, rgb))).toBe('IMAGE_INVALID_SHAPE');
    expect(codeOf(() => imageToTensor({ width: 2, height: 2, channels: 1, data: new Float32Array(4) as unknown as Uint8Array }, gray))).toBe('IMAGE_INVALID_SHAPE');
  });
  it('refuses a bad preprocess section with INVALID_MANIFEST and names the field', () => {
    const bad = { ...rgb, size: 0 };
    expect(codeOf(() => imageToTensor(image(4, 4, 3, () => 0), bad))).toBe('INVALID_MANIFEST');
    expect(() => imageToTensor(image(4, 4, 3, () => 0), bad)).toThrow('Expected a positive integer for preprocess.size but received 0');
    expect(() => imageToTensor(image(4, 4, 3, () => 0), { ...rgb, std: [1, 0, 1] })).toThrow('preprocess.std');
    expect(() => imageToTensor(image(4, 4, 3, () => 0), { ...rgb, mean: [0.5] })).toThrow('Expected an array of 3 finite numbers for preprocess.mean');
    expect(() => imageToTensor(image(4, 4, 3, () => 0), { ...rgb, resize: 'nearest' } as unknown as ImagePreprocess)).toThrow('preprocess.resize');
    expect(() => imageToTensor(image(4, 4, 3, () => 0), { ...gray, channels: 3 } as unknown as ImagePreprocess)).toThrow('preprocess.channels');
  });
});

describe('imageAsClip (PadIm2Video "repeat")', () => {
  it('repeats each channel plane T times: [C, S, S] -> [C, T, S, S]', () => {
    const chw = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 2 channels of 2x2
    expect(Array.from(imageAsClip(chw, 2, 2))).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8]);
    expect(imageAsClip(chw, 2, 1)).toBe(chw);
    expect(() => imageAsClip(chw, 3, 2)).toThrow('3 equal planes');
    expect(() => imageAsClip(chw, 2, 0)).toThrow('positive whole number');
  });
});
