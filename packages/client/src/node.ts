import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { A2iError } from './a2i-error.js';
import type { ClientFile, ClientFiles } from './transport.js';

export * from './index.js';

/** A local file as a multipart part (streamed from disk, not read into memory); a missing file names its path. */
export async function fileFromPath(path: string, name = basename(path)): Promise<ClientFile> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new A2iError('MISSING_FILE', `No such file: ${path}`);
  return { data: await openAsBlob(path), name };
}

/** `{ part: path }` -> the files of a request (`file: '<part>'` in its inputs). */
export async function filesFromPaths(paths: Record<string, string>): Promise<ClientFiles> {
  const files: ClientFiles = {};
  for (const [part, path] of Object.entries(paths)) files[part] = await fileFromPath(path);
  return files;
}
