import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticPipeline } from '@a2i/pipeline';
import { JobStateStore, redisLayout } from '@a2i/protocol';
import { createApp, type ApiApp } from '../src/index.js';
import { REFUSE_PROMPT } from './fixtures/input-refusing-pipeline.js';
import { json, postJson, REDIS_URL, removeTestState, silent, startStack, testConfig, useApiWithWorkerProcesses, waitFor, type Stack } from './harness.js';
import { sampleSoundWav } from '../../../test/support/sample-sound.js';

/**
 * No upload is left behind, whatever becomes of the request or its job (the life of an upload
 * folder: apps/api/src/request-body.ts). Real Redis, real BullMQ, the synthetic pipeline.
 */

const REFUSING_PIPELINE = fileURLToPath(new URL('./fixtures/input-refusing-pipeline.ts', import.meta.url));

/** A short valid WAV (the shared test sound). */
const wav = (seconds = 0.1): Buffer => Buffer.from(sampleSoundWav({ seconds }));

/** A FLAC whose STREAMINFO says it holds an hour of 8 kHz mono sound (no frame follows). */
function hourLongFlacHeader(): Buffer {
  const rate = 8000;
  const info = Buffer.alloc(34);
  info.writeUInt16BE(4096, 0); // min block size
  info.writeUInt16BE(4096, 2); // max block size (bytes 4-9: frame sizes unknown)
  // 20 bits sample rate, 3 bits channels - 1, 5 bits bits per sample - 1, 36 bits total samples
  info.writeBigUInt64BE((BigInt(rate) << 44n) | (0n << 41n) | (15n << 36n) | BigInt(3600 * rate), 10);
  return Buffer.concat([Buffer.from('fLaC', 'latin1'), Buffer.from([0x80, 0, 0, 34]), info, Buffer.alloc(200)]);
}

/** A PNG whose header says 50,000 x 50,000 pixels, with a few bytes of pixel data (cut short). */
function hugePngHeader(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50_000, 0);
  ihdr.writeUInt32BE(50_000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

/** A multipart body: the JSON request (or raw text) and file parts. */
function form(request: unknown, files: Record<string, Buffer | string> = {}): FormData {
  const body = new FormData();
  body.set('request', typeof request === 'string' ? request : JSON.stringify(request));
  for (const [name, bytes] of Object.entries(files)) body.set(name, new Blob([bytes]), `${name}.bin`);
  return body;
}

const soundRequest = (options: Record<string, unknown> = {}) => ({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], previewEvery: 0, ...options });

async function postForm(url: string, body: FormData) {
  const response = await fetch(url, { method: 'POST', body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function statusOf(url: string, created: { id: string; token: string }) {
  return json(await fetch(`${url}/v1/generations/${created.id}`, { headers: { 'x-job-token': created.token } }));
}

async function waitForStatus(url: string, created: { id: string; token: string }, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const now = await statusOf(url, created);
    return now.status === status ? now : undefined;
  }, `${created.id} to be ${status}`, timeoutMs);
}

/** The uploads folder ends up empty (bounded wait: the worker removes a folder just after its job's final state). */
async function expectNoUploadsLeft(dir: string, timeoutMs = 10_000) {
  await waitFor(async () => ((await readdir(dir)).length === 0 ? true : undefined), `no upload left in ${dir}`, timeoutMs);
}

/**
 * A multipart POST written by hand, so a test can hold it mid-upload: the request field and
 * half the file go at once, the rest on `finish()` (or the connection is cut on `abort()`).
 */
function heldUpload(url: string, path: string, request: unknown, file: Buffer) {
  const boundary = `a2i-${randomBytes(8).toString('hex')}`;
  const { hostname, port } = new URL(url);
  const req = httpRequest({ hostname, port, path, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  const response = new Promise<{ status: number; body: { error?: { code: string } } | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
  });
  const half = Math.floor(file.length / 2);
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="request"\r\n\r\n${JSON.stringify(request)}\r\n`);
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="sound"; filename="sound.wav"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  req.write(file.subarray(0, half));
  return {
    response,
    finish() {
      req.end(Buffer.concat([file.subarray(half), Buffer.from(`\r\n--${boundary}--\r\n`)]));
    },
    abort() {
      response.catch(() => undefined);
      req.destroy();
    },
  };
}

describe('the upload folder of a request and of its job (one worker)', () => {
  let stack: Stack;
  let url: string;
  let uploads: string;
  let generations: Queue;
  let embeddings: Queue;
  const counts = async (queue: Queue) => queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');

  beforeAll(async () => {
    stack = await startStack({ env: { A2I_PIPELINE: REFUSING_PIPELINE, A2I_MAX_UPLOAD_BYTES: '65536', A2I_MAX_QUEUE_DEPTH: '1', A2I_JOB_ATTEMPTS: '2' } });
    url = stack.urls[0]!;
    uploads = stack.config.dirs.uploads;
    const layout = redisLayout(stack.config.redis.prefix);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    generations = new Queue(layout.generationQueue, { connection, prefix: layout.prefix });
    embeddings = new Queue(layout.embeddingQueue, { connection, prefix: layout.prefix });
  });
  afterAll(async () => {
    await generations?.close();
    await embeddings?.close();
    await (generations?.opts.connection as Redis | undefined)?.quit();
    await stack?.close();
  });

  it('success: the job data names its folder (named after the job), gone once the job succeeded', async () => {
    const created = await postForm(`${url}/v1/generations`, form(soundRequest({ steps: 3 }), { sound: wav() }));
    expect(created.status).toBe(202);
    const job = await generations.getJob(created.body.id);
    expect(job?.data.uploadDir).toBe(join(uploads, created.body.id));
    await waitForStatus(url, created.body, 'succeeded');
    await expectNoUploadsLeft(uploads);
  });

  it('input fault in the worker: failed with the decoder code, not retried, folder gone', async () => {
    const created = await postForm(`${url}/v1/generations`, form(soundRequest({ steps: 3, prompt: REFUSE_PROMPT }), { sound: wav() }));
    expect(created.status).toBe(202);
    const status = await waitForStatus(url, created.body, 'failed');
    expect(status.error.code).toBe('AUDIO_INVALID');
    expect((await generations.getJob(created.body.id))?.attemptsStarted).toBe(1);
    await expectNoUploadsLeft(uploads);
  });

  it('cancel of a waiting job (the api removes its folder) and of a running one (the worker does)', async () => {
    const running = await postForm(`${url}/v1/generations`, form(soundRequest({ steps: 200 }), { sound: wav() }));
    await waitForStatus(url, running.body, 'running');
    const waiting = await postForm(`${url}/v1/generations`, form(soundRequest({ steps: 3 }), { sound: wav(0.2) }));
    expect(waiting.status).toBe(202);
    expect((await readdir(uploads)).sort()).toEqual([running.body.id, waiting.body.id].sort());

    const canceled = await fetch(`${url}/v1/generations/${waiting.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': waiting.body.token } });
    expect((await json(canceled)).status).toBe('canceled');
    // Taken out of the queue by the api, which removed the folder before it answered.
    expect(await readdir(uploads)).toEqual([running.body.id]);
    expect(await generations.getJob(waiting.body.id)).toBeUndefined();

    await fetch(`${url}/v1/generations/${running.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': running.body.token } });
    await waitFor(async () => ((await generations.getJobState(running.body.id)) === 'failed' ? true : undefined), 'the running job to stop');
    expect((await statusOf(url, running.body)).status).toBe('canceled');
    await expectNoUploadsLeft(uploads);
  });

  it('a refused POST keeps nothing and queues nothing', async () => {
    const before = await counts(generations);
    const refusals: Array<[string, FormData, number, string]> = [
      ['bad JSON', form('{"inputs": [', { sound: wav() }), 400, 'INVALID_JSON'],
      ['no request field', (() => { const f = new FormData(); f.set('sound', new Blob([wav()]), 's.wav'); return f; })(), 400, 'INVALID_REQUEST'],
      ['an invalid request', form(soundRequest({ steps: 'many' }), { sound: wav() }), 400, 'INVALID_REQUEST'],
      ['a limit exceeded', form(soundRequest({ steps: 100_000 }), { sound: wav() }), 400, 'LIMIT_EXCEEDED'],
      ['a file over the size limit', form(soundRequest(), { sound: Buffer.alloc(70_000, 1) }), 413, 'UPLOAD_TOO_LARGE'],
      ['a file no input names', form(soundRequest(), { sound: wav(), extra: wav() }), 400, 'UNEXPECTED_FILE'],
      ['a text file sent as audio', form(soundRequest(), { sound: 'this is plain text, not audio' }), 415, 'MEDIA_UNSUPPORTED_FORMAT'],
      ['an hour of audio (header)', form(soundRequest(), { sound: hourLongFlacHeader() }), 422, 'AUDIO_TOO_LONG'],
      ['a 50,000 x 50,000 image (header)', form({ inputs: [{ modality: 'image', file: 'photo' }] }, { photo: hugePngHeader() }), 422, 'IMAGE_TOO_LARGE'],
    ];
    for (const [what, body, status, code] of refusals) {
      const answer = await postForm(`${url}/v1/generations`, body);
      expect({ what, status: answer.status, code: answer.body?.error?.code }).toEqual({ what, status, code });
      // Disposed before the answer was sent.
      expect({ what, left: await readdir(uploads) }).toEqual({ what, left: [] });
    }
    expect(await counts(generations)).toEqual(before);
  });

  it('a queue found full after the upload arrived: 503, folder removed', async () => {
    // One job runs; the held upload passes the early look at the queue (nothing waits yet)...
    const running = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'a long one' }], steps: 200, previewEvery: 0 });
    await waitForStatus(url, running.body, 'running');
    const held = heldUpload(url, '/v1/generations', soundRequest({ steps: 3 }), wav());
    await waitFor(async () => ((await readdir(uploads)).length === 1 ? true : undefined), 'the held upload to start');
    // ...then another job takes the last place before the held upload is complete.
    const waiting = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'the last place' }], steps: 3, previewEvery: 0 });
    expect(waiting.status).toBe(202);
    held.finish();
    const answer = await held.response;
    expect([answer.status, answer.body?.error?.code]).toEqual([503, 'QUEUE_FULL']);
    expect(await readdir(uploads)).toEqual([]);
    for (const created of [waiting.body, running.body]) {
      await fetch(`${url}/v1/generations/${created.id}/cancel`, { method: 'POST', headers: { 'x-job-token': created.token } });
    }
    await waitFor(async () => ((await generations.getActiveCount()) === 0 ? true : undefined), 'the worker to be idle');
  });

  it('a client that drops the connection mid-upload leaves nothing', async () => {
    const held = heldUpload(url, '/v1/generations', soundRequest({ steps: 3 }), wav());
    await waitFor(async () => ((await readdir(uploads)).length === 1 ? true : undefined), 'the held upload to start');
    held.abort();
    await expectNoUploadsLeft(uploads, 5_000);
  });

  it('embeddings: the folder is gone after the result; a refused file is 415 and queues nothing', async () => {
    const embedded = await postForm(`${url}/v1/embeddings`, form({ inputs: [{ modality: 'audio', file: 'sound' }] }, { sound: wav() }));
    expect(embedded.status).toBe(200);
    expect(embedded.body.vectors).toHaveLength(1);
    await expectNoUploadsLeft(uploads);

    const before = await counts(embeddings);
    const refused = await postForm(`${url}/v1/embeddings`, form({ inputs: [{ modality: 'audio', file: 'sound' }] }, { sound: 'plain text' }));
    expect([refused.status, refused.body.error.code]).toEqual([415, 'MEDIA_UNSUPPORTED_FORMAT']);
    expect(await readdir(uploads)).toEqual([]);
    expect(await counts(embeddings)).toEqual(before);
  });
});

describe('an embedding no worker takes in time', () => {
  it('504 EMBEDDING_TIMEOUT: the api takes the job back out of the queue and removes its folder', async () => {
    const config = await testConfig({ A2I_EMBED_TIMEOUT_MS: '300' });
    const layout = redisLayout(config.redis.prefix);
    const redis = new Redis(REDIS_URL);
    // A worker that published its pack and beats, but takes no job.
    await redis.multi().set(layout.packKey, JSON.stringify(new SyntheticPipeline().describe())).zadd(layout.workersKey, Date.now(), 'absent-minded').exec();
    const api = await createApp({ config, logger: silent });
    const queue = new Queue(layout.embeddingQueue, { connection: redis, prefix: layout.prefix });
    try {
      const url = await api.listen(0, '127.0.0.1');
      const answer = await postForm(`${url}/v1/embeddings`, form({ inputs: [{ modality: 'audio', file: 'sound' }] }, { sound: wav() }));
      expect([answer.status, answer.body.error.code]).toEqual([504, 'EMBEDDING_TIMEOUT']);
      expect(await readdir(config.dirs.uploads)).toEqual([]);
      expect(await queue.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
    } finally {
      await queue.close();
      await api.close();
      await redis.quit();
      await removeTestState(config);
    }
  });
});

describe('a worker killed mid-job (SIGKILL): the job retried elsewhere, then no upload left', () => {
  const run = useApiWithWorkerProcesses();
  const spawnWorker = (name: string) => run.spawnWorker(name, 'synthetic', { A2I_SYNTHETIC_STEP_MS: '20' });

  it('the survivor reads the upload the victim held, succeeds, and removes it', async () => {
    const victim = spawnWorker('victim');
    spawnWorker('survivor');
    await waitFor(async () => ((await json(await fetch(`${run.url}/readyz`))).workers === 2 ? true : undefined), 'two workers ready', 60_000);

    const created = [];
    for (let i = 0; i < 4; i++) {
      const answer = await postForm(`${run.url}/v1/generations`, form(soundRequest({ steps: 40 }), { sound: wav(0.05 + i * 0.01) }));
      expect(answer.status).toBe(202);
      created.push(answer.body as { id: string; token: string });
    }
    const layout = redisLayout(run.config.redis.prefix);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(layout.generationQueue, { connection, prefix: layout.prefix });
    const store = new JobStateStore(connection, layout);
    try {
      const held = await waitFor(async () => {
        for (const job of await queue.getActive()) {
          const state = job.processedBy === 'victim' ? await store.get(job.id!) : null;
          if (state?.stage === 'decode' && (state.step ?? 0) >= 1) return job.id!;
        }
        return undefined;
      }, 'the victim mid-job');
      await victim.stop('SIGKILL');
      expect(await readdir(run.config.dirs.uploads)).toContain(held);

      for (const job of created) await waitForStatus(run.url, job, 'succeeded', 30_000);
      expect((await queue.getJob(held))?.processedBy).toBe('survivor');
      expect((await store.get(held))?.attempt).toBeGreaterThanOrEqual(2);
      await expectNoUploadsLeft(run.config.dirs.uploads);
    } finally {
      await queue.close();
      await connection.quit();
    }
  }, 90_000);
});
