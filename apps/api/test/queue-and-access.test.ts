import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout } from '@a2i/protocol';
import { SyntheticPipeline } from '@a2i/pipeline';
import { PRIORITY_KEY, json, REDIS_URL, connectSocket, postJson, recordSocketEvents, startStack, waitFor, type Stack } from './harness.js';

const TEXT = { modality: 'text', text: 'thunder' };

/** No worker runs here: jobs stay queued. The pack description is published by hand, as a worker would. */
async function publishPack(stack: Stack) {
  const redis = new Redis(REDIS_URL);
  await redis.set(redisLayout(stack.config.redis.prefix).packKey, JSON.stringify(new SyntheticPipeline().describe()));
  await redis.quit();
}

describe('queue, validation and ownership (no worker running)', () => {
  let stack: Stack;
  let url: string;
  beforeAll(async () => {
    stack = await startStack({ workers: 0, env: { A2I_MAX_QUEUE_DEPTH: '3', A2I_QUEUE_RETRY_AFTER_SECONDS: '17' } });
    url = stack.urls[0]!;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 503 PACK_UNAVAILABLE before any worker published its pack, and /readyz says not ready', async () => {
    const response = await postJson(`${url}/v1/generations`, { inputs: [TEXT] });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ error: { code: 'PACK_UNAVAILABLE', message: expect.any(String) } });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await json(ready)).error.code).toBe('NOT_READY');
    await publishPack(stack);
  });

  it.each([
    ['no inputs', { inputs: [] }, 'INVALID_REQUEST'],
    ['missing inputs', { steps: 3 }, 'INVALID_REQUEST'],
    ['unknown modality', { inputs: [{ modality: 'smell', text: 'x' }] }, 'UNSUPPORTED_MODALITY'],
    ['weight "NaN"', { inputs: [{ ...TEXT, weight: 'NaN' }] }, 'INVALID_REQUEST'],
    ['weight null', { inputs: [{ ...TEXT, weight: null }] }, 'INVALID_REQUEST'],
    ['all weights zero', { inputs: [{ ...TEXT, weight: 0 }] }, 'INVALID_REQUEST'],
    ['embedding of the wrong length', { inputs: [{ modality: 'embedding', vector: [1, 2, 3] }] }, 'EMBEDDING_DIMENSION_MISMATCH'],
    ['steps 0', { inputs: [TEXT], steps: 0 }, 'INVALID_REQUEST'],
    ['steps 10000', { inputs: [TEXT], steps: 10000 }, 'LIMIT_EXCEEDED'],
    ['steps 2.5', { inputs: [TEXT], steps: 2.5 }, 'INVALID_REQUEST'],
    ['numImages 9', { inputs: [TEXT], numImages: 9 }, 'LIMIT_EXCEEDED'],
    ['noiseLevel 1000', { inputs: [TEXT], noiseLevel: 1000 }, 'LIMIT_EXCEEDED'],
    ['format gif', { inputs: [TEXT], format: 'gif' }, 'INVALID_REQUEST'],
    ['unknown option', { inputs: [TEXT], sampler: 'euler' }, 'INVALID_REQUEST'],
    ['a file reference in a JSON body', { inputs: [{ modality: 'audio', file: 'sound' }] }, 'MISSING_FILE'],
    ['text on an audio input', { inputs: [{ modality: 'audio', text: 'hi' }] }, 'INVALID_REQUEST'],
  ])('refuses %s with 400 %s', async (_name, body, code) => {
    const response = await postJson(`${url}/v1/generations`, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('refuses weight NaN (not JSON) with INVALID_JSON, and an unknown type with 415', async () => {
    const bad = await fetch(`${url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[{"modality":"text","text":"x","weight":NaN}]}',
    });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({ error: { code: 'INVALID_JSON', message: expect.any(String) } });
    const text = await fetch(`${url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
    expect((await json(text)).error.code).toBe('UNSUPPORTED_CONTENT_TYPE');
  });

  it('refuses multipart bodies whose files and inputs do not match', async () => {
    const stray = new FormData();
    stray.set('request', JSON.stringify({ inputs: [TEXT] }));
    stray.set('extra', new Blob(['RIFF']), 'x.wav');
    const a = await fetch(`${url}/v1/generations`, { method: 'POST', body: stray });
    expect([a.status, (await json(a)).error.code]).toEqual([400, 'UNEXPECTED_FILE']);
    const missing = new FormData();
    missing.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound' }] }));
    const b = await fetch(`${url}/v1/generations`, { method: 'POST', body: missing });
    expect([b.status, (await json(b)).error.code]).toEqual([400, 'MISSING_FILE']);
    const noRequest = new FormData();
    noRequest.set('sound', new Blob(['RIFF']), 'x.wav');
    const c = await fetch(`${url}/v1/generations`, { method: 'POST', body: noRequest });
    expect([c.status, (await json(c)).error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('answers JSON errors on unknown routes', async () => {
    const response = await fetch(`${url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for GET /v1/nothing-here' } });
  });

  it('counts queue positions by priority, lets only the token holder see a job, cancels queued jobs, and refuses a full queue with 503 + Retry-After', async () => {
    const low = await postJson(`${url}/v1/generations`, { inputs: [TEXT], priority: 'low' });
    const normal = await postJson(`${url}/v1/generations`, { inputs: [TEXT] });
    const high = await postJson(`${url}/v1/generations`, { inputs: [TEXT], priority: 'high' }, { 'x-api-key': PRIORITY_KEY });
    expect([low.status, normal.status, high.status]).toEqual([202, 202, 202]);
    const position = async (job: typeof low) =>
      (await fetch(`${url}/v1/generations/${job.body.id}`, { headers: { 'x-job-token': job.body.token } }).then(json)).position;
    expect([await position(high), await position(normal), await position(low)]).toEqual([1, 2, 3]);

    // Ownership: another job's token, no token, a made-up id: all the same 404.
    const other = { 'x-job-token': high.body.token };
    for (const [path, init] of [
      [`/v1/generations/${low.body.id}`, { headers: other }],
      [`/v1/generations/${low.body.id}`, {}],
      [`/v1/generations/${low.body.id}/cancel`, { method: 'POST', headers: other }],
      [`/v1/generations/${low.body.id}/events`, { headers: other }],
      [`/v1/generations/${low.body.id}/images/0`, { headers: other }],
      [`/v1/generations/AAAAAAAAAAAAAAAAAAAAAA`, { headers: other }],
    ] as const) {
      const response = await fetch(`${url}${path}`, init);
      expect(response.status, path).toBe(404);
      expect((await json(response)).error.code).toBe('NOT_FOUND');
    }
    const stranger = connectSocket(url);
    await new Promise<void>((resolve) => stranger.on('connect', () => resolve()));
    expect(await stranger.emitWithAck('job:subscribe', { id: low.body.id, token: high.body.token })).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const refused = connectSocket(url, { jobId: low.body.id, token: 'wrong' });
    const refusal = await new Promise<{ data?: { code: string } }>((resolve) => refused.on('connect_error', (error) => resolve(error as never)));
    expect(refusal.data?.code).toBe('NOT_FOUND');
    stranger.close();

    // The queue holds 3 = A2I_MAX_QUEUE_DEPTH: the next one is refused before anything is read.
    const full = await postJson(`${url}/v1/generations`, { inputs: [TEXT] });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('17');
    expect(full.body.error.code).toBe('QUEUE_FULL');

    // A watcher of the low-priority job sees its position move up when the high one is canceled.
    const watcher = connectSocket(url, { jobId: low.body.id, token: low.body.token });
    const events = recordSocketEvents(watcher);
    await waitFor(() => events.some((e) => e.type === 'job:queued' && e.payload.position === 3) || undefined, 'position 3');
    const canceled = await fetch(`${url}/v1/generations/${high.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': high.body.token } });
    expect((await json(canceled)).status).toBe('canceled');
    await waitFor(() => events.some((e) => e.type === 'job:queued' && e.payload.position === 2) || undefined, 'position 2');
    expect(await position(normal)).toBe(1);
    // The canceled job left the queue: it can never start.
    const queued = await stack.apis[0]!.service['deps'].generations.getJob(high.body.id);
    expect(queued).toBeUndefined();
    // Canceling through the socket works the same way.
    expect(await watcher.emitWithAck('job:cancel', { id: low.body.id })).toEqual({ ok: true });
    await waitFor(() => events.some((e) => e.type === 'job:canceled') || undefined, 'job:canceled');
    const after = await postJson(`${url}/v1/generations`, { inputs: [TEXT] });
    expect(after.status).toBe(202);
    watcher.close();
    refused.close();
  });
});

describe('the queue depth limit under concurrent requests (two api instances, no worker)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 0, apis: 2, env: { A2I_MAX_QUEUE_DEPTH: '4' } });
    await publishPack(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('admits exactly the limit when 16 requests race for 4 places, whichever instance they reach', async () => {
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => postJson(`${stack.urls[i % 2]!}/v1/generations`, { inputs: [TEXT] })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(4);
    expect(statuses.filter((s) => s === 503)).toHaveLength(12);
    expect(answers.filter((a) => a.status === 503).every((a) => a.body.error.code === 'QUEUE_FULL')).toBe(true);
    const generations = stack.apis[0]!.service['deps'].generations;
    expect(await generations.getWaitingCount() + await generations.getPrioritizedCount()).toBe(4);
  });
});

describe('API keys', () => {
  let stack: Stack;
  let url: string;
  beforeAll(async () => {
    stack = await startStack({ workers: 0, env: { A2I_API_KEYS: 'key-one, key-two' } });
    url = stack.urls[0]!;
    await publishPack(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('needs a key to create, and lets the owning key (or the token) see the job', async () => {
    const anonymous = await postJson(`${url}/v1/generations`, { inputs: [TEXT] });
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    const wrong = await postJson(`${url}/v1/generations`, { inputs: [TEXT] }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const created = await postJson(`${url}/v1/generations`, { inputs: [TEXT] }, { authorization: 'Bearer key-one' });
    expect(created.status).toBe(202);
    const byOwner = await fetch(`${url}/v1/generations/${created.body.id}`, { headers: { 'x-api-key': 'key-one' } });
    expect(byOwner.status).toBe(200);
    const byOtherKey = await fetch(`${url}/v1/generations/${created.body.id}`, { headers: { 'x-api-key': 'key-two' } });
    expect(byOtherKey.status).toBe(404);
    const byToken = await fetch(`${url}/v1/generations/${created.body.id}?token=${created.body.token}`);
    expect(byToken.status).toBe(200);
  });
});
