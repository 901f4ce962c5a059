import { crc32 } from 'node:zlib';
import { concat } from './wav-writer.js';

/** PNG chunk surgery for the tests (PNG spec section 5.3: length, type, data, CRC-32 of type + data). */
export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typeBytes = new TextEncoder().encode(type);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(typeBytes, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(concat([typeBytes, data])));
  return out;
}

/** The PNG without its chunks of the given type (e.g. 'iCCP'). */
export function dropPngChunks(png: Uint8Array, type: string): Uint8Array {
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let offset = 8; offset + 12 <= png.length;) {
    const length = view.getUint32(offset);
    const chunkType = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    if (chunkType !== type) parts.push(png.subarray(offset, offset + 12 + length));
    offset += 12 + length;
  }
  return concat(parts);
}

export function hasPngChunk(png: Uint8Array, type: string): boolean {
  return dropPngChunks(png, type).length !== png.length;
}
