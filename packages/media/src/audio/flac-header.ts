import { MediaError } from '../media-error.js';
import { id3v2Length } from '../sniff.js';

/**
 * FLAC STREAMINFO (RFC 9639 section 8.2), the first metadata block after "fLaC":
 * min/max block size (u16 each), min/max frame size (u24 each), then 64 bits holding
 * sample rate (20), channels - 1 (3), bits per sample - 1 (5), total samples (36; 0 = unknown).
 */
export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Samples per channel, or undefined when the encoder did not know (streamed). */
  totalSamples: number | undefined;
}

export function readFlacStreamInfo(bytes: Uint8Array): FlacStreamInfo {
  const start = id3v2Length(bytes);
  const magic = start;
  if (bytes.length < magic + 4 + 4 + 34) throw new MediaError('AUDIO_TRUNCATED', 'The FLAC file is cut short inside its STREAMINFO header');
  if (String.fromCharCode(...bytes.subarray(magic, magic + 4)) !== 'fLaC') throw new MediaError('AUDIO_INVALID', 'Expected the FLAC signature "fLaC"');
  const blockType = bytes[magic + 4]! & 0x7f;
  if (blockType !== 0) throw new MediaError('AUDIO_INVALID', `Expected STREAMINFO as the first FLAC metadata block but found type ${blockType}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + magic + 8, 34);
  const packed = view.getBigUint64(10, false);
  const sampleRate = Number(packed >> 44n);
  const channels = Number((packed >> 41n) & 0x7n) + 1;
  const bitsPerSample = Number((packed >> 36n) & 0x1fn) + 1;
  const total = Number(packed & 0xfffffffffn);
  return { sampleRate, channels, bitsPerSample, totalSamples: total === 0 ? undefined : total };
}

/**
 * Offset of the first audio frame: after "fLaC" and every metadata block (RFC 9639 section
 * 8.1: a byte holding the last-block flag and the type, then the length as u24).
 */
export function flacFirstFrameOffset(bytes: Uint8Array): number {
  let offset = id3v2Length(bytes) + 4;
  for (;;) {
    if (offset + 4 > bytes.length) throw new MediaError('AUDIO_TRUNCATED', 'The FLAC file is cut short inside its metadata blocks');
    const isLast = (bytes[offset]! & 0x80) !== 0;
    const length = (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    offset += 4 + length;
    if (offset > bytes.length) throw new MediaError('AUDIO_TRUNCATED', 'The FLAC file is cut short inside its metadata blocks');
    if (isLast) return offset;
  }
}
