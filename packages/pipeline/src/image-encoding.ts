import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageUrl, resultPath, type GeneratedImage, type ImageFormat, type ImageLink } from '@a2i/protocol';

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

/**
 * Writes a job's images as `<resultsDir>/<jobId>/<index>.<ext>`, each through a temporary
 * name and a rename, so the api never serves a half-written file.
 */
export async function writeResults(resultsDir: string, jobId: string, images: GeneratedImage[], format: ImageFormat): Promise<ImageLink[]> {
  const dir = join(resultsDir, jobId);
  await mkdir(dir, { recursive: true });
  return Promise.all(
    images.map(async (image, index) => {
      const bytes = await encodeImage(image.rgb, image.width, image.height, format);
      const path = resultPath(resultsDir, jobId, index, format);
      await writeFile(`${path}.part`, bytes);
      await rename(`${path}.part`, path);
      return { index, url: imageUrl(jobId, index), width: image.width, height: image.height, seed: image.seed, format, bytes: bytes.length };
    }),
  );
}
