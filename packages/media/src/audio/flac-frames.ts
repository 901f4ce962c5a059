import { MediaError } from '../media-error.js';

/**
 * Splits a native FLAC stream into its frames (RFC 9639 section 9), so that the WebAssembly
 * libFLAC can be handed one whole frame at a time (its `decodeFrames`).
 *
 * Why not the decoder's own `decode()` / `flush()`: its frame finder (codec-parser) only ends a
 * frame where it sees the next frame's header, and it needs 13 bytes after a header to accept
 * it. A stream whose last frame is shorter than that (a short block of silence or of a constant
 * value: header, one constant subframe and CRC are ~12 bytes) never has its last header
 * accepted, so at flush the last two frames come out as one piece; its CRC-16 still checks
 * (CRC-16 over "frame, its own CRC, next frame" equals the CRC-16 of the next frame), and
 * libFLAC decodes only the first frame of a piece: the last block was lost and the file refused
 * as AUDIO_TRUNCATED.
 *
 * Here a frame ends at the first offset where (1) the CRC-16 of the bytes since the frame
 * start is 0 (the frame's own footer checks), and (2) a valid frame header starts (sync code,
 * reserved bits, CRC-8) carrying the next frame number (fixed block size) or the next sample
 * number (variable block size). The last frame runs to the end of the file (an ID3v1 tag
 * there is allowed) and must check too.
 *
 * Frame header: sync 0xFFF8 (fixed) / 0xFFF9 (variable); block size code (4 bits), sample rate
 * code (4); channel code (4), bit depth code (3), reserved 0 (1); the frame or sample number
 * coded like UTF-8 (1-7 bytes); 8 or 16 bits of block size - 1 for codes 0110 / 0111; 8 or 16
 * bits of sample rate for codes 1100-1110; CRC-8 (polynomial 0x07). Footer: CRC-16
 * (polynomial 0x8005) of the whole frame.
 */
export interface FlacFrame {
  /** The frame's bytes, header to CRC-16 footer (a view into the file). */
  data: Uint8Array;
  /** Samples per channel in the frame. */
  blockSize: number;
}

export interface FlacFrames {
  frames: FlacFrame[];
  /** Samples per channel in all frames. */
  samples: number;
}

interface FrameHeader {
  variable: boolean;
  /** Frame number (fixed block size) or number of the first sample (variable). */
  number: number;
  blockSize: number;
  length: number;
}

const CRC8 = crcTable(0x07, 8);
const CRC16 = crcTable(0x8005, 16);
const ID3V1_BYTES = 128;

function crcTable(polynomial: number, bits: 8 | 16): Uint16Array {
  const top = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << (bits - 8);
    for (let bit = 0; bit < 8; bit++) crc = (crc & top ? (crc << 1) ^ polynomial : crc << 1) & mask;
    table[byte] = crc;
  }
  return table;
}

/** Block size codes 0001-0101 and 1000-1111; 0110 / 0111 are read from the header's end. */
function blockSizeOfCode(code: number): number | undefined {
  if (code === 1) return 192;
  if (code >= 2 && code <= 5) return 576 << (code - 2);
  if (code >= 8) return 256 << (code - 8);
  return undefined;
}

/** Parses and checks (CRC-8) a frame header at `offset`; undefined when there is none. */
export function readFlacFrameHeader(bytes: Uint8Array, offset: number): FrameHeader | undefined {
  if (offset + 6 > bytes.length) return undefined;
  if (bytes[offset] !== 0xff || (bytes[offset + 1]! & 0xfe) !== 0xf8) return undefined;
  const blockCode = bytes[offset + 2]! >> 4;
  const rateCode = bytes[offset + 2]! & 0x0f;
  const channelCode = bytes[offset + 3]! >> 4;
  const depthCode = (bytes[offset + 3]! >> 1) & 0x07;
  if (blockCode === 0 || rateCode === 0x0f || channelCode > 0x0a || depthCode === 0x03 || (bytes[offset + 3]! & 1) !== 0) return undefined;
  // The coded number: a first byte 0xxxxxxx, 110xxxxx, 1110xxxx, ... 11111110, then 10xxxxxx bytes.
  let at = offset + 4;
  const first = bytes[at]!;
  let extra = 0;
  while (extra < 8 && first & (0x80 >> extra)) extra++;
  if (extra === 1 || extra === 8 || at + extra > bytes.length) return undefined;
  const count = extra === 0 ? 0 : extra - 1;
  let number = first & (0x7f >> extra);
  for (let i = 1; i <= count; i++) {
    const b = bytes[at + i];
    if (b === undefined || (b & 0xc0) !== 0x80) return undefined;
    number = number * 64 + (b & 0x3f);
  }
  at += 1 + count;
  let blockSize = blockSizeOfCode(blockCode);
  if (blockCode === 6 || blockCode === 7) {
    const width = blockCode === 6 ? 1 : 2;
    if (at + width > bytes.length) return undefined;
    blockSize = (width === 1 ? bytes[at]! : (bytes[at]! << 8) | bytes[at + 1]!) + 1;
    at += width;
  }
  if (rateCode >= 0x0c) at += rateCode === 0x0c ? 1 : 2;
  if (at >= bytes.length || blockSize === undefined) return undefined;
  let crc = 0;
  for (let i = offset; i < at; i++) crc = CRC8[crc ^ bytes[i]!]!;
  if (crc !== bytes[at]) return undefined;
  return { variable: (bytes[offset + 1]! & 1) === 1, number, blockSize, length: at + 1 - offset };
}

function isNextHeader(next: FrameHeader | undefined, current: FrameHeader): boolean {
  if (!next || next.variable !== current.variable) return false;
  return next.number === (current.variable ? current.number + current.blockSize : current.number + 1);
}

/**
 * Every frame from `firstFrame` (the offset after the metadata blocks) to the end of the file.
 * A file that ends inside a frame is AUDIO_TRUNCATED; a frame whose CRC-16 never checks while
 * later frames follow is AUDIO_INVALID.
 */
export function splitFlacFrames(bytes: Uint8Array, firstFrame: number): FlacFrames {
  const end = bytes.length;
  // Where the last frame may also end: before an ID3v1 tag.
  const tagStart = hasId3v1(bytes, firstFrame) ? end - ID3V1_BYTES : -1;
  const frames: FlacFrame[] = [];
  let samples = 0;
  let start = firstFrame;
  if (start >= end) return { frames, samples };
  let header = readFlacFrameHeader(bytes, start);
  if (!header) {
    throw new MediaError(start + 16 > end ? 'AUDIO_TRUNCATED' : 'AUDIO_INVALID', `Expected a FLAC frame header at byte ${start}, after the metadata blocks`);
  }
  while (header) {
    let crc = 0;
    let next: FrameHeader | undefined;
    let checksBeforeTag = false;
    let at = start;
    for (; at < end; at++) {
      if (crc === 0 && at > start + header.length) {
        if (at === tagStart) checksBeforeTag = true;
        if (bytes[at] === 0xff) {
          const candidate = readFlacFrameHeader(bytes, at);
          if (isNextHeader(candidate, header)) { next = candidate; break; }
        }
      }
      crc = ((CRC16[(crc >> 8) ^ bytes[at]!]!) ^ (crc << 8)) & 0xffff;
    }
    if (!next && crc !== 0) {
      if (!checksBeforeTag) throw frameError(bytes, start, end, header, frames.length);
      at = tagStart;
    }
    frames.push({ data: bytes.subarray(start, at), blockSize: header.blockSize });
    samples += header.blockSize;
    start = at;
    header = next;
  }
  return { frames, samples };
}

function hasId3v1(bytes: Uint8Array, firstFrame: number): boolean {
  const at = bytes.length - ID3V1_BYTES;
  return at > firstFrame && bytes[at] === 0x54 && bytes[at + 1] === 0x41 && bytes[at + 2] === 0x47; // "TAG"
}

/** Cut (nothing that looks like a later frame follows) or damaged (later frames do follow). */
function frameError(bytes: Uint8Array, start: number, end: number, header: FrameHeader, index: number): MediaError {
  for (let at = start + header.length; at < end; at++) {
    if (bytes[at] !== 0xff) continue;
    const later = readFlacFrameHeader(bytes, at);
    if (later && later.variable === header.variable && later.number > header.number) {
      return new MediaError('AUDIO_INVALID', `The FLAC stream is damaged: frame ${index} (byte ${start}) fails its CRC-16 check`);
    }
  }
  return new MediaError('AUDIO_TRUNCATED', `The FLAC file is cut short inside frame ${index} (byte ${start} of ${bytes.length})`);
}
