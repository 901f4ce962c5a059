import { MediaError } from './media-error.js';

/** Element types of the .npy files this project reads (numpy's `descr` strings). */
export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'uint16' | 'int16';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Elements in C (row-major) order. int64 is returned as BigInt64Array. */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array | Int16Array;
}

// numpy format spec (numpy/lib/format.py): magic "\x93NUMPY", major, minor, header length
// (uint16 LE for v1, uint32 LE for v2/v3), then a Python dict literal header.
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

const DESCR: Record<string, { dtype: NpyDtype; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '<i8': { dtype: 'int64', size: 8 },
  '<i4': { dtype: 'int32', size: 4 },
  '<i2': { dtype: 'int16', size: 2 },
  '|u1': { dtype: 'uint8', size: 1 },
  '<u2': { dtype: 'uint16', size: 2 },
};

/** What a .npy header says: element type, shape, where the data starts and how long it is. */
export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  dataStart: number;
  /** Bytes of data the shape and dtype call for. */
  byteLength: number;
}

/**
 * Reads and checks a .npy header (format versions 1-3, little-endian, C order). `fileSize`: the
 * whole file's size when `bytes` is only its beginning (upload inspection); data shorter than
 * the shape calls for is NPY_TRUNCATED.
 */
export function parseNpyHeader(bytes: Uint8Array, maxElements = 64 * 1024 * 1024, fileSize = bytes.length): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new MediaError('NPY_INVALID', 'Expected a .npy file (magic "\\x93NUMPY") but received something else');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) throw new MediaError('NPY_TRUNCATED', '.npy header is truncated');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new MediaError('NPY_INVALID', `.npy header is malformed: ${header.trim()}`);
  }
  const kind = DESCR[descr];
  if (!kind) throw new MediaError('NPY_UNSUPPORTED_DTYPE', `Expected a .npy dtype of ${Object.keys(DESCR).join(', ')} but received ${descr}`);
  if (fortran === 'True') throw new MediaError('NPY_UNSUPPORTED_ORDER', 'Expected a C-order .npy array but received Fortran order');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new MediaError('NPY_INVALID', `.npy shape is malformed: (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > maxElements) throw new MediaError('NPY_TOO_LARGE', `.npy array has ${count} elements, over the limit of ${maxElements}`);
  const dataStart = headerStart + headerLen;
  const byteLength = count * kind.size;
  if (dataStart + byteLength > fileSize) {
    throw new MediaError('NPY_TRUNCATED', `.npy data is truncated: expected ${byteLength} bytes, found ${fileSize - dataStart}`);
  }
  return { dtype: kind.dtype, shape, dataStart, byteLength };
}

/** Parses a .npy file (format versions 1-3, little-endian, C order). */
export function parseNpy(bytes: Uint8Array, maxElements = 64 * 1024 * 1024): NpyArray {
  const { dtype, shape, dataStart, byteLength } = parseNpyHeader(bytes, maxElements);
  // Copy so the result is aligned and owns its memory. Uint8Array's slice, not the
  // argument's own: a Node Buffer's slice is a view into a shared pool.
  const raw = Uint8Array.prototype.slice.call(bytes, dataStart, dataStart + byteLength).buffer;
  const data = (() => {
    switch (dtype) {
      case 'float32': return new Float32Array(raw);
      case 'float64': return new Float64Array(raw);
      case 'int64': return new BigInt64Array(raw);
      case 'int32': return new Int32Array(raw);
      case 'int16': return new Int16Array(raw);
      case 'uint8': return new Uint8Array(raw);
      case 'uint16': return new Uint16Array(raw);
    }
  })();
  return { dtype, shape, data };
}

/** Converts any numeric npy array to float32 (int64 through Number). */
export function npyToFloat32(array: NpyArray): Float32Array {
  if (array.data instanceof Float32Array) return array.data;
  if (array.data instanceof BigInt64Array) return Float32Array.from(array.data, (v) => Number(v));
  return Float32Array.from(array.data as ArrayLike<number>);
}
