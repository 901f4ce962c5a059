import { htmlUnescape } from './html-unescape.js';

// Character classes of the Python the CLIP tokenizer runs on, written out because
// JavaScript's \s differs (it has U+FEFF, lacks U+0085):
// - the `regex` module's \s (simple_tokenizer.py `whitespace_clean` and the split pattern):
//   Unicode White_Space;
// - str.strip()/isspace(): the same plus the separators U+001C..U+001F.
export const PY_REGEX_WHITESPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_ISSPACE = `${PY_REGEX_WHITESPACE}\\x1c-\\x1f`;

const WHITESPACE_RUN = new RegExp(`[${PY_REGEX_WHITESPACE}]+`, 'gu');
const STRIP = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, 'gu');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * CLIP's text cleaning (openai/CLIP simple_tokenizer.py `basic_clean` + `whitespace_clean`,
 * then `.lower()`): HTML entities unescaped twice, stripped, whitespace runs collapsed to one
 * space, stripped, lower-cased.
 *
 * ftfy.fix_text (mojibake repair, curly quotes to straight ones, NFC, ligatures and
 * full-width forms) is NOT applied: text that ftfy would change tokenises differently
 * from CLIP's (e.g. "don’t" keeps its curly apostrophe). Lone UTF-16 surrogates become
 * U+FFFD (Python strings cannot hold them).
 */
export function cleanText(text: string): string {
  let t = htmlUnescape(htmlUnescape(text.replace(LONE_SURROGATE, '\ufffd')));
  t = t.replace(STRIP, '');
  t = t.replace(WHITESPACE_RUN, ' ').replace(STRIP, '');
  return t.toLowerCase();
}
