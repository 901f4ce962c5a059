import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '@a2i/pipeline';
import { FileStore, S3Store, createS3Client, readObject } from '@a2i/storage';
import { placeAttemptResults } from '../src/attempt-results.js';
import { localInputs } from '../src/job-inputs.js';
import { sweepExpired } from '../src/result-sweeper.js';
import { startTestS3Server, type TestS3Server } from '../../../test/support/s3-server.js';

/** An 8 x 8 image of one colour. */
const image = (value: number, seed: number) => ({ rgb: new Uint8Array(8 * 8 * 3).fill(value), width: 8, height: 8, seed });

/**
 * The worker's side of object storage, against a real S3-protocol server (s3rver): results
 * per attempt, the job's files fetched for the decoders, and the sweeper.
 */
describe('the worker on object storage', () => {
  let s3: TestS3Server;
  let tmp: string;
  let results: S3Store;
  let uploads: S3Store;

  beforeAll(async () => {
    s3 = await startTestS3Server();
    tmp = await mkdtemp(join(tmpdir(), 'a2i-worker-s3-'));
    const base = new S3Store(createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials }), s3.bucket, 'w');
    results = base.under('results');
    uploads = base.under('uploads');
  });
  afterAll(async () => {
    await s3?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  async function keys(store: S3Store, prefix = ''): Promise<string[]> {
    const found: string[] = [];
    for await (const object of store.list(prefix)) found.push(object.key);
    return found.sort();
  }

  it('two attempts of one job write apart (under their attempt), and each removes only its own', async () => {
    const first = await placeAttemptResults(results, 'job-1', 1, [image(10, 7), image(20, 8)], 'png', (img, i) => [{ keyword: 'parameters', text: `seed ${img.seed} #${i}` }]);
    const second = await placeAttemptResults(results, 'job-1', 2, [image(30, 7), image(40, 8)], 'png');
    expect(await keys(results)).toEqual(['job-1/1/0.png', 'job-1/1/1.png', 'job-1/2/0.png', 'job-1/2/1.png']);
    expect(first.images.map((link) => [link.index, link.url, link.seed])).toEqual([
      [0, '/v1/generations/job-1/images/0', 7],
      [1, '/v1/generations/job-1/images/1', 8],
    ]);
    const stored = (await readObject(results, 'job-1/1/1.png'))!;
    expect(stored.length).toBe(first.images[1]!.bytes);
    expect(readPngText(stored)).toEqual([{ keyword: 'parameters', text: 'seed 8 #1' }]);
    expect((await results.head('job-1/1/0.png'))?.size).toBe(first.images[0]!.bytes);
    // the first attempt was not recorded: it removes its own images, the second's stay
    await first.remove();
    expect(await keys(results)).toEqual(['job-1/2/0.png', 'job-1/2/1.png']);
    await second.remove();
    expect(await keys(results)).toEqual([]);
  });

  it('fetches a job\'s files into a folder of the run for the decoders, refuses foreign locations, and lets the copies go', async () => {
    await uploads.put('job-2/part-0', Buffer.from('RIFF....a sound'));
    await uploads.put('job-2/part-1', Buffer.from('an image'));
    const items = [
      { modality: 'audio', file: uploads.locationOf('job-2/part-0') },
      { modality: 'text', text: 'no file' },
      { modality: 'image', file: uploads.locationOf('job-2/part-1') },
      { modality: 'audio', file: uploads.locationOf('job-2/part-0') },
    ];
    const local = await localInputs(items, uploads, tmp, 'job-2-1');
    const [folder] = await readdir(tmp);
    expect(folder).toMatch(/^\.fetch-job-2-1-[0-9a-f]{8}$/);
    expect(local.items[1]).toEqual(items[1]);
    expect(local.items[0]!.file).toBe(local.items[3]!.file); // one copy of one object
    expect(local.items.map((item) => item.file?.startsWith(join(tmp, folder!)) ?? null)).toEqual([true, null, true, true]);
    expect(await readdir(join(tmp, folder!))).toHaveLength(2);
    await local.release();
    expect(await readdir(tmp)).toEqual([]);

    await expect(localInputs([{ file: `s3://${s3.bucket}/w/results/job-1/1/0.png` }], uploads, tmp, 'x')).rejects.toMatchObject({ code: 'INVALID_JOB' });
    await expect(localInputs([{ file: '/etc/passwd' }], uploads, tmp, 'x')).rejects.toMatchObject({ code: 'INVALID_JOB' });
    await expect(localInputs([{ file: uploads.locationOf('job-2/part-9') }], uploads, tmp, 'x')).rejects.toMatchObject({ code: 'UPLOAD_MISSING' });
    expect(await readdir(tmp)).toEqual([]);
    // a directory store: files are read where the job data names them
    const direct = [{ file: '/srv/uploads/job/part-0' }];
    expect((await localInputs(direct, new FileStore('/srv/uploads'), tmp, 'x')).items).toBe(direct);
    await uploads.deletePrefix('job-2/');
  });

  it('sweeps results past the TTL, and uploads past the grace that no live job owns', async () => {
    await results.put('old-job/1/0.png', Buffer.from('x'));
    await uploads.put('waiting-job/part-0', Buffer.from('x'));
    await uploads.put('finished-job/part-0', Buffer.from('x'));
    const later = Date.now() + 10 * 60_000;
    // not yet past the TTL: kept
    expect(await sweepExpired(results, 3_600_000, later)).toEqual([]);
    expect(await sweepExpired(results, 60_000, later)).toEqual(['old-job']);
    expect(await keys(results)).toEqual([]);
    const removed = await sweepExpired(uploads, 60_000, later, async (name) => name === 'waiting-job');
    expect(removed).toEqual(['finished-job']);
    expect(await keys(uploads)).toEqual(['waiting-job/part-0']);
    await uploads.deletePrefix('waiting-job/');
  });
});
