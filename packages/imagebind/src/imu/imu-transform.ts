import { ImageBindError, imagebindGuards } from '../imagebind-error.js';
import { parseImuPreprocess, type ImuPreprocess } from '../preprocess-config.js';

const { expectFiniteValues, expectPositiveNumber } = imagebindGuards;

/**
 * An IMU recording, one array per channel (accelerometer xyz, gyroscope xyz for ImageBind):
 * the shape @a2i/media's parseImuCsv / parseImuNpy return.
 */
export interface ImuSignal {
  /** [channels][length] */
  channels: ReadonlyArray<ArrayLike<number>>;
  length: number;
  /** Samples per second; when absent the recording is taken to be at the pack's rate. */
  sampleRate?: number;
}

/**
 * Linear-interpolation resampling of each channel from `fromRate` to `toRate`, on the
 * time grid t_k = k / toRate (k = 0 .. floor((samples - 1) * toRate / fromRate)), held at the
 * last sample. IMU signals are band-limited far below ImageBind's 200 Hz, so linear
 * interpolation loses little; there is no upstream IMU loader to match.
 *
 * @param data [channels, samples]
 * @returns [channels, resampled]
 */
export function resampleLinear(data: ArrayLike<number>, channels: number, samples: number, fromRate: number, toRate: number): { data: Float32Array; samples: number } {
  const outSamples = Math.floor(((samples - 1) * toRate) / fromRate) + 1;
  const out = new Float32Array(channels * outSamples);
  const step = fromRate / toRate;
  for (let k = 0; k < outSamples; k++) {
    const pos = k * step;
    const i = Math.min(Math.floor(pos), samples - 1);
    const frac = i + 1 < samples ? pos - i : 0;
    for (let c = 0; c < channels; c++) {
      const a = data[c * samples + i]!;
      const b = frac > 0 ? data[c * samples + i + 1]! : a;
      out[c * outSamples + k] = a + (b - a) * frac;
    }
  }
  return { data: out, samples: outSamples };
}

/**
 * Fits an IMU recording to the encoder's input [channels, length] at the pack's rate:
 *
 * 1. refuses a wrong channel count (IMU_INVALID_SHAPE) and NaN / infinity (NON_FINITE_VALUE);
 * 2. resamples linearly when `signal.sampleRate` differs from `preprocess.sampleRate`;
 * 3. longer than `length`: keeps the centre window (start floor((n - length) / 2));
 *    shorter: zero-pads after the end (as data.py pads audio frames to target_length).
 *
 * @returns Float32Array [channels, length]
 */
export function imuToTensor(signal: ImuSignal, preprocess: ImuPreprocess): Float32Array {
  const p = parseImuPreprocess(preprocess);
  const rows = signal?.channels;
  const samples = signal?.length;
  if (!Array.isArray(rows) || rows.length !== p.channels) {
    throw new ImageBindError('IMU_INVALID_SHAPE', `Expected ${p.channels} IMU channels (accelerometer and gyroscope axes) but received ${Array.isArray(rows) ? rows.length : typeof rows}`);
  }
  if (!Number.isInteger(samples) || samples < 1) {
    throw new ImageBindError('IMU_INVALID_SHAPE', `Expected at least one IMU sample per channel but received ${samples}`);
  }
  const channels = rows.length;
  const data = new Float32Array(channels * samples);
  rows.forEach((row, c) => {
    if (row?.length !== samples) {
      throw new ImageBindError('IMU_INVALID_SHAPE', `Expected ${samples} samples in IMU channel ${c} but received ${row?.length}`);
    }
    for (let t = 0; t < samples; t++) data[c * samples + t] = row[t]!;
    // After the float32 conversion: values beyond float32's range are infinite too.
    expectFiniteValues(data.subarray(c * samples, (c + 1) * samples), `IMU channel ${c}`);
  });
  let source: ArrayLike<number> = data;
  let n = samples;
  if (signal.sampleRate !== undefined) {
    const rate = expectPositiveNumber(signal.sampleRate, 'sampleRate');
    if (rate !== p.sampleRate) ({ data: source, samples: n } = resampleLinear(data, channels, samples, rate, p.sampleRate));
  }
  const L = p.length;
  const out = new Float32Array(channels * L);
  const start = n > L ? Math.floor((n - L) / 2) : 0;
  const count = Math.min(n, L);
  for (let c = 0; c < channels; c++) {
    for (let t = 0; t < count; t++) out[c * L + t] = source[c * n + start + t]!;
  }
  return out;
}
