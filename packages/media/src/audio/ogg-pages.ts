/**
 * Ogg page walking (RFC 3533): enough to name the codec, read the stream's length from the
 * last granule position, and tell a file that stops in the middle of a page.
 *
 * Page header: "OggS", version u8, header_type u8 (0x04 = end of stream), granule i64 LE,
 * serial u32, sequence u32, CRC u32, segment count u8, segment table; then the body.
 */
export interface OggPage {
  offset: number;
  headerType: number;
  granule: bigint;
  serial: number;
  /** Header + body, in bytes. */
  size: number;
  bodyOffset: number;
  bodySize: number;
}

export type OggCodec = 'vorbis' | 'opus' | 'flac' | 'theora' | 'speex' | 'unknown';

export interface OggScan {
  codec: OggCodec;
  /** Channels and sample rate from the identification header (Opus: always decoded at 48 kHz). */
  channels: number;
  sampleRate: number;
  /** Opus pre-skip, in 48 kHz samples. */
  preSkip: number;
  /** Samples per channel the stream says it holds (last granule position), or undefined. */
  declaredSamples: number | undefined;
  /** The last page ends past the end of the file. */
  cutInsidePage: boolean;
  /** The last page of the first logical stream carries the end-of-stream flag. */
  endOfStream: boolean;
  /** More than one logical stream (e.g. audio + video, or chained files). */
  multipleStreams: boolean;
}

const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const EOS = 0x04;

export function readOggPage(bytes: Uint8Array, offset: number): OggPage | 'cut' | undefined {
  if (offset + 27 > bytes.length) return offset < bytes.length ? 'cut' : undefined;
  if (!CAPTURE.every((b, i) => bytes[offset + i] === b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  const segments = bytes[offset + 26]!;
  if (offset + 27 + segments > bytes.length) return 'cut';
  let bodySize = 0;
  for (let i = 0; i < segments; i++) bodySize += bytes[offset + 27 + i]!;
  const headerSize = 27 + segments;
  if (offset + headerSize + bodySize > bytes.length) return 'cut';
  return {
    offset,
    headerType: bytes[offset + 5]!,
    granule: view.getBigInt64(6, true),
    serial: view.getUint32(14, true),
    size: headerSize + bodySize,
    bodyOffset: offset + headerSize,
    bodySize,
  };
}

function startsWith(bytes: Uint8Array, offset: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The codec of the first logical stream, from its first packet's signature. */
export function oggCodec(bytes: Uint8Array): OggCodec {
  const page = readOggPage(bytes, 0);
  if (page === undefined || page === 'cut') return 'unknown';
  const o = page.bodyOffset;
  if (startsWith(bytes, o, '\x01vorbis')) return 'vorbis';
  if (startsWith(bytes, o, 'OpusHead')) return 'opus';
  if (startsWith(bytes, o, '\x7fFLAC')) return 'flac';
  if (startsWith(bytes, o, '\x80theora')) return 'theora';
  if (startsWith(bytes, o, 'Speex   ')) return 'speex';
  return 'unknown';
}

/** Walks every page; stops at the first byte that is not a page (trailing junk is ignored). */
export function scanOgg(bytes: Uint8Array): OggScan {
  const first = readOggPage(bytes, 0);
  const codec = oggCodec(bytes);
  const scan: OggScan = {
    codec, channels: 0, sampleRate: 0, preSkip: 0, declaredSamples: undefined,
    cutInsidePage: first === 'cut', endOfStream: false, multipleStreams: false,
  };
  if (first === undefined || first === 'cut') return scan;
  const view = new DataView(bytes.buffer, bytes.byteOffset + first.bodyOffset);
  if (codec === 'vorbis' && first.bodySize >= 16) {
    // Vorbis I spec 4.2.2: "\x01vorbis", version u32, channels u8, rate u32.
    scan.channels = bytes[first.bodyOffset + 11]!;
    scan.sampleRate = view.getUint32(12, true);
  } else if (codec === 'opus' && first.bodySize >= 19) {
    // RFC 7845 5.1: "OpusHead", version u8, channels u8, pre-skip u16, input rate u32, ...
    scan.channels = bytes[first.bodyOffset + 9]!;
    scan.preSkip = view.getUint16(10, true);
    scan.sampleRate = 48_000;
  }
  let lastGranule = -1n;
  let offset = 0;
  for (;;) {
    const page = readOggPage(bytes, offset);
    if (page === 'cut') { scan.cutInsidePage = true; break; }
    if (page === undefined) break;
    if (page.serial !== first.serial) scan.multipleStreams = true;
    else {
      if (page.granule >= 0n) lastGranule = page.granule;
      scan.endOfStream = (page.headerType & EOS) !== 0;
    }
    offset += page.size;
  }
  if (lastGranule >= 0n && scan.sampleRate > 0) {
    scan.declaredSamples = Math.max(0, Number(lastGranule) - scan.preSkip);
  }
  return scan;
}

export interface OggTail {
  /** Granule position of the last complete page of the stream `serial` (-1 when none has one). */
  granule: bigint;
  /** That page carries the end-of-stream flag. */
  endOfStream: boolean;
  /** The pages after it run past the end of the file. */
  cutInsidePage: boolean;
}

/**
 * The end of a stream read from the last bytes of the file only (`tail`, at least two of the
 * largest pages: 2 x 65,307 bytes), as a player finds the length (vorbisfile's ov_pcm_total
 * seeks there too): the last page of `serial` that is whole, and whether the pages that follow
 * it run past the end of the file. Scans backwards for the capture pattern "OggS".
 */
export function readOggTail(tail: Uint8Array, serial: number): OggTail {
  const result: OggTail = { granule: -1n, endOfStream: false, cutInsidePage: false };
  for (let offset = tail.length - 27; offset >= 0; offset--) {
    if (tail[offset] !== 0x4f || !CAPTURE.every((b, i) => tail[offset + i] === b)) continue;
    const page = readOggPage(tail, offset);
    if (page === undefined || page === 'cut' || page.serial !== serial || page.granule < 0n) continue;
    result.granule = page.granule;
    result.endOfStream = (page.headerType & EOS) !== 0;
    // Pages of other streams may follow; the walk ends at the end of the file or at junk (ignored, as scanOgg does).
    for (let next = offset + page.size; ;) {
      const following = readOggPage(tail, next);
      if (following === 'cut') result.cutInsidePage = true;
      if (following === undefined || following === 'cut') break;
      next += following.size;
    }
    return result;
  }
  return result;
}
