import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageUrl, resultPath, type GeneratedImage, type ImageFormat, type ImageLink } from '@a2i/protocol';
import { crc32 } from 'node:zlib';

function raw(rgb: Uint8Array, width: number, height: number) {
  if (rgb.length !== width * height * 3) {
    throw new TypeError(`Expected ${width * height * 3} bytes of RGB for a ${width}x${height} image but received ${rgb.length}`);
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Encodes one RGB image ([h, w, 3] uint8) to the requested format with sharp. */
export function encodeImage(rgb: Uint8Array, width: number, height: number, format: ImageFormat): Promise<Buffer> {
  const image = raw(rgb, width, height);
  switch (format) {
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ quality: 90 }).toBuffer();
    case 'jpeg':
      return image.jpeg({ quality: 90 }).toBuffer();
  }
}

/** A small, quick preview (WebP) of an in-progress image. */
export function encodePreview(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return raw(rgb, width, height).webp({ quality: 60, effort: 0 }).toBuffer();
}

/** The text chunks a PNG result carries (how it was made), given the image and its seed. */
export type DescribeImage = (image: { seed: number; width: number; height: number }, index: number) => PngText[];

/**
 * Writes a job's images as `<resultsDir>/<jobId>/<index>.<ext>`, each through a temporary
 * name and a rename, so the api never serves a half-written file. A PNG gets the text chunks
 * `describe` gives (png-text.ts); WebP and JPEG get none.
 */
export async function writeResults(resultsDir: string, jobId: string, images: GeneratedImage[], format: ImageFormat, describe?: DescribeImage): Promise<ImageLink[]> {
  const dir = join(resultsDir, jobId);
  await mkdir(dir, { recursive: true });
  return Promise.all(
    images.map(async (image, index) => {
      const encoded = await encodeImage(image.rgb, image.width, image.height, format);
      const bytes = format === 'png' && describe ? withPngText(encoded, describe(image, index)) : encoded;
      const path = resultPath(resultsDir, jobId, index, format);
      await writeFile(`${path}.part`, bytes);
      await rename(`${path}.part`, path);
      return { index, url: imageUrl(jobId, index), width: image.width, height: image.height, seed: image.seed, format, bytes: bytes.length };
    }),
  );
}

// ---------------------------------------------------------------- text chunks of a PNG (its parameters)

/**
 * PNG text chunks (PNG specification, 3rd edition, 11.3.3: tEXt and iTXt), written into bytes
 * sharp has encoded: sharp has no option to write them (its withMetadata covers EXIF, ICC and
 * XMP only), though it reads them back (metadata().comments).
 */
export interface PngText {
  /** 1-79 Latin-1 characters, no leading, trailing or double spaces. */
  keyword: string;
  text: string;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  typeAndData.copy(out, 4);
  out.writeUInt32BE(crc32(typeAndData), 8 + data.length);
  return out;
}

const isAscii = (text: string) => /^[\u0001-\u007f]*$/.test(text);

/**
 * tEXt when the text is ASCII, else an uncompressed UTF-8 iTXt. tEXt is Latin-1 by the spec, but
 * readers differ (libvips, so sharp, reads it as UTF-8), and ASCII reads the same in both.
 */
export function textChunk({ keyword, text }: PngText): Buffer {
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword) || /^ | $| {2}/.test(keyword)) {
    throw new TypeError(`Expected a PNG text keyword of 1-79 Latin-1 characters but received ${JSON.stringify(keyword)}`);
  }
  const name = Buffer.from(keyword, 'latin1');
  if (isAscii(text)) return chunk('tEXt', Buffer.concat([name, Buffer.from([0]), Buffer.from(text, 'latin1')]));
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, UTF-8 text
  return chunk('iTXt', Buffer.concat([name, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

/** The PNG with the text chunks inserted right after IHDR (before the image data). */
export function withPngText(png: Buffer, texts: readonly PngText[]): Buffer {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new TypeError('Expected PNG bytes starting with the signature and IHDR');
  }
  if (texts.length === 0) return png;
  const afterHeader = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterHeader), ...texts.map(textChunk), png.subarray(afterHeader)]);
}

/** The PNG's tEXt and iTXt chunks (uncompressed ones), in order: for tests and tools. */
export function readPngText(png: Buffer): PngText[] {
  const texts: PngText[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) texts.push({ keyword: data.toString('latin1', 0, nul), text: data.toString('latin1', nul + 1) });
    if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const language = data.indexOf(0, nul + 3);
      const translated = data.indexOf(0, language + 1);
      texts.push({ keyword: data.toString('latin1', 0, nul), text: data.toString('utf8', translated + 1) });
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return texts;
}
