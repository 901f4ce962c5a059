import { describe, expect, it } from 'vitest';
import { parseImuCsv, parseImuNpy, IMU_CHANNELS } from '../src/index.js';
import { errorCode } from './helpers/ffmpeg-fixtures.js';

function npy(descr: string, shape: number[], payload: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + payload.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), 10 + header.length);
  return out;
}

describe('parseImuCsv', () => {
  it('reads one row per sample with a header row', () => {
    const imu = parseImuCsv('acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\r\n0.1,0.2,-0.98,1.5,-2,3e1\r\n0.11,0.21,-0.97,1.4,-2.1,31\r\n');
    expect(imu.length).toBe(2);
    expect(imu.channels).toHaveLength(IMU_CHANNELS);
    expect(Array.from(imu.channels[2]!)).toEqual([Math.fround(-0.98), Math.fround(-0.97)]);
    expect(Array.from(imu.channels[5]!)).toEqual([30, 31]);
  });

  it('reads rows without a header, tab or semicolon separated, with a BOM', () => {
    expect(Array.from(parseImuCsv('1\t2\t3\t4\t5\t6\n7\t8\t9\t10\t11\t12').channels[0]!)).toEqual([1, 7]);
    expect(Array.from(parseImuCsv('\ufeff1;2;3;4;5;6\n').channels[5]!)).toEqual([6]);
    expect(parseImuCsv(new TextEncoder().encode('1,2,3,4,5,6\n')).length).toBe(1);
  });

  it('reads 6 rows of channels when there are not 6 columns', () => {
    const text = Array.from({ length: 6 }, (_, c) => Array.from({ length: 4 }, (_, i) => c * 10 + i).join(',')).join('\n');
    const imu = parseImuCsv(text);
    expect(imu.length).toBe(4);
    expect(Array.from(imu.channels[3]!)).toEqual([30, 31, 32, 33]);
  });

  it('refuses NaN and infinities, naming the cell', () => {
    expect(() => parseImuCsv('1,2,3,4,5,6\n1,2,NaN,4,5,6')).toThrow(/NaN at row 2, column 3/);
    expect(() => parseImuCsv('a,b,c,d,e,f\n1,2,3,4,5,-inf')).toThrow(/-inf at row 2, column 6/);
    for (const text of ['1,2,3,4,5,Infinity', '1,2,3,4,5,1e39']) {
      expect(() => parseImuCsv(text)).toThrowError(expect.objectContaining({ code: 'NON_FINITE_VALUE' }));
    }
  });

  it('refuses other shapes, ragged rows, empty cells, words and empty files', async () => {
    expect(await errorCode(() => parseImuCsv('1,2,3\n4,5,6'))).toBe('IMU_INVALID_SHAPE');
    expect(await errorCode(() => parseImuCsv('1,2,3,4,5,6\n1,2,3,4,5'))).toBe('IMU_INVALID_SHAPE');
    expect(await errorCode(() => parseImuCsv('1,2,3,4,,6'))).toBe('IMU_INVALID');
    expect(await errorCode(() => parseImuCsv('1,2,3,4,5,6\n1,2,x,4,5,6'))).toBe('IMU_INVALID');
    expect(await errorCode(() => parseImuCsv('h1,h2,h3,h4,h5,h6\n'))).toBe('IMU_INVALID');
    expect(await errorCode(() => parseImuCsv(''))).toBe('MEDIA_EMPTY');
    expect(await errorCode(() => parseImuCsv(new Uint8Array([0xff, 0xfe, 0x31])))).toBe('IMU_INVALID');
  });

  it('refuses recordings over the sample limit', async () => {
    const rows = Array.from({ length: 11 }, () => '0,0,1,0,0,0').join('\n');
    expect(await errorCode(() => parseImuCsv(rows, { limits: { maxSamples: 10 } }))).toBe('IMU_TOO_LONG');
  });
});

describe('parseImuNpy', () => {
  it('reads a (6, N) float32 array, one channel per row', () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i / 2);
    const imu = parseImuNpy(npy('<f4', [6, 2], values));
    expect(imu.length).toBe(2);
    expect(Array.from(imu.channels[1]!)).toEqual([1, 1.5]);
  });

  it('converts float64 and refuses NaN / Inf anywhere', () => {
    expect(Array.from(parseImuNpy(npy('<f8', [6, 1], new Float64Array([1, 2, 3, 4, 5, 6]))).channels[4]!)).toEqual([5]);
    const bad = new Float64Array([1, 2, 3, 4, Infinity, 6]);
    expect(() => parseImuNpy(npy('<f8', [6, 1], bad))).toThrowError(expect.objectContaining({ code: 'NON_FINITE_VALUE', message: expect.stringMatching(/IMU channel 4 holds Infinity/) }));
  });

  it('refuses other shapes', async () => {
    expect(await errorCode(() => parseImuNpy(npy('<f4', [2, 6], new Float32Array(12))))).toBe('IMU_INVALID_SHAPE');
    expect(await errorCode(() => parseImuNpy(npy('<f4', [12], new Float32Array(12))))).toBe('IMU_INVALID_SHAPE');
    expect(await errorCode(() => parseImuNpy(npy('<f4', [6, 0], new Float32Array(0))))).toBe('IMU_INVALID_SHAPE');
  });
});
