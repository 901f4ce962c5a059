import { describe, expect, it } from 'vitest';
import { ImageBindError, imuToTensor, resampleLinear, type ImuPreprocess } from '../src/index.js';
import { codeOf } from './helpers.js';

const pre: ImuPreprocess = { type: 'imu', channels: 2, length: 4, sampleRate: 200 };

// The shape @a2i/media's parseImuCsv returns: one Float32Array per channel.
function signal(length: number, channels = 2, f = (c: number, t: number) => c * 100 + t) {
  return { channels: Array.from({ length: channels }, (_, c) => Float32Array.from({ length }, (_, t) => f(c, t))), length };
}

describe('imuToTensor', () => {
  it('passes an exact-length recording through as [channels, length]', () => {
    expect(Array.from(imuToTensor(signal(4), pre))).toEqual([0, 1, 2, 3, 100, 101, 102, 103]);
  });
  it('keeps the centre window of a longer recording', () => {
    // 9 samples, length 4: start floor(5 / 2) = 2
    expect(Array.from(imuToTensor(signal(9), pre))).toEqual([2, 3, 4, 5, 102, 103, 104, 105]);
  });
  it('zero-pads a shorter recording after its end', () => {
    expect(Array.from(imuToTensor(signal(3), pre))).toEqual([0, 1, 2, 0, 100, 101, 102, 0]);
  });
  it('resamples linearly when the recording has another rate', () => {
    // 100 Hz -> 200 Hz: samples at t = 0, 0.5, 1, 1.5 (input steps)
    const out = imuToTensor({ ...signal(3, 2, (c, t) => c * 10 + t * 2), sampleRate: 100 }, pre);
    expect(Array.from(out)).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
    expect(Array.from(imuToTensor({ ...signal(4), sampleRate: 200 }, pre))).toEqual(Array.from(imuToTensor(signal(4), pre)));
  });
  it('resampleLinear keeps the time grid k / toRate and ends at the last input sample', () => {
    const r = resampleLinear([0, 10, 20, 30], 1, 4, 3, 2); // 3 Hz -> 2 Hz: t = 0, 0.5 s, 1.0 s
    expect(r.samples).toBe(3);
    expect(Array.from(r.data)).toEqual([0, 15, 30]);
  });
  it('refuses a wrong channel count with IMU_INVALID_SHAPE', () => {
    expect(codeOf(() => imuToTensor(signal(4, 3), pre))).toBe('IMU_INVALID_SHAPE');
    expect(() => imuToTensor(signal(4, 3), pre)).toThrow('Expected 2 IMU channels');
    expect(codeOf(() => imuToTensor({ channels: [new Float32Array(4), new Float32Array(3)], length: 4 }, pre))).toBe('IMU_INVALID_SHAPE');
    expect(codeOf(() => imuToTensor({ channels: [new Float32Array(0), new Float32Array(0)], length: 0 }, pre))).toBe('IMU_INVALID_SHAPE');
    expect(codeOf(() => imuToTensor({ ...signal(4), sampleRate: -5 }, pre))).toBe('INVALID_OPTION');
  });
  it('refuses NaN and infinity with NON_FINITE_VALUE', () => {
    const nan = signal(4);
    nan.channels[1]![1] = Number.NaN;
    expect(codeOf(() => imuToTensor(nan, pre))).toBe('NON_FINITE_VALUE');
    const inf = signal(4);
    inf.channels[0]![0] = Number.POSITIVE_INFINITY;
    expect(codeOf(() => imuToTensor(inf, pre))).toBe('NON_FINITE_VALUE');
    const huge = { channels: [[1e39, 0, 0, 0], [0, 0, 0, 0]], length: 4 }; // beyond float32
    expect(codeOf(() => imuToTensor(huge, pre))).toBe('NON_FINITE_VALUE');
  });
  it('refuses a bad preprocess section with INVALID_MANIFEST', () => {
    expect(codeOf(() => imuToTensor(signal(4), { ...pre, length: 2.5 }))).toBe('INVALID_MANIFEST');
    expect(() => imuToTensor(signal(4), { ...pre, sampleRate: 0 })).toThrow('Expected a positive finite number for preprocess.sampleRate but received 0');
  });
});
