import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byteVocabularyOrder, cleanText, ClipTokenizer, htmlUnescape, ImageBindError, parseMerges, type ClipBpeConfig, type TextPreprocess } from '../src/index.js';
import { codeOf } from './helpers.js';
import { CACHE_REFERENCE, exists, readJson, REPO } from './helpers.js';

const config: ClipBpeConfig = {
  type: 'clip-bpe', vocab: 'tokenizer/vocab.json', merges: 'tokenizer/merges.txt', contextLength: 8,
  startToken: '<|startoftext|>', endToken: '<|endoftext|>', padId: 0, lowercase: true,
};

// A tiny CLIP-layout vocabulary: 512 byte symbols, one entry per merge, then start / end.
const MERGES: Array<[string, string]> = [
  ['t', 'h'], // 0
  ['h', 'e</w>'], // 1: never used for "the": "t h" ranks first and consumes the h
  ['th', 'e</w>'], // 2
  ['d', 'o'], // 3
  ['do', 'g</w>'], // 4
  ['o', 'g</w>'], // 5: "dog" merges d-o first (rank 3 < 5)
];
function tinyVocab(merges = MERGES): Map<string, number> {
  const tokens = [...byteVocabularyOrder(), ...merges.map(([a, b]) => a + b), '<|startoftext|>', '<|endoftext|>'];
  return new Map(tokens.map((t, i) => [t, i]));
}
const vocab = tinyVocab();
const id = (token: string) => vocab.get(token)!;
const tok = new ClipTokenizer(vocab, MERGES, config);

describe('ClipTokenizer (tiny vocabulary)', () => {
  it('applies merges lowest rank first and marks word ends with </w>', () => {
    expect(tok.encode('the dog')).toEqual([id('the</w>'), id('dog</w>')]);
    expect(tok.encode('thee')).toEqual([id('th'), id('e'), id('e</w>')]);
    expect(tok.encode('a')).toEqual([id('a</w>')]);
  });
  it('lower-cases, collapses whitespace and unescapes HTML before splitting', () => {
    expect(tok.encode('  THE\t\n  Dog ')).toEqual(tok.encode('the dog'));
    expect(tok.encode('a&amp;amp;b')).toEqual([id('a</w>'), id('&</w>'), id('b</w>')]); // unescaped twice
  });
  it('splits contractions, letters, single digits and symbol runs like CLIP', () => {
    expect(tok.encode("dog's 42!?")).toEqual([id('dog</w>'), id("'"), id('s</w>'), id('4</w>'), id('2</w>'), id('!'), id('?</w>')]);
  });
  it('skips U+0345 between letters as Python regex does under IGNORECASE (it splits the run)', () => {
    expect(tok.encode('a\u0345b')).toEqual([id('a</w>'), id('b</w>')]);
  });
  it('maps UTF-8 bytes through the byte table (é = C3 A9 -> "Ã", "©")', () => {
    expect(tok.encode('é')).toEqual([id('Ã'), id('©</w>')]);
  });
  it('turns the start / end token strings typed in the text into those tokens, as CLIP does', () => {
    expect(tok.encode('a <|endoftext|> b')).toEqual([id('a</w>'), tok.endId, id('b</w>')]);
  });
  it('tokenize: start, ids, end, zero padding, int64 [N, contextLength]', () => {
    const batch = tok.tokenize(['the dog', '']);
    expect(batch.shape).toEqual([2, 8]);
    expect(Array.from(batch.ids, Number)).toEqual([
      tok.startId, id('the</w>'), id('dog</w>'), tok.endId, 0, 0, 0, 0,
      tok.startId, tok.endId, 0, 0, 0, 0, 0, 0,
    ]);
  });
  it('truncates an over-long text to contextLength - 1 tokens and keeps the end token last', () => {
    const row = Array.from(tok.tokenize(['a b c d e f g h i j']).ids, Number);
    expect(row).toEqual([tok.startId, ...'abcdef'.split('').map((c) => id(`${c}</w>`)), tok.endId]);
  });
  it('refuses a non-string text with TEXT_INVALID', () => {
    expect(codeOf(() => tok.encode(42 as unknown as string))).toBe('TEXT_INVALID');
  });
});

describe('tokenizer files', () => {
  it('parses merges.txt with a #version line, CRLF and a trailing newline', () => {
    expect(parseMerges('#version: 0.2\r\nt h\r\nth e</w>\n')).toEqual([['t', 'h'], ['th', 'e</w>']]);
  });
  it('refuses malformed files with TOKENIZER_INVALID_FILES', () => {
    expect(codeOf(() => parseMerges('#version: 0.2\nt h x\n'))).toBe('TOKENIZER_INVALID_FILES');
    const noEnd = tinyVocab();
    noEnd.delete('<|endoftext|>');
    expect(codeOf(() => new ClipTokenizer(noEnd, MERGES, config))).toBe('TOKENIZER_INVALID_FILES');
    const noByte = tinyVocab();
    noByte.delete('q</w>');
    expect(() => new ClipTokenizer(noByte, MERGES, config)).toThrow('Expected the byte symbol "q</w>" in vocab.json');
    expect(codeOf(() => new ClipTokenizer(tinyVocab(), [...MERGES, ['x', 'y']], config))).toBe('TOKENIZER_INVALID_FILES');
  });
  it('loads vocab.json + merges.txt from a pack folder and names a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clip-bpe-'));
    const pre: TextPreprocess = { type: 'text', tokenizer: { ...config, vocab: 'vocab.json', merges: 'merges.txt' } };
    await expect(ClipTokenizer.fromPack(dir, pre)).rejects.toMatchObject({ code: 'TOKENIZER_INVALID_FILES' });
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(vocab)));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${MERGES.map((m) => m.join(' ')).join('\n')}\n`);
    const loaded = await ClipTokenizer.fromPack(dir, pre);
    expect(loaded.encode('the dog')).toEqual(tok.encode('the dog'));
    writeFileSync(join(dir, 'vocab.json'), '{not json');
    await expect(ClipTokenizer.fromPack(dir, pre)).rejects.toMatchObject({ code: 'TOKENIZER_INVALID_FILES' });
  });
  it('refuses a bad tokenizer section with INVALID_MANIFEST', async () => {
    const bad = { type: 'text', tokenizer: { ...config, contextLength: 1 } } as TextPreprocess;
    await expect(ClipTokenizer.fromPack('/nowhere', bad)).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    const cased = { type: 'text', tokenizer: { ...config, lowercase: false } } as unknown as TextPreprocess;
    await expect(ClipTokenizer.fromPack('/nowhere', cased)).rejects.toThrow('tokenizer.lowercase');
  });
});

describe('cleanText follows Python (regex \\s, str.strip, html.unescape)', () => {
  it('collapses Unicode White_Space (incl. U+0085, U+3000) but not U+FEFF or U+200B', () => {
    expect(cleanText('a\u0085b\u3000c\u00a0d')).toBe('a b c d');
    expect(cleanText('a\ufeffb\u200bc')).toBe('a\ufeffb\u200bc');
  });
  it('strips U+001C..U+001F at the ends only (str.isspace), keeps them inside', () => {
    expect(cleanText('\x1c a\x1fb \x1d')).toBe('a\x1fb');
  });
  it('unescapes like html.unescape: legacy names without ";", numeric references, Windows-1252', () => {
    // Outputs of Python 3.11 html.unescape
    expect(htmlUnescape('&amp &lt3 &copy; &notit; AT&T')).toBe('& <3 © ¬it; AT&T');
    expect(htmlUnescape('&#39;&#x27;&#X41;&#128;&#0;&#1;&#xD800;&#1114112;')).toBe("''A€\ufffd\ufffd\ufffd");
    expect(htmlUnescape('&#38;amp;')).toBe('&amp;'); // one pass
  });
});

interface TokensJson {
  contextLength: number;
  padId: number;
  texts: string[];
  /** Rows without their trailing padding. */
  ids: number[][];
}

async function parity(packDir: string, vocabFile: string, mergesFile: string, tokensFile: string): Promise<void> {
  const ref = readJson<TokensJson>(tokensFile);
  const tokenizer = await ClipTokenizer.fromPack(packDir, {
    type: 'text',
    tokenizer: { ...config, vocab: vocabFile, merges: mergesFile, contextLength: ref.contextLength },
  });
  const batch = tokenizer.tokenize(ref.texts);
  const rows = ref.texts.map((_, i) => Array.from(batch.ids.subarray(i * ref.contextLength, (i + 1) * ref.contextLength), Number));
  const padded = ref.ids.map((row) => [...row, ...new Array<number>(ref.contextLength - row.length).fill(ref.padId)]);
  ref.texts.forEach((text, i) => expect(rows[i], JSON.stringify(text)).toEqual(padded[i]));
}

// The demo pack's vocabulary against clip_bpe.ClipBpeTokenizer (reference_text.py demo): ids identical.
const demoTokens = join(REPO, 'models', 'demo', 'reference', 'text', 'tokens.json');
const demoVocab = join(REPO, 'models', 'demo', 'tokenizer', 'vocab.json');
describe.skipIf(!exists(demoTokens) || !exists(demoVocab))('ClipTokenizer on the demo vocabulary', () => {
  it("the reference was made with the pack's tokenizer files", () => {
    const { tokenizerSha256 } = readJson<{ tokenizerSha256: Record<string, string> }>(demoTokens);
    for (const file of ['vocab.json', 'merges.txt']) {
      const sha = createHash('sha256').update(readFileSync(join(REPO, 'models', 'demo', 'tokenizer', file))).digest('hex');
      expect(sha, `models/demo/tokenizer/${file} changed: rerun models/recipes/reference_text.py demo`).toBe(tokenizerSha256[file]);
    }
  });
  it('gives the reference ids for every tricky and random text', () => parity(join(REPO, 'models', 'demo'), 'tokenizer/vocab.json', 'tokenizer/merges.txt', demoTokens));
});

// CLIP's real vocabulary against CLIP's own SimpleTokenizer (ftfy stubbed), made locally by
// `reference_text.py real --bpe ... --clip-tokenizer ...` into .cache (never committed).
const realDir = join(CACHE_REFERENCE, 'real-vocab');
describe.skipIf(!exists(join(realDir, 'tokens.json')))("ClipTokenizer on CLIP's real vocabulary", () => {
  it("gives CLIP SimpleTokenizer's ids for every tricky and random text", () => parity(realDir, 'tokenizer/vocab.json', 'tokenizer/merges.txt', join(realDir, 'tokens.json')));
});
