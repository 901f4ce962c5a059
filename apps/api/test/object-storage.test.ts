import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '@a2i/pipeline';
import { JobStateStore } from '@a2i/protocol';
import { S3Store, createS3Client, readObject } from '@a2i/storage';
import { createApp } from '../src/index.js';
import { REFUSE_PROMPT } from './fixtures/input-refusing-pipeline.js';
import { connectSocket, json, openQueueProbe, recordSocketEvents, silent, startStack, waitFor, type QueueProbe, type Stack } from './harness.js';
import { sampleSoundWav } from '../../../test/support/sample-sound.js';
import { startTestS3Server, useTestS3Credentials, type TestS3Server } from '../../../test/support/s3-server.js';

/**
 * The server on object storage (A2I_STORAGE=s3://bucket/deploy), end to end: a real api and
 * worker (in-process, real Redis, real BullMQ) and a real S3-protocol server on loopback
 * (test/support/s3-server.ts). Uploads go to the bucket at POST and the worker reads them from
 * there; results are written there and served from there (streamed, or a presigned redirect);
 * the bucket holds nothing of a job once it is over, whatever became of it; the results TTL
 * holds without a lifecycle rule (the sweeper).
 */

const REFUSING_PIPELINE = fileURLToPath(new URL('./fixtures/input-refusing-pipeline.ts', import.meta.url));
const wav = (seconds = 0.1): Buffer => Buffer.from(sampleSoundWav({ seconds }));
const soundRequest = (options: Record<string, unknown> = {}) => ({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], previewEvery: 0, ...options });

function form(request: unknown, files: Record<string, Buffer | string> = {}): FormData {
  const body = new FormData();
  body.set('request', JSON.stringify(request));
  for (const [name, bytes] of Object.entries(files)) body.set(name, new Blob([bytes]), `${name}.bin`);
  return body;
}

async function post(url: string, body: FormData) {
  const response = await fetch(url, { method: 'POST', body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

interface Created {
  id: string;
  token: string;
}

describe('uploads and results in S3-compatible object storage (api + worker + s3rver)', () => {
  let s3: TestS3Server;
  let stack: Stack;
  let url: string;
  let probe: QueueProbe;
  /** The whole bucket, as an operator would list it. */
  let bucket: S3Store;

  beforeAll(async () => {
    s3 = await startTestS3Server();
    useTestS3Credentials(s3);
    stack = await startStack({ env: { ...s3.env('deploy'), A2I_PIPELINE: REFUSING_PIPELINE, A2I_MAX_UPLOAD_BYTES: '65536' } });
    url = stack.urls[0]!;
    probe = openQueueProbe(stack.config.redis.prefix);
    bucket = new S3Store(createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials }), s3.bucket);
  });
  afterAll(async () => {
    await probe?.close();
    await stack?.close();
    await s3?.close();
  });

  async function keys(prefix = ''): Promise<string[]> {
    const found: string[] = [];
    for await (const object of bucket.list(prefix)) found.push(object.key);
    return found.sort();
  }
  const statusOf = async (created: Created) => json(await fetch(`${url}/v1/generations/${created.id}`, { headers: { 'x-job-token': created.token } }));
  const waitForStatus = (created: Created, status: string, timeoutMs = 15_000) =>
    waitFor(async () => {
      const now = await statusOf(created);
      return now.status === status ? now : undefined;
    }, `${created.id} to be ${status}`, timeoutMs);
  /** No upload of any job in the bucket, and nothing in the api's local spool (bounded: the worker removes uploads just after a job's final state). */
  const noUploadsLeft = () => waitFor(async () => ((await keys('deploy/uploads/')).length === 0 && (await readdir(stack.config.dirs.uploads)).length === 0 ? true : undefined), 'no upload left in the bucket or the spool');

  it('a WAV: in the bucket from POST until the job ends, the PNG written there, served through the api and by a presigned redirect', async () => {
    const created = await post(`${url}/v1/generations`, form(soundRequest({ steps: 120 }), { sound: wav() }));
    expect(created.status).toBe(202);
    const { id } = created.body as Created;
    // the job's data names objects, not paths; the api kept no local copy (the local folder may
    // hold only the worker's own copy for this run, `.fetch-<id>-<attempt>-...`, removed after it)
    const job = await probe.queue.getJob(id);
    expect(job?.data.uploadDir).toBe(`s3://${s3.bucket}/deploy/uploads/${id}`);
    expect(job?.data.inputs[0].file).toBe(`s3://${s3.bucket}/deploy/uploads/${id}/part-0`);
    expect((await readdir(stack.config.dirs.uploads)).filter((name) => !name.startsWith(`.fetch-${id}-`))).toEqual([]);
    // during the run: the upload, byte for byte
    await waitForStatus(created.body, 'running');
    expect(await keys(`deploy/uploads/${id}/`)).toEqual([`deploy/uploads/${id}/part-0`]);
    expect((await readObject(bucket, `deploy/uploads/${id}/part-0`))?.equals(wav())).toBe(true);

    const done = await waitForStatus(created.body, 'succeeded');
    // after: one image under the attempt that succeeded, no upload left
    const attempt = (await new JobStateStore(probe.redis, probe.layout).get(id))?.attempt;
    expect(await keys(`deploy/results/${id}/`)).toEqual([`deploy/results/${id}/${attempt}/0.png`]);
    await noUploadsLeft();
    const stored = (await readObject(bucket, `deploy/results/${id}/${attempt}/0.png`))!;
    expect(stored.length).toBe(done.images[0].bytes);
    expect(readPngText(stored).map((chunk) => chunk.keyword)).toContain('parameters');

    // streamed through the api
    const owner = { 'x-job-token': created.body.token };
    const image = await fetch(`${url}/v1/generations/${id}/images/0`, { headers: owner });
    expect([image.status, image.headers.get('content-type'), image.headers.get('cache-control')]).toEqual([200, 'image/png', 'private, max-age=3600']);
    expect(Buffer.from(await image.arrayBuffer()).equals(stored)).toBe(true);
    expect(image.headers.get('accept-ranges')).toBe('bytes');
    // a byte range, as a <video> seeking asks for it: 206 with that part only; past the end: 416
    const part = await fetch(`${url}/v1/generations/${id}/images/0`, { headers: { ...owner, range: 'bytes=8-23' } });
    expect([part.status, part.headers.get('content-range'), part.headers.get('content-length')]).toEqual([206, `bytes 8-23/${stored.length}`, '16']);
    expect(Buffer.from(await part.arrayBuffer()).equals(stored.subarray(8, 24))).toBe(true);
    const tail = await fetch(`${url}/v1/generations/${id}/images/0`, { headers: { ...owner, range: 'bytes=-10' } });
    expect([tail.status, tail.headers.get('content-range')]).toEqual([206, `bytes ${stored.length - 10}-${stored.length - 1}/${stored.length}`]);
    expect(Buffer.from(await tail.arrayBuffer()).equals(stored.subarray(stored.length - 10))).toBe(true);
    const beyond = await fetch(`${url}/v1/generations/${id}/images/0`, { headers: { ...owner, range: `bytes=${stored.length + 5}-` } });
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, `bytes */${stored.length}`]);
    // and inline: ?include=images, and job:succeeded to a socket that asks (inlineImages)
    const inline = await json(await fetch(`${url}/v1/generations/${id}?include=images`, { headers: owner }));
    expect(inline.imagesInlined).toBe(true);
    expect(Buffer.from(inline.images[0].b64_json, 'base64').equals(stored)).toBe(true);
    const socket = connectSocket(url, { jobId: id, token: created.body.token, inlineImages: true });
    const events = recordSocketEvents(socket);
    const succeeded = await waitFor(() => events.find((event) => event.type === 'job:succeeded')?.payload as { images: Array<{ data?: Buffer }> } | undefined, 'job:succeeded on the socket');
    socket.close();
    expect(Buffer.isBuffer(succeeded.images[0]!.data) && succeeded.images[0]!.data.equals(stored)).toBe(true);

    // A2I_STORAGE_REDIRECT=presigned: a 307 to the bucket, whose URL gives the same bytes, then stops working
    const redirecting = await createApp({ config: { ...stack.config, imageDelivery: { mode: 'presigned', presignSeconds: 1 } }, logger: silent });
    try {
      const other = await redirecting.listen(0, '127.0.0.1');
      const redirect = await fetch(`${other}/v1/generations/${id}/images/0`, { headers: owner, redirect: 'manual' });
      expect([redirect.status, redirect.headers.get('cache-control')]).toEqual([307, 'no-store']);
      const location = redirect.headers.get('location')!;
      expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/deploy/results/${id}/${attempt}/0.png?`)).toBe(true);
      // the page may show images from the bucket (its <img> follows the redirect), and from nowhere else new
      expect((await fetch(`${other}/healthz`)).headers.get('content-security-policy')).toContain(`img-src 'self' data: blob: ${s3.endpoint};`);
      expect((await fetch(`${url}/healthz`)).headers.get('content-security-policy')).toContain(`img-src 'self' data: blob:;`);
      const fromBucket = await fetch(location);
      expect([fromBucket.status, fromBucket.headers.get('content-type')]).toEqual([200, 'image/png']);
      expect(Buffer.from(await fromBucket.arrayBuffer()).equals(stored)).toBe(true);
      // a client following redirects gets the image in one call
      expect(Buffer.from(await (await fetch(`${other}/v1/generations/${id}/images/0`, { headers: owner })).arrayBuffer()).equals(stored)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await fetch(location)).status).toBe(403);
      // without the token: no redirect, 404 as for a job that never existed
      expect((await fetch(`${other}/v1/generations/${id}/images/0`, { redirect: 'manual' })).status).toBe(404);
      // gone from the bucket: 410 from both, no redirect to a missing object
      await bucket.deletePrefix(`deploy/results/${id}/`);
      expect((await fetch(`${other}/v1/generations/${id}/images/0`, { headers: owner, redirect: 'manual' })).status).toBe(410);
      const streamed = await fetch(`${url}/v1/generations/${id}/images/0`, { headers: owner });
      expect([streamed.status, (await json(streamed)).error.code]).toEqual([410, 'RESULT_EXPIRED']);
    } finally {
      await redirecting.close({ graceMs: 0 });
    }
  });

  it('a refused POST puts nothing in the bucket; an input fault in the worker leaves nothing there', async () => {
    for (const [body, status, code] of [
      [form(soundRequest(), { sound: 'plain text, not audio' }), 415, 'MEDIA_UNSUPPORTED_FORMAT'],
      [form(soundRequest({ steps: 100_000 }), { sound: wav() }), 400, 'LIMIT_EXCEEDED'],
      [form(soundRequest(), { sound: Buffer.alloc(70_000, 1) }), 413, 'UPLOAD_TOO_LARGE'],
    ] as const) {
      const answer = await post(`${url}/v1/generations`, body);
      expect([answer.status, answer.body.error.code]).toEqual([status, code]);
      expect(await keys('deploy/uploads/')).toEqual([]);
      expect(await readdir(stack.config.dirs.uploads)).toEqual([]);
    }
    const refused = await post(`${url}/v1/generations`, form(soundRequest({ steps: 3, prompt: REFUSE_PROMPT }), { sound: wav() }));
    expect(refused.status).toBe(202);
    expect((await waitForStatus(refused.body, 'failed')).error.code).toBe('AUDIO_INVALID');
    await noUploadsLeft();
    expect(await keys(`deploy/results/${refused.body.id}/`)).toEqual([]);
  });

  it('cancels: a waiting job (the api deletes its upload) and a running one (the worker does); nothing is left', async () => {
    const running = await post(`${url}/v1/generations`, form(soundRequest({ steps: 200 }), { sound: wav() }));
    await waitForStatus(running.body, 'running');
    const waiting = await post(`${url}/v1/generations`, form(soundRequest({ steps: 3 }), { sound: wav(0.2) }));
    expect(waiting.status).toBe(202);
    expect(await keys('deploy/uploads/')).toEqual([`deploy/uploads/${running.body.id}/part-0`, `deploy/uploads/${waiting.body.id}/part-0`].sort());

    await fetch(`${url}/v1/generations/${waiting.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': waiting.body.token } });
    // taken out of the queue by the api, which deleted the upload before it answered
    expect(await keys('deploy/uploads/')).toEqual([`deploy/uploads/${running.body.id}/part-0`]);
    await fetch(`${url}/v1/generations/${running.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': running.body.token } });
    expect((await waitForStatus(running.body, 'canceled')).status).toBe('canceled');
    await noUploadsLeft();
    for (const created of [running.body, waiting.body]) expect(await keys(`deploy/results/${created.id}/`)).toEqual([]);
  });

  it('an ingest: the worker reads the item\'s image from the bucket (embedding, thumbnail); nothing is left after', async () => {
    expect((await fetch(`${url}/v1/collections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'clips' }) })).status).toBe(201);
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 20, g: 90, b: 200 } } }).png().toBuffer();
    const body = new FormData();
    body.set('request', JSON.stringify({ items: [{ id: 'blue', modality: 'image', file: 'photo' }] }));
    body.set('photo', new Blob([png], { type: 'image/png' }), 'photo.png');
    const created = await post(`${url}/v1/collections/clips/items`, body);
    expect(created.status).toBe(202);
    const done = await waitFor(async () => {
      const job = await json(await fetch(`${url}/v1/collections/clips/jobs/${created.body.id}`, { headers: { 'x-job-token': created.body.token } }));
      return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
    }, 'the ingest to end');
    expect(done.result).toMatchObject({ stored: ['blue'], failed: [] });
    // its thumbnail is in the bucket too, served through the api; dropping the collection deletes it
    const [thumbnail, ...others] = await keys('deploy/collections-media/');
    expect([thumbnail?.endsWith('.webp'), others]).toEqual([true, []]);
    const item = await json(await fetch(`${url}/v1/collections/clips/items/blue`));
    const served = await fetch(`${url}${item.media}`);
    expect([served.status, served.headers.get('content-type'), served.headers.get('cache-control')]).toEqual([200, 'image/webp', 'private, max-age=300']);
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(bytes.equals((await readObject(bucket, thumbnail!))!)).toBe(true);
    expect((await sharp(bytes).metadata()).width).toBe(40);
    await noUploadsLeft();
    expect((await fetch(`${url}/v1/collections/clips`, { method: 'DELETE' })).status).toBe(204);
    expect(await keys('deploy/collections-media/')).toEqual([]);
  });

  it('embeddings: the worker reads the upload from the bucket; nothing is left after the answer', async () => {
    const embedded = await post(`${url}/v1/embeddings`, form({ inputs: [{ modality: 'audio', file: 'sound' }] }, { sound: wav() }));
    expect(embedded.status).toBe(200);
    expect(embedded.body.vectors).toHaveLength(1);
    await noUploadsLeft();
  });
});

describe('the results TTL in object storage, without a lifecycle rule (the sweeper)', () => {
  let s3: TestS3Server;
  let stack: Stack;

  beforeAll(async () => {
    s3 = await startTestS3Server();
    useTestS3Credentials(s3);
    stack = await startStack({ env: { ...s3.env(''), A2I_RESULT_TTL_SECONDS: '1', A2I_TOMBSTONE_TTL_SECONDS: '60', A2I_SWEEP_INTERVAL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
    await s3?.close();
  });

  it('deletes a job\'s results once they are older than A2I_RESULT_TTL_SECONDS', async () => {
    const url = stack.urls[0]!;
    const bucket = new S3Store(createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials }), s3.bucket);
    const listed = async () => {
      const found: string[] = [];
      for await (const object of bucket.list('results/')) found.push(object.key);
      return found;
    };
    const answer = await fetch(`${url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ modality: 'text', text: 'rain on a tin roof' }], steps: 2, previewEvery: 0 }) });
    const created = (await answer.json()) as Created;
    const written = await waitFor(async () => {
      const found = await listed();
      return found.length > 0 ? found : undefined;
    }, 'the result to be written');
    expect(written).toEqual([`results/${created.id}/1/0.png`]);
    await waitFor(async () => ((await listed()).length === 0 ? true : undefined), 'the sweeper to delete the expired result', 10_000);
  });
});
