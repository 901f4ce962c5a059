/**
 * GPT-2's reversible byte -> character table (openai/gpt-2 encoder.py `bytes_to_unicode`,
 * reused by CLIP's simple_tokenizer.py): printable Latin-1 bytes ('!'..'~', '¡'..'¬',
 * '®'..'ÿ') map to themselves, the other 68 bytes to U+0100 onwards in byte order, so BPE
 * never sees whitespace or control characters.
 *
 * @returns [256]: the character for each byte
 */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  return table;
}

/**
 * CLIP's vocabulary order for its first 512 entries (simple_tokenizer.py): the byte
 * characters in GPT-2's list order (the printable ones, then the remapped ones), then the
 * same with "</w>".
 */
export function byteVocabularyOrder(): string[] {
  const table = bytesToUnicode();
  const printable = table.filter((ch) => ch.codePointAt(0)! < 256);
  const remapped = table.filter((ch) => ch.codePointAt(0)! >= 256);
  const chars = [...printable, ...remapped];
  return [...chars, ...chars.map((c) => `${c}</w>`)];
}
