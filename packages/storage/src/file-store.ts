import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, type ByteRange, type ObjectBody, type ObjectStore, type PutOptions, type StoredObject, type TopLevelEntry } from './object-store.js';

/**
 * The local directory as an ObjectStore (the default, `A2I_STORAGE=file:var`): key `a/b` is
 * the file `<root>/a/b`, and a location is that absolute path, so job data and the layout on
 * disk are what they were before object storage existed. A put goes through a temporary name
 * and a rename; a directory has no presigned URLs.
 */
export class FileStore implements ObjectStore {
  readonly kind = 'file';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  localPath(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  locationOf(key: string): string {
    return this.localPath(key);
  }

  keyOf(location: string): string | null {
    if (!isAbsolute(location)) return null;
    const inside = relative(this.root, resolve(location));
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return null;
    return inside.split(sep).join('/');
  }

  async put(key: string, body: Readable | Buffer, _options: PutOptions = {}): Promise<void> {
    const path = this.localPath(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.part`;
    try {
      if (Buffer.isBuffer(body)) await writeFile(temp, body);
      else await pipeline(body, createWriteStream(temp));
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | null> {
    const handle = await open(this.localPath(key), 'r').catch(missing);
    if (!handle) return null;
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return null;
    }
    if (!range) return { body: handle.createReadStream(), size: info.size, totalSize: info.size };
    return { body: handle.createReadStream({ start: range.start, end: range.end }), size: range.end - range.start + 1, totalSize: info.size };
  }

  async head(key: string): Promise<StoredObject | null> {
    const info = await stat(this.localPath(key)).catch(missing);
    return info?.isFile() ? { key, size: info.size, modifiedMs: info.mtimeMs } : null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    checkKey(prefix, true);
    // the folder that holds every key with this prefix, walked; keys filtered by the prefix
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    for await (const object of this.walk(folder)) if (object.key.startsWith(prefix)) yield object;
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (prefix === '' || prefix === '/') throw new TypeError('Expected a non-empty prefix to delete under');
    checkKey(prefix, true);
    if (prefix.endsWith('/')) {
      // retried: a writer may be adding a file while the folder goes (ENOTEMPTY)
      await rm(this.localPath(prefix.slice(0, -1)), { recursive: true, force: true, maxRetries: 3 });
      return;
    }
    for await (const object of this.list(prefix)) await this.delete(object.key);
  }

  /** Each entry of the directory with its own modification time (a folder's: when an entry last came or went). */
  async topLevel(): Promise<TopLevelEntry[]> {
    const names = await readdir(this.root).catch(missing);
    const entries: TopLevelEntry[] = [];
    for (const name of names ?? []) {
      const info = await stat(join(this.root, name)).catch(missing);
      if (info) entries.push({ name, modifiedMs: info.mtimeMs });
    }
    return entries;
  }

  async presignGet(): Promise<null> {
    return null;
  }

  private async *walk(folder: string): AsyncIterable<StoredObject> {
    const dir = folder === '' ? this.root : this.localPath(folder);
    const entries = await readdir(dir, { withFileTypes: true }).catch(missing);
    for (const entry of entries ?? []) {
      const key = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        yield* this.walk(key);
      } else if (entry.isFile()) {
        const info = await stat(join(dir, entry.name)).catch(missing);
        if (info) yield { key, size: info.size, modifiedMs: info.mtimeMs };
      }
    }
  }
}

/** null for a path that is not there (or stopped being there), else the error again. */
function missing(error: unknown): null {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return null;
  throw error;
}
