import { readdir } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { json, connectSocket, postJson, readSse, recordSocketEvents, useStack, waitFor, type RecordedEvent, type Stack } from './harness.js';

const TEXT_INPUT = { modality: 'text', text: 'a dog barking in the rain' };

/** The order every client must see: queued? started progress+ (monotonic per stage, previews between) succeeded. */
function expectOrderedSequence(events: RecordedEvent[]) {
  const types = events.map((e) => e.type);
  expect(types.at(-1)).toBe('job:succeeded');
  const started = types.indexOf('job:started');
  expect(started).toBeGreaterThanOrEqual(0);
  expect(types.slice(0, started).every((t) => t === 'job:queued')).toBe(true);
  const body = events.slice(started + 1, -1);
  expect(body.every((e) => e.type === 'job:progress' || e.type === 'job:preview')).toBe(true);
  const stageOrder = ['embed', 'prior', 'decode'];
  let last = { stage: -1, step: 0 };
  for (const e of body.filter((e) => e.type === 'job:progress')) {
    const stage = stageOrder.indexOf(e.payload.stage as string);
    const step = e.payload.step as number;
    expect(stage > last.stage || (stage === last.stage && step > last.step)).toBe(true);
    last = { stage, step };
  }
  expect(last).toEqual({ stage: 2, step: 10 });
  expect(body.some((e) => e.type === 'job:preview')).toBe(true);
  const seqs = events.filter((e) => e.type !== 'job:preview' && e.type !== 'job:queued').map((e) => e.payload.seq as number);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
}

/** Earlier tests' uploads go once their jobs' final states are recorded: wait for that first. */
async function noUploadsLeft(stack: Stack): Promise<void> {
  await waitFor(async () => (await readdir(stack.config.dirs.uploads)).length === 0 || undefined, 'earlier uploads to be removed', 10_000);
}

describe('generations with a running worker', () => {
  let firstPixels: Buffer | undefined;
  const run = useStack({ env: { A2I_SYNTHETIC_STEP_MS: '15', A2I_MAX_UPLOAD_BYTES: '4096' } });

  it('sends queued -> started -> monotonic progress -> previews -> succeeded over socket.io, and serves a valid PNG', async () => {
    const socket = connectSocket(run.url);
    const events = recordSocketEvents(socket);
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 10, previewEvery: 2, seed: 7 });
    expect(created.status).toBe(202);
    expect(created.body.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(created.body.token).not.toBe(created.body.id);
    expect(created.body.links).toEqual({
      self: `/v1/generations/${created.body.id}`,
      events: `/v1/generations/${created.body.id}/events`,
      cancel: `/v1/generations/${created.body.id}/cancel`,
      images: `/v1/generations/${created.body.id}/images/{n}`,
    });
    const ack = await socket.emitWithAck('job:subscribe', { id: created.body.id, token: created.body.token });
    expect(ack).toEqual({ ok: true });
    await waitFor(() => events.some((e) => e.type === 'job:succeeded'), 'job:succeeded');
    expectOrderedSequence(events);
    const preview = events.find((e) => e.type === 'job:preview')!;
    const previewMeta = await sharp(preview.payload.image as Buffer).metadata();
    expect(previewMeta.format).toBe('webp');

    const status = await fetch(`${run.url}/v1/generations/${created.body.id}`, { headers: { 'x-job-token': created.body.token } }).then(json);
    expect(status.status).toBe('succeeded');
    expect(status.seed).toBe(7);
    expect(status.images).toHaveLength(1);
    const image = await fetch(`${run.url}${status.images[0].url}?token=${created.body.token}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 64, 64, 3]);
    firstPixels = await sharp(bytes).raw().toBuffer();
    socket.close();
  });

  it('sends the same sequence over Server-Sent Events, and the same seed gives the same image', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 10, previewEvery: 3, seed: 7 });
    const events = await readSse(`${run.url}${created.body.links.events}?token=${created.body.token}`);
    expectOrderedSequence(events);
    const preview = events.find((e) => e.type === 'job:preview')!;
    expect((await sharp(Buffer.from(preview.payload.image as string, 'base64')).metadata()).format).toBe('webp');
    const succeeded = events.at(-1)!.payload as { images: Array<{ url: string }> };
    const again = await fetch(`${run.url}${succeeded.images[0]!.url}`, { headers: { 'x-job-token': created.body.token } });
    const pixels = await sharp(Buffer.from(await again.arrayBuffer())).raw().toBuffer();
    // Same inputs, same seed as the first test's job: the same pixels (the pipeline is deterministic).
    expect(firstPixels).toBeDefined();
    expect(pixels.equals(firstPixels!)).toBe(true);
  });

  it('a late subscriber gets the current state first', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 5, previewEvery: 0 });
    await waitFor(async () => {
      const s = await fetch(`${run.url}/v1/generations/${created.body.id}?token=${created.body.token}`).then(json);
      return s.status === 'succeeded' || undefined;
    }, 'job to finish');
    const socket = connectSocket(run.url, { jobId: created.body.id, token: created.body.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.length > 0 || undefined, 'snapshot');
    expect(events.map((e) => e.type)).toEqual(['job:succeeded']);
    socket.close();
  });

  it('sends the images inside job:succeeded to a socket that asks (inlineImages), live and in a late snapshot', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 5, previewEvery: 0, numImages: 2, format: 'webp' });
    const live = connectSocket(run.url, { jobId: created.body.id, token: created.body.token, inlineImages: true });
    const plain = connectSocket(run.url, { jobId: created.body.id, token: created.body.token });
    const liveEvents = recordSocketEvents(live);
    const plainEvents = recordSocketEvents(plain);
    const succeededOf = (events: RecordedEvent[]) => events.find((e) => e.type === 'job:succeeded')?.payload as { images: Array<{ url: string; bytes: number; data?: Buffer }> } | undefined;
    await waitFor(() => (succeededOf(liveEvents) && succeededOf(plainEvents)) || undefined, 'job:succeeded on both sockets');
    const late = connectSocket(run.url, { jobId: created.body.id, token: created.body.token, inlineImages: true });
    const lateEvents = recordSocketEvents(late);
    await waitFor(() => succeededOf(lateEvents), 'job:succeeded snapshot');
    expect(succeededOf(plainEvents)!.images.every((image) => image.data === undefined)).toBe(true);
    for (const events of [liveEvents, lateEvents]) {
      const { images } = succeededOf(events)!;
      expect(images).toHaveLength(2);
      for (const image of images) {
        const served = Buffer.from(await (await fetch(`${run.url}${image.url}`, { headers: { 'x-job-token': created.body.token } })).arrayBuffer());
        expect(Buffer.isBuffer(image.data)).toBe(true);
        expect(image.data!.length).toBe(image.bytes);
        expect(image.data!.equals(served)).toBe(true);
        expect((await sharp(image.data!).metadata()).format).toBe('webp');
      }
    }
    for (const socket of [live, plain, late]) socket.close();
  });

  it('cancels a running job: the pipeline stops, job:canceled is the last event, the worker moves on', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 150, previewEvery: 0 });
    const socket = connectSocket(run.url, { jobId: created.body.id, token: created.body.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.some((e) => e.type === 'job:progress' && e.payload.stage === 'decode') || undefined, 'decode progress');
    const canceled = await fetch(`${run.url}${created.body.links.cancel}`, { method: 'POST', headers: { 'x-job-token': created.body.token } });
    expect(canceled.status).toBe(200);
    expect((await json(canceled)).status).toBe('canceled');
    await waitFor(() => events.some((e) => e.type === 'job:canceled') || undefined, 'job:canceled');
    // The worker is free again well before the 150 x 15 ms the canceled job would have taken.
    const next = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 3, previewEvery: 0 });
    await waitFor(async () => {
      const s = await fetch(`${run.url}/v1/generations/${next.body.id}?token=${next.body.token}`).then(json);
      return s.status === 'succeeded' || undefined;
    }, 'next job', 1500);
    expect(events.at(-1)!.type).toBe('job:canceled');
    expect(events.some((e) => e.type === 'job:succeeded')).toBe(false);
    const lastDecode = events.filter((e) => e.type === 'job:progress').at(-1)!.payload.step as number;
    expect(lastDecode).toBeLessThan(150);
    // A second cancel is a no-op; the state stays canceled.
    const again = await fetch(`${run.url}${created.body.links.cancel}`, { method: 'POST', headers: { 'x-job-token': created.body.token } });
    expect((await json(again)).status).toBe('canceled');
    socket.close();
  });

  it.each([
    // a file that is no format its input accepts: refused at POST with the decoder's code
    ['a text file sent as audio', { inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 3 }, new Blob(['this is plain text, not audio']), 415, 'MEDIA_UNSUPPORTED_FORMAT'],
    ['an over-size upload', { inputs: [{ modality: 'audio', file: 'sound' }] }, new Blob([Buffer.alloc(20_000, 1)]), 413, 'UPLOAD_TOO_LARGE'],
  ] as const)('refuses %s at POST with its code and keeps nothing', async (_what, request, sound, status, code) => {
    const form = new FormData();
    form.set('request', JSON.stringify(request));
    form.set('sound', sound, 'sound.wav');
    await noUploadsLeft(run.stack);
    const response = await fetch(`${run.url}/v1/generations`, { method: 'POST', body: form });
    expect(response.status).toBe(status);
    expect(await json(response)).toMatchObject({ error: { code } });
    expect(await readdir(run.stack.config.dirs.uploads)).toEqual([]);
  });

  it('runs a multipart job with a real image file and a weight per input', async () => {
    const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const form = new FormData();
    form.set(
      'request',
      JSON.stringify({ inputs: [{ modality: 'image', file: 'photo', weight: 0.7 }, { modality: 'text', text: 'red', weight: 0.3 }], steps: 4, format: 'webp' }),
    );
    form.set('photo', new Blob([png], { type: 'image/png' }), 'photo.png');
    const response = await fetch(`${run.url}/v1/generations`, { method: 'POST', body: form });
    expect(response.status).toBe(202);
    const created = await json(response);
    const events = await readSse(`${run.url}${created.links.events}?token=${created.token}`);
    expect(events.at(-1)!.type).toBe('job:succeeded');
    const image = await fetch(`${run.url}/v1/generations/${created.id}/images/0?token=${created.token}`);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await image.arrayBuffer())).metadata()).format).toBe('webp');
  });


  it('embeds inputs through the worker: one vector each and their weighted sum', async () => {
    const a = Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 0));
    const b = Array.from({ length: 128 }, (_, i) => (i === 1 ? 1 : 0));
    const response = await postJson(`${run.url}/v1/embeddings`, {
      inputs: [
        { modality: 'embedding', vector: a, weight: 0.25 },
        { modality: 'embedding', vector: b, weight: 0.75 },
        { modality: 'text', text: 'a bird', weight: 0 },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.dim).toBe(128);
    expect(response.body.vectors).toHaveLength(3);
    expect(response.body.combined.slice(0, 3)).toEqual([0.25, 0.75, 0]);
    const norm = Math.hypot(...(response.body.vectors[2] as number[]));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('answers /v1/pack, /healthz, /readyz and /metrics', async () => {
    const pack = await fetch(`${run.url}/v1/pack`).then(json);
    expect(pack).toMatchObject({ name: 'synthetic', dim: 128, limits: { maxSteps: 200 } });
    expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${run.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toMatchObject({ ready: true, workers: 1 });
    const metrics = await fetch(`${run.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/a2i_generations_submitted_total\{outcome="accepted"\} [1-9]/);
    expect(metrics).toMatch(/a2i_workers_alive 1/);
    expect(metrics).toMatch(/a2i_job_events_delivered_total\{type="job:progress"\} [1-9]/);
  });

  it('serves the web page and the socket.io client it loads', async () => {
    const page = await fetch(`${run.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/app.js"></script>');
    expect((await fetch(`${run.url}/app.js`)).status).toBe(200);
    expect((await fetch(`${run.url}/socket.io/socket.io.js`)).status).toBe(200);
  });
});
