import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore, PutOptions } from './object-store.js';

/** Streams a local file into `store` as `key` (its length known from the file, never held whole in memory). */
export async function putFile(store: ObjectStore, key: string, path: string, options: Omit<PutOptions, 'contentLength'> = {}): Promise<void> {
  const { size } = await stat(path);
  await store.put(key, createReadStream(path), { ...options, contentLength: size });
}

/** Streams `key` of `store` into the local file `path`; false (and no file) when there is no such object. */
export async function fetchToFile(store: ObjectStore, key: string, path: string): Promise<boolean> {
  const object = await store.get(key);
  if (!object) return false;
  await mkdir(dirname(path), { recursive: true });
  try {
    await pipeline(object.body, createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return true;
}

/** The whole of `key` in memory (small objects only: a job's images for inline answers), or null when there is none. */
export async function readObject(store: ObjectStore, key: string): Promise<Buffer | null> {
  const object = await store.get(key);
  if (!object) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
