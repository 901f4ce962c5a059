import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { CodedError, ERROR_CODES } from '@a2i/protocol/errors';
import { checkKey, type ByteRange, type ObjectBody, type ObjectStore, type PresignOptions, type PutOptions, type StoredObject, type TopLevelEntry } from './object-store.js';

/**
 * The S3 API calls this store makes, and nothing else (README "Storage" lists them so an
 * operator can check a provider supports them; s3-calls.test.ts records the calls each method
 * makes against a real S3-protocol server and compares). Deletes are one DeleteObject per key,
 * not DeleteObjects: GCS's S3 API has no multi-object delete, and a job holds a few objects.
 * A presigned URL is a GetObject the client sends itself.
 */
export const S3_CALLS = ['HeadBucket', 'PutObject', 'GetObject', 'HeadObject', 'DeleteObject', 'ListObjectsV2'] as const;
export type S3Call = (typeof S3_CALLS)[number];

/** At most this many DeleteObject calls in flight for one deletePrefix. */
const DELETE_CONCURRENCY = 8;

/**
 * S3-compatible object storage as an ObjectStore: key `k` is the object `<prefix>k` of
 * `bucket`, and its location `s3://<bucket>/<prefix>k`. A PUT is atomic in S3 (readers see
 * the old object or the new one), so no temporary key is needed. Failures of the service
 * (network, 5xx, access refused) are CodedError OBJECT_STORE_UNAVAILABLE with the S3 error as
 * `cause`; a missing object is null, as for a file.
 */
export class S3Store implements ObjectStore {
  readonly kind = 's3';
  /** '' or a prefix ending with '/'. */
  readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
  ) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = trimmed === '' ? '' : `${checkKey(trimmed)}/`;
  }

  get root(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  /** A store on a sub-prefix of this one (same client and bucket). */
  under(prefix: string): S3Store {
    return new S3Store(this.client, this.bucket, `${this.prefix}${prefix}`);
  }

  async check(): Promise<void> {
    await this.call('HeadBucket', '', () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  locationOf(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  keyOf(location: string): string | null {
    const root = this.root;
    if (!location.startsWith(root)) return null;
    const key = location.slice(root.length).replace(/\/$/, '');
    try {
      return key === '' ? null : checkKey(key);
    } catch {
      return null;
    }
  }

  localPath(): null {
    return null;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<void> {
    const length = Buffer.isBuffer(body) ? body.length : options.contentLength;
    if (length === undefined) throw new TypeError(`Expected options.contentLength for a stream put to ${this.locationOf(key)}`);
    await this.call('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          ContentLength: length,
          ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
        }),
      ),
    );
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | null> {
    const answer = await this.call('GetObject', key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })),
    );
    if (!answer) return null;
    const size = answer.ContentLength ?? 0;
    // a ranged answer says the whole object's size in its Content-Range: "bytes 0-99/1234"
    const total = range ? Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? NaN) : size;
    return { body: answer.Body as Readable, size, totalSize: Number.isFinite(total) ? total : size };
  }

  async head(key: string): Promise<StoredObject | null> {
    const answer = await this.call('HeadObject', key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
    if (!answer) return null;
    return { key, size: answer.ContentLength ?? 0, modifiedMs: answer.LastModified?.getTime() ?? 0 };
  }

  async delete(key: string): Promise<void> {
    await this.call('DeleteObject', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    checkKey(prefix, true);
    let token: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${prefix}`, ...(token !== undefined ? { ContinuationToken: token } : {}) })),
      );
      for (const object of page?.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(this.prefix)) continue;
        yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0, modifiedMs: object.LastModified?.getTime() ?? 0 };
      }
      token = page?.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (prefix === '' || prefix === '/') throw new TypeError('Expected a non-empty prefix to delete under');
    const keys: string[] = [];
    for await (const object of this.list(prefix)) keys.push(object.key);
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((key) => this.delete(key)));
    }
  }

  async topLevel(): Promise<TopLevelEntry[]> {
    const newest = new Map<string, number>();
    for await (const object of this.list('')) {
      const name = object.key.split('/')[0]!;
      newest.set(name, Math.max(newest.get(name) ?? 0, object.modifiedMs));
    }
    return [...newest].map(([name, modifiedMs]) => ({ name, modifiedMs }));
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ...(options.contentType !== undefined ? { ResponseContentType: options.contentType } : {}),
      ...(options.cacheControl !== undefined ? { ResponseCacheControl: options.cacheControl } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
  }

  private objectKey(key: string): string {
    return `${this.prefix}${checkKey(key)}`;
  }

  /** Runs one S3 call: a missing object or bucket key is null, any other failure OBJECT_STORE_UNAVAILABLE. */
  private async call<T>(operation: S3Call, key: string, send: () => Promise<T>): Promise<T | null> {
    try {
      return await send();
    } catch (error) {
      if (operation !== 'HeadBucket' && operation !== 'ListObjectsV2' && isNotFound(error)) return null;
      throw new CodedError(ERROR_CODES.OBJECT_STORE_UNAVAILABLE, `S3 ${operation} of ${this.root}${key} failed: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** S3's answer for a key that is not there (GetObject: NoSuchKey; HeadObject: a bare 404); a missing bucket is a failure. */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
