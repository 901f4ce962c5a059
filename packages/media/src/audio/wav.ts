import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { checkAudioHeader, checkHasSamples } from './decoded-audio.js';
import { makeDecodedAudio, type DecodedAudio } from './decoded-audio.js';
import { signedIntToFloat, soxFloat32ToSample, soxFloat64ToSample, soxSampleToFloat } from './sox-scale.js';

/**
 * RIFF/WAVE reader (Microsoft "Multimedia Programming Interface and Data Specifications 1.0";
 * WAVE_FORMAT_EXTENSIBLE from "Multiple Channel Audio Data and WAVE Files"). Hand-written
 * because the npm WAV decoders (node-wav, @audio/decode-wav) scale positive samples by
 * 1/(2^(bits-1) - 1), which is not what torchaudio.load gives (see sox-scale.ts).
 *
 * A data chunk that says it is longer than the file (a recorder that stopped before fixing
 * the header, or a file cut short) is decoded as far as it goes, like sox / torchaudio.load
 * does, with a warning: uncompressed PCM loses nothing but the missing tail. A size of 0 or
 * 0xFFFFFFFF (streaming placeholders) means "to the end of the file".
 */
export type WavEncoding = 'uint8' | 'int16' | 'int24' | 'int32' | 'float32' | 'float64';

export interface WavHeader {
  encoding: WavEncoding;
  channels: number;
  sampleRate: number;
  /** Bytes per frame (all channels). */
  blockAlign: number;
  dataOffset: number;
  /** Bytes of sample data present in the file (whole frames only). */
  dataBytes: number;
  /** Frames (samples per channel) present. */
  frames: number;
  warnings: string[];
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = { 0x0002: 'MS ADPCM', 0x0006: 'A-law', 0x0007: 'mu-law', 0x0011: 'IMA ADPCM', 0x0055: 'MPEG layer 3' };

function fourCC(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

function encodingOf(tag: number, bits: number): WavEncoding {
  if (tag === WAVE_FORMAT_PCM) {
    const byBits: Record<number, WavEncoding> = { 8: 'uint8', 16: 'int16', 24: 'int24', 32: 'int32' };
    const encoding = byBits[bits];
    if (encoding) return encoding;
  }
  if (tag === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64)) return bits === 32 ? 'float32' : 'float64';
  const name = FORMAT_NAMES[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
  throw new MediaError('AUDIO_UNSUPPORTED_ENCODING', `Expected a WAV of 8/16/24/32-bit integer or 32/64-bit float PCM but received ${name} at ${bits} bits`);
}

/**
 * Reads the header chunks up to the start of the sample data; refuses what cannot be decoded.
 * `fileSize`: the whole file's size when `bytes` is only its beginning (upload inspection).
 */
export function parseWavHeader(bytes: Uint8Array, fileSize = bytes.length): WavHeader {
  if (bytes.length < 12) throw new MediaError('AUDIO_TRUNCATED', 'The WAV file is cut short inside its RIFF header');
  const riff = fourCC(bytes, 0);
  if (riff === 'RIFX' || riff === 'RF64') {
    throw new MediaError('AUDIO_UNSUPPORTED_ENCODING', `Expected a little-endian RIFF WAV but received ${riff}`);
  }
  if (riff !== 'RIFF' || fourCC(bytes, 8) !== 'WAVE') throw new MediaError('AUDIO_INVALID', 'Expected a RIFF/WAVE header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { encoding: WavEncoding; channels: number; sampleRate: number; blockAlign: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = fourCC(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new MediaError('AUDIO_TRUNCATED', 'The WAV file is cut short inside its fmt chunk');
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        // cbSize u16, validBits u16, channelMask u32, SubFormat GUID whose first two bytes are the tag.
        if (size < 40 || body + 26 > bytes.length) throw new MediaError('AUDIO_TRUNCATED', 'The WAV file is cut short inside its extensible fmt chunk');
        tag = view.getUint16(body + 24, true);
      }
      const encoding = encodingOf(tag, bits);
      if (channels < 1 || blockAlign !== channels * (bits / 8)) {
        throw new MediaError('AUDIO_INVALID', `The WAV fmt chunk is inconsistent: ${channels} channels of ${bits} bits in blocks of ${blockAlign} bytes`);
      }
      format = { encoding, channels, sampleRate, blockAlign };
    } else if (id === 'data') {
      if (!format) throw new MediaError('AUDIO_INVALID', 'The WAV data chunk comes before any fmt chunk');
      const available = Math.max(0, fileSize - body);
      const warnings: string[] = [];
      let dataBytes = size;
      if (size === 0 || size === 0xffffffff) dataBytes = available;
      else if (size > available) {
        warnings.push(`The WAV header declares ${size} bytes of samples but the file holds ${available}: decoded what is there`);
        dataBytes = available;
      }
      const frames = Math.floor(dataBytes / format.blockAlign);
      return { ...format, dataOffset: body, dataBytes: frames * format.blockAlign, frames, warnings };
    }
    // RIFF chunks are padded to an even length.
    offset = body + size + (size & 1);
  }
  if (offset > bytes.length || (offset < bytes.length && offset + 8 > bytes.length)) {
    throw new MediaError('AUDIO_TRUNCATED', 'The WAV file is cut short before its sample data');
  }
  throw new MediaError('AUDIO_INVALID', format ? 'The WAV file has no data chunk' : 'The WAV file has no fmt chunk');
}

/** Decodes a whole WAV file: the header is checked against the limits before any sample is read. */
export function decodeWav(bytes: Uint8Array, limits: AudioLimits): DecodedAudio {
  const header = parseWavHeader(bytes);
  checkAudioHeader({ channels: header.channels, sampleRate: header.sampleRate, samples: header.frames }, limits, 'WAV');
  checkHasSamples(header.frames, 'WAV');
  const channels = deinterleavePcm(bytes.subarray(header.dataOffset, header.dataOffset + header.dataBytes), header);
  return makeDecodedAudio(header.sampleRate, channels, 'wav', header.warnings);
}

/** Interleaved little-endian PCM -> one Float32Array per channel, scaled as torchaudio.load does. */
export function deinterleavePcm(data: Uint8Array, header: Pick<WavHeader, 'encoding' | 'channels' | 'frames'>): Float32Array[] {
  const { encoding, channels: count, frames } = header;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = Array.from({ length: count }, () => new Float32Array(frames));
  const read = sampleReader(view, encoding);
  for (let c = 0; c < count; c++) {
    const channel = out[c]!;
    for (let i = 0, k = c; i < frames; i++, k += count) channel[i] = read(k);
  }
  return out;
}

function sampleReader(view: DataView, encoding: WavEncoding): (index: number) => number {
  switch (encoding) {
    case 'uint8': return (k) => (view.getUint8(k) - 128) / 128;
    case 'int16': return (k) => view.getInt16(2 * k, true) / 32768;
    case 'int24': return (k) => {
      const o = 3 * k;
      const v = (view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16));
      return signedIntToFloat(v, 24);
    };
    case 'int32': return (k) => soxSampleToFloat(view.getInt32(4 * k, true));
    case 'float32': return (k) => soxSampleToFloat(soxFloat32ToSample(finite(view.getFloat32(4 * k, true), k)));
    case 'float64': return (k) => soxSampleToFloat(soxFloat64ToSample(finite(view.getFloat64(8 * k, true), k)));
  }
}

function finite(x: number, index: number): number {
  if (!Number.isFinite(x)) throw new MediaError('NON_FINITE_VALUE', `The WAV file holds a non-finite sample (${x}) at sample ${index}`);
  return x;
}
