import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/index.js';
import { errorCode, ffmpegEncode } from './helpers/ffmpeg-fixtures.js';
import { dropPngChunks, hasPngChunk, pngChunk, PNG_SIGNATURE } from './helpers/png-chunks.js';
import { concat } from './helpers/wav-writer.js';

// An 8 x 6 RGB test card: each pixel a different colour.
const W = 8;
const H = 6;
const card = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + Math.floor(i / 3) * 11) % 256);
const raw = { raw: { width: W, height: H, channels: 3 as const } };

const meanAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

describe('decodeImage: formats', () => {
  it('PNG, lossless WebP and TIFF decode to the exact pixels, [H, W, 3] RGB', async () => {
    for (const [format, bytes] of [
      ['png', await sharp(card, raw).png().toBuffer()],
      ['webp', await sharp(card, raw).webp({ lossless: true }).toBuffer()],
      ['tiff', await sharp(card, raw).tiff({ compression: 'lzw' }).toBuffer()], // sharp's default TIFF compression is JPEG,
    ] as const) {
      const image = await decodeImage(new Uint8Array(bytes));
      expect([format, image.format, image.width, image.height, image.channels, image.bitDepth]).toEqual([format, format, W, H, 3, 8]);
      expect(image.data).toEqual(card);
    }
  });

  // Lossy: mean absolute difference under 12 levels of 255 on this busy 8 x 6 card at quality 95.
  it('JPEG and AVIF decode close to the source', async () => {
    for (const [format, bytes] of [
      ['jpeg', await sharp(card, raw).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer()],
      ['avif', await sharp(card, raw).avif({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer()],
    ] as const) {
      const image = await decodeImage(new Uint8Array(bytes));
      expect([image.format, image.width, image.height, image.channels]).toEqual([format, W, H, 3]);
      expect(meanAbsDiff(image.data, card)).toBeLessThan(12);
    }
  });

  it('an animated GIF gives its first frame', async () => {
    const gif = await ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=red:s=8x6:r=2:d=0.5', '-f', 'lavfi', '-i', 'color=c=blue:s=8x6:r=2:d=0.5',
      '-filter_complex', '[0:v][1:v]concat=n=2:v=1', '{out}'], 'a.gif');
    expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(2);
    const image = await decodeImage(gif);
    expect([image.format, image.width, image.height]).toEqual(['gif', 8, 6]);
    const [r, g, b] = image.data;
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(40);
  });
});

describe('decodeImage: what Pillow convert("RGB") does, and orientation', () => {
  it('drops alpha without compositing (values printed by Pillow 9.4: [[200,100,50],[0,0,0]])', async () => {
    const rgba = await sharp(new Uint8Array([200, 100, 50, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    const image = await decodeImage(new Uint8Array(rgba));
    expect(Array.from(image.data)).toEqual([200, 100, 50, 0, 0, 0]);
  });

  it('applies the EXIF orientation (6: rotate 90 degrees clockwise)', async () => {
    // 8 x 4: left half red, right half blue. Rotated clockwise: 4 x 8, top red, bottom blue.
    const px = Uint8Array.from({ length: 8 * 4 * 3 }, (_, i) => { const x = Math.floor(i / 3) % 8; const c = i % 3; return x < 4 ? (c === 0 ? 255 : 0) : (c === 2 ? 255 : 0); });
    const jpeg = await sharp(px, { raw: { width: 8, height: 4, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const image = await decodeImage(new Uint8Array(jpeg));
    expect([image.width, image.height]).toEqual([4, 8]);
    const pixel = (x: number, y: number): number[] => Array.from(image.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(pixel(1, 1)[0]).toBeGreaterThan(200);
    expect(pixel(1, 6)[2]).toBeGreaterThan(200);
  });

  it('ignores an embedded ICC profile, as Pillow does', async () => {
    const withP3 = new Uint8Array(await sharp(card, raw).withIccProfile('p3').png().toBuffer());
    expect(hasPngChunk(withP3, 'iCCP')).toBe(true);
    const stored = await decodeImage(dropPngChunks(withP3, 'iCCP')); // the same pixels, no profile
    const decoded = await decodeImage(withP3);
    expect(decoded.data).toEqual(stored.data);
    // sharp's default would have converted them to sRGB: the profile does change values here.
    const managed = await sharp(withP3).removeAlpha().raw().toBuffer();
    expect(new Uint8Array(managed)).not.toEqual(stored.data);
  });
});

describe('decodeImage: grayscale mode (depth, thermal)', () => {
  it('keeps a 16-bit grayscale PNG at 16 bits, values unchanged', async () => {
    const values = new Uint16Array([0, 1000, 65535, 300, 7, 40000]);
    const png = await sharp(values, { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    const image = await decodeImage(new Uint8Array(png), { mode: 'grayscale' });
    expect([image.width, image.height, image.channels, image.bitDepth]).toEqual([3, 2, 1, 16]);
    expect(image.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(image.data)).toEqual(Array.from(values));
  });

  it('keeps 16 bits when the grayscale PNG has alpha', async () => {
    const png = await sharp(new Uint16Array([123, 65535, 4567, 0]), { raw: { width: 2, height: 1, channels: 2 } }).toColourspace('grey16').png().toBuffer();
    const image = await decodeImage(new Uint8Array(png), { mode: 'grayscale' });
    expect([image.channels, image.bitDepth, Array.from(image.data)]).toEqual([1, 16, [123, 4567]]);
  });

  it('keeps an 8-bit grayscale PNG as it is', async () => {
    const values = new Uint8Array([0, 17, 128, 255, 3, 99]);
    const png = await sharp(values, { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const image = await decodeImage(new Uint8Array(png), { mode: 'grayscale' });
    expect([image.channels, image.bitDepth, Array.from(image.data)]).toEqual([1, 8, Array.from(values)]);
  });

  it('turns colour into Pillow convert("L") values (printed by Pillow 9.4)', async () => {
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30, 128, 128, 128, 1, 2, 3]);
    const png = await sharp(rgb, { raw: { width: 6, height: 1, channels: 3 } }).png().toBuffer();
    const image = await decodeImage(new Uint8Array(png), { mode: 'grayscale' });
    expect(Array.from(image.data)).toEqual([76, 150, 29, 124, 128, 2]);
  });

  it('a grayscale image in rgb mode has its value in all three channels', async () => {
    const png = await sharp(new Uint8Array([9, 200]), { raw: { width: 2, height: 1, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect(Array.from((await decodeImage(new Uint8Array(png))).data)).toEqual([9, 9, 9, 200, 200, 200]);
  });
});

/** A PNG whose IHDR says width x height (8-bit grey) with one small IDAT: a decompression bomb's header. */
function bombPng(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const idat = deflateSync(new Uint8Array((width + 1) * 4)); // 4 rows of zeros
  return concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

describe('decodeImage: refusals', () => {
  it('refuses a 50,000 x 50,000 PNG from its header without allocating its pixels', async () => {
    const bomb = bombPng(50_000, 50_000);
    expect(bomb.length).toBeLessThan(1024);
    const before = process.memoryUsage().rss;
    await expect(decodeImage(bomb)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringMatching(/50000 x 50000/) });
    // The 2.5 GB of grey pixels were never allocated.
    expect(process.memoryUsage().rss - before).toBeLessThan(500 * 1024 * 1024);
  });

  it('honours a configured pixel limit', async () => {
    const png = new Uint8Array(await sharp(card, raw).png().toBuffer());
    expect(await errorCode(() => decodeImage(png, { limits: { maxPixels: 47 } }))).toBe('IMAGE_TOO_LARGE');
    expect((await decodeImage(png, { limits: { maxPixels: 48 } })).width).toBe(8);
  });

  it('refuses truncated and corrupt files with IMAGE_INVALID', async () => {
    const big = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251);
    const png = new Uint8Array(await sharp(big, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer());
    const jpeg = new Uint8Array(await sharp(big, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer());
    expect(await errorCode(() => decodeImage(png.subarray(0, png.length >> 1)))).toBe('IMAGE_INVALID');
    expect(await errorCode(() => decodeImage(jpeg.subarray(0, jpeg.length >> 1)))).toBe('IMAGE_INVALID');
    expect(await errorCode(() => decodeImage(png.subarray(0, 30)))).toBe('IMAGE_INVALID');
    const flipped = png.slice();
    flipped[Math.floor(png.length * 0.6)]! ^= 0xff; // inside IDAT: CRC and zlib stream broken
    expect(await errorCode(() => decodeImage(flipped))).toBe('IMAGE_INVALID');
  });

  it('refuses empty files, text, SVG and non-image formats by their bytes', async () => {
    expect(await errorCode(() => decodeImage(new Uint8Array(0)))).toBe('MEDIA_EMPTY');
    expect(await errorCode(() => decodeImage(new TextEncoder().encode('just a text file named photo.png')))).toBe('MEDIA_UNSUPPORTED_FORMAT');
    expect(await errorCode(() => decodeImage(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')))).toBe('MEDIA_UNSUPPORTED_FORMAT');
    expect(await errorCode(() => decodeImage(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])))).toBe('MEDIA_UNSUPPORTED_FORMAT'); // gzip
  });

  it('refuses bad options with a message naming them', async () => {
    const png = new Uint8Array(await sharp(card, raw).png().toBuffer());
    await expect(decodeImage(png, { mode: 'cmyk' as 'rgb' })).rejects.toThrow("Expected 'rgb' or 'grayscale' for mode but received cmyk");
    await expect(decodeImage(png, { limits: { maxPixels: -1 } })).rejects.toThrow('Expected a positive number for limits.maxPixels but received -1');
  });
});
