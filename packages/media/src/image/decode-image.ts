import sharp, { type Metadata, type Sharp } from 'sharp';
import { assertByteSize, DEFAULT_IMAGE_LIMITS, resolveLimits, type ImageLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { describeSniffed, sniffMediaType, type SniffResult } from '../sniff.js';
import { pilLuma } from './pil-luma.js';

export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** [height, width, channels], rows packed. Uint16Array only for 16-bit grayscale. */
  data: Uint8Array | Uint16Array;
  bitDepth: 8 | 16;
  /** Sniffed format: png, jpeg, webp, gif, tiff, avif. */
  format: string;
}

export interface DecodeImageOptions {
  /**
   * 'rgb' (default): 3 channels, 8 bits, for photos (vision).
   * 'grayscale': 1 channel, for depth and thermal maps; 16-bit PNG/TIFF stay 16-bit.
   */
  mode?: 'rgb' | 'grayscale';
  limits?: Partial<ImageLimits>;
}

// apng: an animated PNG (its first frame is decoded).
const SUPPORTED = new Set(['png', 'apng', 'jpeg', 'webp', 'gif', 'tiff', 'avif']);

/**
 * Decodes an image through sharp (libvips), matching what ImageBind's loader gets from Pillow's
 * `Image.open(path).convert("RGB")` where it can:
 * - the size is read from the header and checked against `maxPixels` before any pixel is
 *   decoded (decompression bombs are refused with IMAGE_TOO_LARGE);
 * - EXIF orientation IS applied (the picture as a person sees it; Pillow's open does not do this);
 * - alpha is dropped, not composited, as convert("RGB") does: transparent pixels keep their colour;
 * - embedded ICC profiles are ignored, as Pillow ignores them (ImageBind's training data too);
 * - 16-bit colour becomes 8-bit by its high byte (Pillow's "RGB;16B" unpacker does the same);
 * - the first frame of an animated GIF/WebP, the first page of a TIFF;
 * - grayscale from colour uses Pillow's convert("L") weights (see pil-luma.ts).
 * Truncated or corrupt files are refused (IMAGE_INVALID): libvips' `failOn: 'warning'`.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  const limits = resolveLimits(DEFAULT_IMAGE_LIMITS, options.limits, 'limits');
  const mode = options.mode ?? 'rgb';
  if (mode !== 'rgb' && mode !== 'grayscale') throw new TypeError(`Expected 'rgb' or 'grayscale' for mode but received ${String(mode)}`);
  assertByteSize(bytes, limits.maxBytes, 'image');
  const sniffed = await sniffMediaType(bytes);
  assertSupportedImage(sniffed);
  const metadata = await readImageHeader(bytes);
  checkImageSize(metadata.width, metadata.height, limits.maxPixels);
  const open = (): Sharp => sharp(bytes, {
    limitInputPixels: limits.maxPixels, failOn: 'warning', autoOrient: true, ignoreIcc: true, page: 0, pages: 1,
  }).removeAlpha();
  try {
    if (mode === 'grayscale' && metadata.depth === 'ushort') {
      // libvips' grey16 keeps single-channel 16-bit samples as they are (colour: its luminance).
      const { data, info } = await open().toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, channels: 1, bitDepth: 16, format: sniffed.format, data: new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) };
    }
    const isGrey = metadata.channels - (metadata.hasAlpha ? 1 : 0) === 1;
    if (mode === 'grayscale' && isGrey) {
      const { data, info } = await open().toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, channels: 1, bitDepth: 8, format: sniffed.format, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    }
    const { data, info } = await open().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new MediaError('IMAGE_INVALID', `Expected 3 colour channels after decoding but found ${info.channels}`);
    const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (mode === 'grayscale') {
      return { width: info.width, height: info.height, channels: 1, bitDepth: 8, format: sniffed.format, data: pilLuma(rgb, info.width * info.height) };
    }
    return { width: info.width, height: info.height, channels: 3, bitDepth: 8, format: sniffed.format, data: rgb };
  } catch (error) {
    throw asImageError(error);
  }
}

/** The formats decodeImage takes; anything else is MEDIA_UNSUPPORTED_FORMAT. */
export function assertSupportedImage(sniffed: SniffResult): void {
  if (sniffed.kind !== 'image' || !SUPPORTED.has(sniffed.format)) {
    throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Expected a PNG, JPEG, WebP, GIF, TIFF or AVIF image but received ${describeSniffed(sniffed)}`);
  }
}

export function checkImageSize(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new MediaError('IMAGE_TOO_LARGE', `The image is ${width} x ${height} pixels, over the limit of ${maxPixels} pixels`);
  }
}

/** Header only: no pixel is decoded, so no pixel limit is applied here (it is checked by the caller). */
export async function readImageHeader(bytes: Uint8Array): Promise<Metadata> {
  try {
    const metadata = await sharp(bytes, { limitInputPixels: false, failOn: 'warning' }).metadata();
    if (!metadata.width || !metadata.height) throw new MediaError('IMAGE_INVALID', 'The image header gives no size');
    return metadata;
  } catch (error) {
    throw asImageError(error);
  }
}

function asImageError(error: unknown): MediaError {
  if (error instanceof MediaError) return error;
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return new MediaError('IMAGE_INVALID', `The image cannot be decoded (truncated or corrupt): ${detail}`);
}
