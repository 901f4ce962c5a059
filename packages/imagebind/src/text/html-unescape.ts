import { decodeHTML, DecodingMode } from 'entities/decode';

// Python's html.unescape (Lib/html/__init__.py), which CLIP's basic_clean applies twice:
// one left-to-right pass over `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`.
// Numeric references follow Python's table (Windows-1252 for 0x80-0x9F, U+FFFD for 0,
// surrogates and > U+10FFFF, nothing for the code points HTML5 forbids); named ones go to
// the `entities` package's HTML5 decoder (legacy names without ";" included), which resolves
// the longest known prefix as Python does.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

// Python html._invalid_charrefs: 0x00 and 0x0D, then Windows-1252 for 0x80-0x9F
// (0x81, 0x8D, 0x8F, 0x90, 0x9D map to themselves).
const INVALID_CHARREFS = new Map<number, string>([
  [0x00, '\ufffd'], [0x0d, '\r'],
  [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'], [0x84, '\u201e'], [0x85, '\u2026'],
  [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'], [0x8a, '\u0160'], [0x8b, '\u2039'],
  [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'], [0x90, '\x90'], [0x91, '\u2018'],
  [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'], [0x96, '\u2013'], [0x97, '\u2014'],
  [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'], [0x9c, '\u0153'], [0x9d, '\x9d'],
  [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Python html._invalid_codepoints: controls, noncharacters; these references decode to nothing. */
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) || cp === 0xb || (cp >= 0xe && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe
  );
}

function numericReference(body: string): string {
  const hex = body[1] === 'x' || body[1] === 'X';
  const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
  // Parse as BigInt: Python's int() has no overflow, and anything past U+10FFFF is U+FFFD.
  const value = BigInt(hex ? `0x${digits}` : digits);
  const cp = value > 0x10ffffn ? -1 : Number(value);
  const fixed = INVALID_CHARREFS.get(cp);
  if (fixed !== undefined) return fixed;
  if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  if (isInvalidCodepoint(cp)) return '';
  return String.fromCodePoint(cp);
}

/** Python's `html.unescape(text)`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (match: string, body: string) =>
    body[0] === '#' ? numericReference(body) : decodeHTML(match, DecodingMode.Legacy),
  );
}
