import { fileTypeFromBuffer } from 'file-type';
import { oggCodec } from './audio/ogg-pages.js';

export type MediaKind = 'audio' | 'image' | 'video' | 'npy' | 'text' | 'unknown';

export interface SniffResult {
  kind: MediaKind;
  /**
   * Short format name: wav, flac, mp3, ogg-vorbis, ogg-opus, ogg-flac, aiff, aac, m4a,
   * mp4, mov, webm, mkv, avi, ogv, png, jpeg, webp, gif, tiff, avif, heic, npy, text, ...
   * (file-type's extension for anything else; 'unknown' when nothing matched).
   */
  format: string;
  mime?: string;
}

// file-type's extension -> our name, where they differ.
const RENAME: Record<string, string> = { jpg: 'jpeg', tif: 'tiff', aif: 'aiff' };

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY" (numpy/lib/format.py)

/**
 * Tells what a file is from its bytes (magic numbers), never from its name. Binary formats
 * come from `file-type` (maintained signatures for ~150 formats, so an unsupported upload can be
 * named in the error); Ogg is split by the codec of its first packet; .npy and plain text are
 * recognised here.
 */
export async function sniffMediaType(bytes: Uint8Array): Promise<SniffResult> {
  if (bytes.length === 0) return { kind: 'unknown', format: 'empty' };
  if (NPY_MAGIC.every((b, i) => bytes[i] === b)) return { kind: 'npy', format: 'npy', mime: 'application/x-npy' };
  const type = await fileTypeFromBuffer(bytes);
  if (type) {
    const format = RENAME[type.ext] ?? type.ext;
    if (['ogg', 'oga', 'ogv', 'ogm', 'ogx', 'opus', 'spx'].includes(type.ext)) return sniffOgg(bytes, type.mime);
    if (format === 'xml') return { kind: 'text', format, mime: type.mime };
    const kind = type.mime.startsWith('audio/') ? 'audio'
      : type.mime.startsWith('video/') ? 'video'
      : type.mime.startsWith('image/') ? 'image'
      : 'unknown';
    return { kind, format, mime: type.mime };
  }
  if (looksLikeText(bytes)) return { kind: 'text', format: 'text', mime: 'text/plain' };
  return { kind: 'unknown', format: 'unknown' };
}

/** "a png image file", "a text file", "a file of unknown format": for error messages. */
export function describeSniffed(sniffed: SniffResult): string {
  if (sniffed.kind === 'unknown') return sniffed.format === 'unknown' ? 'a file of unknown format' : `a ${sniffed.format} file`;
  if (sniffed.kind === 'text') return sniffed.format === 'text' ? 'a text file' : `an ${sniffed.format} text file`;
  if (sniffed.kind === 'npy') return 'a .npy array';
  return `${/^[aeiou]/i.test(sniffed.format) ? 'an' : 'a'} ${sniffed.format} ${sniffed.kind} file`;
}

function sniffOgg(bytes: Uint8Array, mime: string): SniffResult {
  const codec = oggCodec(bytes);
  switch (codec) {
    case 'vorbis': return { kind: 'audio', format: 'ogg-vorbis', mime: 'audio/ogg' };
    case 'opus': return { kind: 'audio', format: 'ogg-opus', mime: 'audio/ogg' };
    case 'flac': return { kind: 'audio', format: 'ogg-flac', mime: 'audio/ogg' };
    case 'theora': return { kind: 'video', format: 'ogv', mime: 'video/ogg' };
    default: return { kind: mime.startsWith('video/') ? 'video' : 'audio', format: `ogg-${codec}`, mime };
  }
}

/**
 * Valid UTF-8 (checked on the first 64 KiB, a code point cut at that edge allowed) with no
 * control characters but tab, new line, carriage return and form feed.
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  const text = utf8Start(bytes);
  // eslint-disable-next-line no-control-regex
  return text !== undefined && !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text);
}

/**
 * The first 64 KiB as text when they are valid UTF-8 (a code point cut at that edge, or at the
 * end of `bytes` when `cut` says more of the file follows, allowed); undefined when not.
 */
export function utf8Start(bytes: Uint8Array, cut = false): string | undefined {
  const head = bytes.subarray(0, 65536);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(trimPartialCodePoint(head, cut || bytes.length > head.length));
  } catch {
    return undefined;
  }
}

function trimPartialCodePoint(head: Uint8Array, cut: boolean): Uint8Array {
  if (!cut) return head;
  // Drop a trailing lead byte and its continuation bytes when the cut fell inside a code point.
  let end = head.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = head[end - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    if (b >= 0xc0) end -= back; // a lead byte whose sequence may be incomplete
    break;
  }
  return head.subarray(0, end);
}

/**
 * Length of an ID3v2 tag at `offset` (id3.org ID3v2.4 "structure" section 3.1): "ID3", version
 * (2 bytes), flags, size as four 7-bit bytes; a footer of 10 more bytes when flag 0x10 is set.
 * 0 when there is no tag.
 */
export function id3v2Length(bytes: Uint8Array, offset = 0): number {
  if (bytes.length < offset + 10) return 0;
  if (bytes[offset] !== 0x49 || bytes[offset + 1] !== 0x44 || bytes[offset + 2] !== 0x33) return 0;
  const size = ((bytes[offset + 6]! & 0x7f) << 21) | ((bytes[offset + 7]! & 0x7f) << 14) | ((bytes[offset + 8]! & 0x7f) << 7) | (bytes[offset + 9]! & 0x7f);
  const footer = (bytes[offset + 5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}
