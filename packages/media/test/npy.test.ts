import { describe, expect, it } from 'vitest';
import { parseNpy, MediaError } from '../src/index.js';

// Bytes written by numpy 1.24: np.save(f, np.array([[1.5, -2], [3, 4]], dtype='<f4'))
function npyBytes(descr: string, shape: string, payload: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(payload, 10 + header.length);
  return out;
}

describe('parseNpy', () => {
  it('reads a float32 matrix', () => {
    const values = new Float32Array([1.5, -2, 3, 4]);
    const a = parseNpy(npyBytes('<f4', '(2, 2)', new Uint8Array(values.buffer)));
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2, 3, 4]);
  });
  it('reads int64 and a 1-d shape', () => {
    const values = new BigInt64Array([49406n, 7n, 49407n]);
    const a = parseNpy(npyBytes('<i8', '(3,)', new Uint8Array(values.buffer)));
    expect(a.shape).toEqual([3]);
    expect(Array.from(a.data as BigInt64Array)).toEqual([49406n, 7n, 49407n]);
  });
  it('reads from a Node Buffer view into a larger pool (readFileSync, Buffer.from)', () => {
    const values = new Float32Array([0.25, 7, -1]);
    const file = npyBytes('<f4', '(3,)', new Uint8Array(values.buffer));
    const pool = Buffer.alloc(file.length + 100, 0xff);
    pool.set(file, 37);
    const view = pool.subarray(37, 37 + file.length);
    expect(Array.from(parseNpy(view).data as Float32Array)).toEqual([0.25, 7, -1]);
  });
  it('refuses truncated data with a stable code', () => {
    const bytes = npyBytes('<f4', '(2, 2)', new Uint8Array(8));
    expect(() => parseNpy(bytes)).toThrowError(MediaError);
    try { parseNpy(bytes); } catch (e) { expect((e as MediaError).code).toBe('NPY_TRUNCATED'); }
  });
  it('refuses a file that is not npy', () => {
    expect(() => parseNpy(new TextEncoder().encode('hello world, not numpy'))).toThrow(/NUMPY/);
  });
});
