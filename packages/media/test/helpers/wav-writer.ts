/** Builds WAV files byte by byte for the tests (RIFF/WAVE layout; see src/audio/wav.ts). */
export type TestWavEncoding = 'uint8' | 'int16' | 'int24' | 'int32' | 'float32' | 'float64';

const BITS: Record<TestWavEncoding, number> = { uint8: 8, int16: 16, int24: 24, int32: 32, float32: 32, float64: 64 };

export interface TestWavOptions {
  sampleRate: number;
  encoding: TestWavEncoding;
  /** Raw sample values per channel (integers for int encodings, 0..255 for uint8). */
  channels: ArrayLike<number>[];
  /** Write WAVE_FORMAT_EXTENSIBLE instead of the plain format tag. */
  extensible?: boolean;
  /** Overrides the data chunk's size field (to make a header that lies). */
  dataSizeField?: number;
  /** Format tag to write (default PCM 1 / IEEE float 3). */
  formatTag?: number;
  /** Extra chunk before the data chunk, e.g. LIST, with odd size to test padding. */
  extraChunk?: { id: string; body: Uint8Array };
}

export function wavBytes(options: TestWavOptions): Uint8Array {
  const { sampleRate, encoding, channels } = options;
  const bits = BITS[encoding];
  const bytesPerSample = bits / 8;
  const frames = channels[0]?.length ?? 0;
  const count = channels.length;
  const data = new Uint8Array(frames * count * bytesPerSample);
  const view = new DataView(data.buffer);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const v = channels[c]![i]!;
      const o = (i * count + c) * bytesPerSample;
      switch (encoding) {
        case 'uint8': view.setUint8(o, v); break;
        case 'int16': view.setInt16(o, v, true); break;
        case 'int24': view.setUint8(o, v & 0xff); view.setUint8(o + 1, (v >> 8) & 0xff); view.setUint8(o + 2, (v >> 16) & 0xff); break;
        case 'int32': view.setInt32(o, v, true); break;
        case 'float32': view.setFloat32(o, v, true); break;
        case 'float64': view.setFloat64(o, v, true); break;
      }
    }
  }
  const isFloat = encoding === 'float32' || encoding === 'float64';
  const tag = options.formatTag ?? (isFloat ? 3 : 1);
  const fmt = new Uint8Array(options.extensible ? 40 : 16);
  const f = new DataView(fmt.buffer);
  f.setUint16(0, options.extensible ? 0xfffe : tag, true);
  f.setUint16(2, count, true);
  f.setUint32(4, sampleRate, true);
  f.setUint32(8, sampleRate * count * bytesPerSample, true);
  f.setUint16(12, count * bytesPerSample, true);
  f.setUint16(14, bits, true);
  if (options.extensible) {
    f.setUint16(16, 22, true); // cbSize
    f.setUint16(18, bits, true); // valid bits
    f.setUint32(20, count === 1 ? 0x4 : 0x3, true); // channel mask
    f.setUint16(24, tag, true); // SubFormat GUID: tag then 00000000-0010-8000-00AA00389B71
    fmt.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  const chunks: Uint8Array[] = [chunk('fmt ', fmt)];
  if (options.extraChunk) chunks.push(chunk(options.extraChunk.id, options.extraChunk.body));
  chunks.push(chunk('data', data, options.dataSizeField));
  const body = concat([ascii('WAVE'), ...chunks]);
  return concat([ascii('RIFF'), u32(body.length), body]);
}

function chunk(id: string, body: Uint8Array, sizeField = body.length): Uint8Array {
  const pad = body.length % 2 === 1 ? new Uint8Array(1) : new Uint8Array(0);
  return concat([ascii(id), u32(sizeField), body, pad]);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A mix of two tones, as int16 values: amplitude 0.5 of full scale. */
export function toneInt16(sampleRate: number, seconds: number, freqs: [number, number] = [440, 1234], phase = 0): Int16Array {
  const n = Math.round(sampleRate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    out[i] = Math.round(16384 * (0.6 * Math.sin(2 * Math.PI * freqs[0] * t + phase) + 0.4 * Math.sin(2 * Math.PI * freqs[1] * t)));
  }
  return out;
}
