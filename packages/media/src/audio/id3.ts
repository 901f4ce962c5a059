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
