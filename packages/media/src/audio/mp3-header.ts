import { MediaError } from '../media-error.js';
import { id3v2Length } from '../sniff.js';

/**
 * The first MPEG audio frame header (ISO/IEC 11172-3 2.4.1.3, 13818-3 for the 2 / 2.5
 * extensions) and, inside that frame, the Xing/Info tag written by LAME and ffmpeg (frame and
 * byte counts) or Fraunhofer's VBRI tag. Gives the length before anything is decoded; a
 * stream shorter than its tag's byte count was cut.
 */
export interface Mp3Info {
  sampleRate: number;
  channels: number;
  samplesPerFrame: number;
  /** Offset of the first frame (after any ID3v2 tag). */
  firstFrame: number;
  /** Frames the Xing/Info/VBRI tag declares (the tag frame itself excluded). */
  declaredFrames: number | undefined;
  /** Stream bytes the tag declares, counted from the first frame. */
  declaredBytes: number | undefined;
  /** Duration in seconds: from the tag's frame count, else from the first frame's bitrate. */
  estimatedDurationSec: number;
  /** Length of the first frame, in bytes. */
  frameLength: number;
  /** The first frame is a Xing/Info/VBRI tag, not audio. */
  hasTagFrame: boolean;
}

const BITRATES_KBPS = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface FrameHeader {
  version: 1 | 2 | 25;
  layer: 1 | 2 | 3;
  bitrateKbps: number;
  sampleRate: number;
  channels: number;
  samplesPerFrame: number;
  frameLength: number;
}

export function readMpegFrameHeader(bytes: Uint8Array, offset: number): FrameHeader | undefined {
  if (offset + 4 > bytes.length) return undefined;
  const b1 = bytes[offset + 1]!;
  const b2 = bytes[offset + 2]!;
  const b3 = bytes[offset + 3]!;
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const version = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 25;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const table = version === 1 ? (layer === 1 ? BITRATES_KBPS.v1l1 : layer === 2 ? BITRATES_KBPS.v1l2 : BITRATES_KBPS.v1l3)
    : layer === 1 ? BITRATES_KBPS.v2l1 : BITRATES_KBPS.v2l23;
  const bitrateKbps = table[bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[versionBits]![rateIndex]!;
  const padding = (b2 >> 1) & 1;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && version !== 1 ? 576 : 1152;
  const frameLength = layer === 1
    ? (Math.floor((12 * bitrateKbps * 1000) / sampleRate) + padding) * 4
    : Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + padding;
  return { version, layer, bitrateKbps, sampleRate, channels: b3 >> 6 === 3 ? 1 : 2, samplesPerFrame, frameLength };
}

export function readMp3Info(bytes: Uint8Array): Mp3Info {
  const firstFrame = id3v2Length(bytes);
  if (firstFrame >= bytes.length) throw new MediaError('AUDIO_TRUNCATED', 'The MP3 file is cut short inside its ID3 tag');
  const frame = readMpegFrameHeader(bytes, firstFrame);
  if (!frame) throw new MediaError('AUDIO_INVALID', 'Expected an MPEG audio frame after the ID3 tag');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let declaredFrames: number | undefined;
  let declaredBytes: number | undefined;
  let hasTagFrame = false;
  // Xing/Info sits after the side information: 32 / 17 bytes (MPEG-1 stereo / mono), 17 / 9 (MPEG-2/2.5).
  const sideInfo = frame.version === 1 ? (frame.channels === 1 ? 17 : 32) : frame.channels === 1 ? 9 : 17;
  const xing = firstFrame + 4 + sideInfo;
  const tag = xing + 8 <= bytes.length ? String.fromCharCode(...bytes.subarray(xing, xing + 4)) : '';
  if (frame.layer === 3 && (tag === 'Xing' || tag === 'Info')) {
    hasTagFrame = true;
    const flags = view.getUint32(xing + 4, false);
    let field = xing + 8;
    if (flags & 1 && field + 4 <= bytes.length) { declaredFrames = view.getUint32(field, false); field += 4; }
    if (flags & 2 && field + 4 <= bytes.length) declaredBytes = view.getUint32(field, false);
  } else if (firstFrame + 36 + 18 <= bytes.length && String.fromCharCode(...bytes.subarray(firstFrame + 36, firstFrame + 40)) === 'VBRI') {
    // VBRI: "VBRI", version u16, delay u16, quality u16, bytes u32, frames u32 (big-endian).
    hasTagFrame = true;
    declaredBytes = view.getUint32(firstFrame + 36 + 10, false);
    declaredFrames = view.getUint32(firstFrame + 36 + 14, false);
  }
  const estimatedDurationSec = declaredFrames !== undefined
    ? (declaredFrames * frame.samplesPerFrame) / frame.sampleRate
    : ((bytes.length - firstFrame) * 8) / (frame.bitrateKbps * 1000);
  return {
    sampleRate: frame.sampleRate, channels: frame.channels, samplesPerFrame: frame.samplesPerFrame, firstFrame,
    declaredFrames, declaredBytes, estimatedDurationSec, frameLength: frame.frameLength, hasTagFrame,
  };
}
