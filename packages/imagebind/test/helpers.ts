import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNpy, type NpyArray } from '@a2i/media';
import sharp from 'sharp';
import { expect } from 'vitest';
import { ImageBindError, type ImagePixels } from '../src/index.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEMO_REFERENCE = join(REPO, 'models', 'demo', 'reference');
export const CACHE_REFERENCE = join(REPO, '.cache', 'reference');
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A .npy file (copied into a plain Uint8Array: parseNpy reads `bytes.buffer`). */
export function loadNpy(path: string): NpyArray {
  return parseNpy(new Uint8Array(readFileSync(path)));
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export const exists = (path: string) => existsSync(path);

/** PNG -> pixels, 8-bit as stored (gray stays 1 channel) or 16-bit gray. */
export async function decodePng(path: string, bitDepth: 8 | 16): Promise<ImagePixels> {
  const meta = await sharp(path).metadata();
  const gray = meta.channels === 1;
  const pipeline = gray ? sharp(path).toColourspace(bitDepth === 16 ? 'grey16' : 'b-w') : sharp(path);
  const { data, info } = await pipeline.raw({ depth: bitDepth === 16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  const pixels = bitDepth === 16 ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) : new Uint8Array(data);
  return { width: info.width, height: info.height, channels: info.channels, data: pixels, bitDepth };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** The stable code of the ImageBindError that `fn` throws (undefined when it throws nothing). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageBindError);
    return (e as ImageBindError).code;
  }
  return undefined;
}
