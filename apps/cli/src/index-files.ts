import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { describeSniffed, sniffMediaType } from '@a2i/media';
import type { Modality } from '@a2i/protocol';

/** One file `a2i index add` will store, with the id it gets and the modality its bytes say it is. */
export interface IndexFile {
  path: string;
  /** Its path relative to the directory it was found in (POSIX separators), or its name when given as a file. */
  id: string;
  modality: Extract<Modality, 'audio' | 'image' | 'video' | 'text'>;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

/** Bytes read to tell a file's type: file-type's signatures need ~4 KiB, the text check looks at 64 KiB. */
const SNIFF_BYTES = 65536;

async function head(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const paths: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) paths.push(...(await walk(path)));
    else if (entry.isFile()) paths.push(path);
  }
  return paths;
}

/**
 * The files named on the command line (directories walked recursively, hidden entries left
 * out, in name order), each with its id and its modality from its bytes (@a2i/media's
 * sniffing, never its name): audio, image and video files are taken; text files only with
 * `textFiles` (they become text items); anything else is skipped with the reason.
 *
 * Ids: a file found in a directory is named by its path relative to that directory
 * (`birds/robin.wav`), a file named directly by its file name: the same tree added again
 * (even from another working directory) gives the same ids, which is what makes `index add`
 * resumable. Two files with one id (`a/x.wav` and `b/x.wav` given as files) are refused.
 */
export async function collectIndexFiles(paths: string[], options: { textFiles: boolean }): Promise<{ files: IndexFile[]; skipped: SkippedFile[] }> {
  const found: Array<{ path: string; id: string }> = [];
  for (const given of paths) {
    const info = await stat(given).catch(() => null);
    if (!info) throw new Error(`No such file or directory: ${given}`);
    if (info.isDirectory()) {
      for (const path of await walk(given)) found.push({ path, id: relative(given, path).split(sep).join('/') });
    } else {
      found.push({ path: given, id: basename(given) });
    }
  }
  const files: IndexFile[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Map<string, string>();
  for (const { path, id } of found) {
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new Error(`Expected one file per id but ${earlier} and ${path} would both be stored as ${JSON.stringify(id)}; add their folder instead`);
    seen.set(id, path);
    const sniffed = await sniffMediaType(await head(path));
    if (sniffed.kind === 'audio' || sniffed.kind === 'image' || sniffed.kind === 'video') files.push({ path, id, modality: sniffed.kind });
    else if (sniffed.kind === 'text' && options.textFiles) files.push({ path, id, modality: 'text' });
    else if (sniffed.kind === 'text') skipped.push({ path, reason: `${describeSniffed(sniffed)} (--text-files stores text files as text items)` });
    else skipped.push({ path, reason: describeSniffed(sniffed) });
  }
  return { files, skipped };
}

/**
 * `k=v` pairs (--metadata, --filter): `true` / `false` become booleans, plain decimal numbers
 * (`2020`, `-1.5`, not `007` or `1e3`) numbers, anything else stays a string.
 */
export function parseKeyValues(pairs: string[], flag: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new TypeError(`Expected key=value for --${flag} but received ${JSON.stringify(pair)}`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : /^-?(0|[1-9]\d*)(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}
