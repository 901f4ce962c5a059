import type { Readable } from 'node:stream';

/**
 * Where uploads and results live, as one small interface with two implementations: a local
 * directory (FileStore, the default) and S3-compatible object storage (S3Store). A store is
 * rooted (a directory, or a bucket and a key prefix); keys are relative to that root.
 *
 * A key is `/`-separated segments, none empty, `.` or `..`, without `\` or NUL
 * (`<jobId>/part-0`, `<jobId>/0.png`). A prefix is a key, optionally ending with `/`.
 *
 * A location (`locationOf`) is how a key is named outside the store, in job data: the
 * absolute path of the file (FileStore) or `s3://bucket/key` (S3Store); `keyOf` turns one
 * back into a key, and refuses (null) a location outside the store's root: job data is input.
 */
export interface StoredObject {
  key: string;
  size: number;
  /** Last modification, epoch ms (S3: LastModified; a file: its mtime). */
  modifiedMs: number;
}

export interface ObjectBody {
  body: Readable;
  /** Bytes of `body` (of the range, when one was asked for). */
  size: number;
  /** Bytes of the whole object. */
  totalSize: number;
}

/** Bytes `start`..`end` of an object, both inclusive (HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOptions {
  /** Bytes of `body`; required by S3 for a stream (a PUT states its length). */
  contentLength?: number;
  contentType?: string;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /** Content-Type and Cache-Control the storage answers the URL with. */
  contentType?: string;
  cacheControl?: string;
}

/** The first segment of keys (a job's folder) with the newest modification under it. */
export interface TopLevelEntry {
  name: string;
  modifiedMs: number;
}

export interface ObjectStore {
  readonly kind: 'file' | 's3';
  /** The directory, or s3://bucket/prefix/ (for logs). */
  readonly root: string;
  /** Makes sure the store can be used: the directory exists, the bucket answers with these credentials. */
  check(): Promise<void>;
  /** Writes `body` as `key`, replacing what was there; readers never see half of it. */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<void>;
  /** Streams `key` (or its bytes `range`, which must lie inside it), or null when there is none. */
  get(key: string, range?: ByteRange): Promise<ObjectBody | null>;
  head(key: string): Promise<StoredObject | null>;
  /** Removes `key` (none: no error). */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in no promised order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Removes every object under a non-empty `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** The first segments of all keys, each with its newest modification (the sweeper's view). */
  topLevel(): Promise<TopLevelEntry[]>;
  /** A URL anyone holding it may GET `key` with until it expires; null where the store has none (a directory). */
  presignGet(key: string, options: PresignOptions): Promise<string | null>;
  locationOf(key: string): string;
  /** The key of a location inside this store, else null. */
  keyOf(location: string): string | null;
  /** The local file holding `key` (FileStore), null where objects are not local files. */
  localPath(key: string): string | null;
}

const SEGMENT = /^(?!\.{1,2}$)[^/\\\0]+$/;

/** Checks a key (`allowPrefix`: may be empty or end with `/`); returns it. */
export function checkKey(key: string, allowPrefix = false): string {
  const body = allowPrefix && key.endsWith('/') ? key.slice(0, -1) : key;
  if (allowPrefix && body === '') return key;
  if (!body.split('/').every((segment) => SEGMENT.test(segment))) {
    throw new TypeError(`Expected a storage key of '/'-separated names (no '.', '..', '\\' or empty name) but received ${JSON.stringify(key)}`);
  }
  return key;
}
