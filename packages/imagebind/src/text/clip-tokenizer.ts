import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageBindError } from '../imagebind-error.js';
import { parseTextPreprocess, type ClipBpeConfig, type TextPreprocess } from '../preprocess-config.js';
import { bytesToUnicode } from './bytes-to-unicode.js';
import { cleanText, PY_REGEX_WHITESPACE } from './clean-text.js';

/** Token ids for a batch: int64 [texts, contextLength], the text encoder's input. */
export interface TokenBatch {
  ids: BigInt64Array;
  shape: [number, number];
}

const END_OF_WORD = '</w>';
/** Distinct pieces remembered by the BPE cache before the oldest are forgotten. */
const DEFAULT_CACHE_SIZE = 20_000;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * CLIP's pre-tokenizer (simple_tokenizer.py `self.pat`, compiled with regex.IGNORECASE):
 * the start / end tokens, English contractions, runs of letters, single digits, runs of
 * other non-space characters. \p{L} and \p{N} follow this JavaScript engine's Unicode
 * version (code points assigned after Python's may classify differently).
 */
function splitPattern(startToken: string, endToken: string): RegExp {
  const ws = PY_REGEX_WHITESPACE;
  return new RegExp(
    `${escapeRegExp(startToken)}|${escapeRegExp(endToken)}|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${ws}\\p{L}\\p{N}]+`,
    'giu',
  );
}

/**
 * U+0345 (combining ypogegrammeni) is neither a letter nor a digit, but its case fold is
 * U+03B9 (a letter): Python's `regex` with IGNORECASE matches it with no alternative of the
 * pattern (it is skipped and splits runs), JavaScript's /iu takes it as a letter. A space
 * behaves as Python's skip does. Checked over every code point against the regex module
 * Debian 12 ships (2.5.123); other differences are code points assigned after its Unicode 15.
 */
const UNMATCHED_UNDER_IGNORECASE = /\u0345/g;

function filesError(message: string): ImageBindError {
  return new ImageBindError('TOKENIZER_INVALID_FILES', message);
}

/** merges.txt: an optional "#version" line, then one "left right" pair per line. */
export function parseMerges(text: string): Array<[string, string]> {
  const merges: Array<[string, string]> = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.length === 0 || (i === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw filesError(`Expected "left right" on line ${i + 1} of merges.txt but received ${JSON.stringify(line.slice(0, 60))}`);
    }
    merges.push([parts[0]!, parts[1]!]);
  }
  return merges;
}

/** vocab.json: { token: id }. */
export function parseVocab(text: string): Map<string, number> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw filesError(`Expected vocab.json to be JSON but it did not parse: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw filesError('Expected vocab.json to be an object of token -> id');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(raw)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw filesError(`Expected a non-negative integer id for ${JSON.stringify(token)} in vocab.json but received ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

/**
 * CLIP's byte-level BPE tokenizer (Radford et al. 2021; openai/CLIP simple_tokenizer.py,
 * ImageBind's multimodal_preprocessors.SimpleTokenizer), from a pack's vocab.json and
 * merges.txt:
 *
 * 1. `cleanText`: HTML unescaped twice, whitespace collapsed, stripped, lower-cased (no ftfy);
 * 2. split with CLIP's pattern; the start / end token strings typed in the text become those
 *    tokens, as in CLIP (its BPE cache maps them to themselves);
 * 3. each piece's UTF-8 bytes mapped through GPT-2's byte -> character table, "</w>" on the
 *    last character, merges applied lowest rank first (all occurrences, left to right);
 * 4. `tokenize`: [start, ...ids] cut to contextLength - 1, then the end token, padded with
 *    padId: an over-long text keeps its end token last (ImageBind's SimpleTokenizer.__call__).
 */
export class ClipTokenizer {
  readonly contextLength: number;
  readonly startId: number;
  readonly endId: number;
  readonly padId: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly byteChars = bytesToUnicode();
  private readonly pattern: RegExp;
  private readonly specials: Map<string, number>;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly encoder = new TextEncoder();

  constructor(
    vocab: Map<string, number>,
    merges: ReadonlyArray<readonly [string, string]>,
    config: ClipBpeConfig,
    private readonly cacheSize = DEFAULT_CACHE_SIZE,
  ) {
    const startId = vocab.get(config.startToken);
    const endId = vocab.get(config.endToken);
    if (startId === undefined) throw filesError(`Expected the start token ${JSON.stringify(config.startToken)} in vocab.json but it is missing`);
    if (endId === undefined) throw filesError(`Expected the end token ${JSON.stringify(config.endToken)} in vocab.json but it is missing`);
    // Every byte character (alone and word-final) must be a token, and every merge's result:
    // then encoding can never meet an unknown symbol.
    for (const ch of this.byteChars) {
      for (const symbol of [ch, ch + END_OF_WORD]) {
        if (!vocab.has(symbol)) throw filesError(`Expected the byte symbol ${JSON.stringify(symbol)} in vocab.json but it is missing`);
      }
    }
    merges.forEach(([a, b], rank) => {
      if (!vocab.has(a + b)) throw filesError(`Expected the merge result ${JSON.stringify(a + b)} (merges.txt entry ${rank + 1}) in vocab.json but it is missing`);
      // A repeated pair keeps its last rank, as Python's dict(zip(merges, range(...))) does.
      this.ranks.set(`${a} ${b}`, rank);
    });
    this.vocab = vocab;
    this.contextLength = config.contextLength;
    this.startId = startId;
    this.endId = endId;
    this.padId = config.padId;
    this.pattern = splitPattern(config.startToken, config.endToken);
    this.specials = new Map([
      [config.startToken, startId],
      [config.endToken, endId],
    ]);
  }

  /** Reads `tokenizer.vocab` and `tokenizer.merges` (pack-relative) from the pack folder. */
  static async fromPack(packDir: string, preprocess: TextPreprocess): Promise<ClipTokenizer> {
    const { tokenizer } = parseTextPreprocess(preprocess);
    const read = async (file: string) => {
      try {
        return await readFile(join(packDir, file), 'utf8');
      } catch (e) {
        throw filesError(`Expected the tokenizer file ${file} in ${packDir} but it could not be read: ${(e as Error).message}`);
      }
    };
    const [vocabText, mergesText] = await Promise.all([read(tokenizer.vocab), read(tokenizer.merges)]);
    return new ClipTokenizer(parseVocab(vocabText), parseMerges(mergesText), tokenizer);
  }

  /** BPE of one byte-mapped piece (no specials). */
  private bpe(piece: string): readonly number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    // Byte characters are all in the BMP: one UTF-16 unit each.
    let word = piece.split('');
    word[word.length - 1] += END_OF_WORD;
    while (word.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = word[i]!;
          second = word[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]!);
          i += 1;
        }
      }
      word = merged;
    }
    const ids = word.map((symbol) => this.vocab.get(symbol)!);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(piece, ids);
    return ids;
  }

  /**
   * Token ids of one text, without start / end tokens. Stops once `limit` ids are found
   * (tokenize needs no more than contextLength).
   */
  encode(text: string, limit = Infinity): number[] {
    if (typeof text !== 'string') {
      throw new ImageBindError('TEXT_INVALID', `Expected a string for text but received ${text === null ? 'null' : typeof text}`);
    }
    const ids: number[] = [];
    for (const match of cleanText(text).replace(UNMATCHED_UNDER_IGNORECASE, ' ').matchAll(this.pattern)) {
      const piece = match[0];
      const special = this.specials.get(piece);
      if (special !== undefined) {
        ids.push(special);
      } else {
        let mapped = '';
        for (const byte of this.encoder.encode(piece)) mapped += this.byteChars[byte];
        for (const id of this.bpe(mapped)) ids.push(id);
      }
      if (ids.length >= limit) return ids.slice(0, limit);
    }
    return ids;
  }

  /** int64 [texts.length, contextLength]: start, ids, end, padding (over-long texts keep the end token). */
  tokenize(texts: readonly string[]): TokenBatch {
    const L = this.contextLength;
    const ids = new BigInt64Array(texts.length * L).fill(BigInt(this.padId));
    texts.forEach((text, row) => {
      const tokens = [this.startId, ...this.encode(text, L - 1)].slice(0, L - 1);
      tokens.push(this.endId);
      tokens.forEach((id, i) => (ids[row * L + i] = BigInt(id)));
    });
    return { ids, shape: [texts.length, L] };
  }
}
