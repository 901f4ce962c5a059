import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3Server, type TestS3Server } from '../../../test/support/s3-server.js';
import { FileStore, S3Store, createS3Client, fetchToFile, putFile, readObject, type ObjectStore } from '../src/index.js';

/** Everything `store` lists, as sorted keys. */
async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for await (const object of store.list(prefix)) found.push(object.key);
  return found.sort();
}

/**
 * One behaviour, two stores: the local directory and S3 (a real S3-protocol server on
 * loopback, s3rver, with a fresh bucket). What the server relies on holds for both.
 */
describe.each(['file', 's3'] as const)('ObjectStore: %s', (kind) => {
  let tmp: string;
  let server: TestS3Server | undefined;
  let store: ObjectStore;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-store-'));
    if (kind === 'file') {
      store = new FileStore(join(tmp, 'root'));
    } else {
      server = await startTestS3Server();
      store = new S3Store(createS3Client({ endpoint: server.endpoint, credentials: server.credentials }), server.bucket, 'deploy/uploads');
    }
    await store.check();
  });
  afterAll(async () => {
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('puts bytes and streams, gets them back, heads them, and answers null for what is not there', async () => {
    await store.put('job-a/part-0', Buffer.from('first bytes'));
    await store.put('job-a/part-1', Readable.from([Buffer.from('a stream '), Buffer.from('in two chunks')]), { contentLength: 22 });
    expect((await readObject(store, 'job-a/part-0'))?.toString()).toBe('first bytes');
    expect((await readObject(store, 'job-a/part-1'))?.toString()).toBe('a stream in two chunks');
    const head = await store.head('job-a/part-1');
    expect(head?.size).toBe(22);
    expect(Math.abs(head!.modifiedMs - Date.now())).toBeLessThan(60_000);
    expect(await store.get('job-a/part-9')).toBeNull();
    expect(await store.head('job-a/part-9')).toBeNull();
    expect(await store.head('no-such-job/part-0')).toBeNull();
    // a put replaces
    await store.put('job-a/part-0', Buffer.from('replaced'));
    expect((await readObject(store, 'job-a/part-0'))?.toString()).toBe('replaced');
  });

  it('reads a byte range, saying the size of the part and of the whole object', async () => {
    await store.put('job-r/0.mp4', Buffer.from('0123456789abcdef'));
    const middle = (await store.get('job-r/0.mp4', { start: 3, end: 7 }))!;
    expect([middle.size, middle.totalSize]).toEqual([5, 16]);
    expect(Buffer.concat(await middle.body.toArray()).toString()).toBe('34567');
    const last = (await store.get('job-r/0.mp4', { start: 15, end: 15 }))!;
    expect([last.size, last.totalSize, Buffer.concat(await last.body.toArray()).toString()]).toEqual([1, 16, 'f']);
    const whole = (await store.get('job-r/0.mp4'))!;
    expect([whole.size, whole.totalSize]).toEqual([16, 16]);
    whole.body.destroy();
    await store.deletePrefix('job-r/');
  });

  it('streams local files in and out (putFile, fetchToFile)', async () => {
    const source = join(tmp, 'source.bin');
    const bytes = Buffer.alloc(300_000, 7);
    bytes.write('head', 0);
    await writeFile(source, bytes);
    await putFile(store, 'job-b/part-0', source);
    const copy = join(tmp, 'copies', 'part-0');
    expect(await fetchToFile(store, 'job-b/part-0', copy)).toBe(true);
    expect((await readObject(store, 'job-b/part-0'))?.equals(bytes)).toBe(true);
    expect(await fetchToFile(store, 'job-b/part-7', join(tmp, 'copies', 'none'))).toBe(false);
    expect(await readdir(join(tmp, 'copies'))).toEqual(['part-0']);
  });

  it('lists by prefix, groups the top level with its newest change, deletes one key and whole prefixes', async () => {
    await store.put('job-c/0.png', Buffer.from('0'));
    await store.put('job-c/1/0.png', Buffer.from('10'));
    await store.put('job-cd/0.png', Buffer.from('x'));
    expect(await keys(store, 'job-c/')).toEqual(['job-c/0.png', 'job-c/1/0.png']);
    expect(await keys(store, 'job-c')).toEqual(['job-c/0.png', 'job-c/1/0.png', 'job-cd/0.png']);
    expect(await keys(store, 'nothing/')).toEqual([]);
    const top = await store.topLevel();
    expect(top.map((entry) => entry.name).sort()).toEqual(['job-a', 'job-b', 'job-c', 'job-cd']);
    expect(top.every((entry) => Math.abs(entry.modifiedMs - Date.now()) < 60_000)).toBe(true);

    await store.delete('job-c/0.png');
    await store.delete('job-c/0.png'); // none: no error
    expect(await keys(store, 'job-c/')).toEqual(['job-c/1/0.png']);
    await store.deletePrefix('job-c/');
    expect(await keys(store)).toEqual(['job-a/part-0', 'job-a/part-1', 'job-b/part-0', 'job-cd/0.png']);
    await expect(store.deletePrefix('')).rejects.toThrow(/non-empty prefix/);
    for (const name of ['job-a', 'job-b', 'job-cd']) await store.deletePrefix(`${name}/`);
    expect(await keys(store)).toEqual([]);
    expect(await store.topLevel()).toEqual([]);
  });

  it('names keys by a location job data can carry, and refuses locations outside its root', async () => {
    const location = store.locationOf('job-d/part-0');
    expect(location).toBe(kind === 'file' ? join(tmp, 'root', 'job-d', 'part-0') : `s3://${server!.bucket}/deploy/uploads/job-d/part-0`);
    expect(store.keyOf(location)).toBe('job-d/part-0');
    expect(store.keyOf(store.locationOf('job-d'))).toBe('job-d');
    const outside = kind === 'file' ? ['/etc/passwd', join(tmp, 'root'), join(tmp, 'root', '..', 'other'), 'relative/path'] : [`s3://${server!.bucket}/deploy/other/x`, `s3://other-bucket/deploy/uploads/x`, `s3://${server!.bucket}/deploy/uploads/../x`, '/var/uploads/x'];
    for (const foreign of outside) expect({ foreign, key: store.keyOf(foreign) }).toEqual({ foreign, key: null });
  });

  it('refuses keys that could leave the root', async () => {
    for (const key of ['../escape', 'a/../../b', '/absolute', 'a//b', 'a\\b', '.', '']) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(/storage key/);
    }
    await expect(keys(store, '../')).rejects.toThrow(/storage key/);
  });

  it(kind === 'file' ? 'has local paths and no presigned URLs' : 'has presigned GETs that work until they expire, and no local paths', async () => {
    await store.put('job-e/0.png', Buffer.from('an image'));
    if (kind === 'file') {
      expect(store.localPath('job-e/0.png')).toBe(join(tmp, 'root', 'job-e', '0.png'));
      expect(await store.presignGet('job-e/0.png', { expiresInSeconds: 60 })).toBeNull();
      return;
    }
    expect(store.localPath('job-e/0.png')).toBeNull();
    const url = (await store.presignGet('job-e/0.png', { expiresInSeconds: 60, contentType: 'image/png', cacheControl: 'private, max-age=60' }))!;
    const answer = await fetch(url);
    expect([answer.status, answer.headers.get('content-type'), answer.headers.get('cache-control'), await answer.text()]).toEqual([200, 'image/png', 'private, max-age=60', 'an image']);
    // the signature covers the key: another key with the same signature is refused
    expect((await fetch(url.replace('/job-e/0.png', '/job-e/1.png'))).status).toBe(403);
    const shortLived = (await store.presignGet('job-e/0.png', { expiresInSeconds: 1 }))!;
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await fetch(shortLived)).status).toBe(403);
  });
});

describe('S3Store failures', () => {
  it('reports an unreachable service or a missing bucket as OBJECT_STORE_UNAVAILABLE (a server fault, 503)', async () => {
    const server = await startTestS3Server();
    const client = createS3Client({ endpoint: server.endpoint, credentials: server.credentials });
    try {
      const missing = new S3Store(client, 'no-such-bucket-here');
      await expect(missing.check()).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE', fault: 'server' });
      await expect(missing.put('a/b', Buffer.from('x'))).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE' });
      const wrongKeys = new S3Store(createS3Client({ endpoint: server.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } }), server.bucket);
      await expect(wrongKeys.check()).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE' });
    } finally {
      await server.close();
    }
    const gone = new S3Store(createS3Client({ endpoint: server.endpoint, credentials: server.credentials }), server.bucket);
    await expect(gone.head('a/b')).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE' });
  });

  it('asks for the length of a streamed put (S3 PUTs state it)', async () => {
    const store = new S3Store(createS3Client({ endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }), 'some-bucket');
    await expect(store.put('a/b', Readable.from([Buffer.from('x')]))).rejects.toThrow(/contentLength/);
  });
});
