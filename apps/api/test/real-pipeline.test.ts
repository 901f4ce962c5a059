import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, json, postJson, readSse, recordSocketEvents, startStack, waitFor, type RecordedEvent, type Stack } from './harness.js';

// The server end to end on the REAL pipeline (A2I_PIPELINE=onnx) and the demo pack: sounds
// uploaded as files come back as 64x64 PNGs. Redis, BullMQ, HTTP, socket.io and the models
// are all real. The synthetic stand-in stays where a controllable pace is essential (the
// SIGKILL failover and queue tests: see worker-failover.test.ts, queue-and-access.test.ts).
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const SAMPLES = join(DEMO, 'samples');
// No skip when the pack is missing: the demo pack is part of the repository.
const sounds = readdirSync(SAMPLES).filter((f) => f.endsWith('.wav')).sort();

async function upload(url: string, file: string, options: Record<string, unknown>): Promise<{ id: string; token: string; links: Record<string, string> }> {
  const form = new FormData();
  form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], ...options }));
  form.set('sound', new Blob([readFileSync(file)], { type: 'audio/wav' }), 'sound.wav');
  const response = await fetch(`${url}/v1/generations`, { method: 'POST', body: form });
  expect(response.status).toBe(202);
  return json(response);
}

async function imageBytes(url: string, events: RecordedEvent[], token: string): Promise<Buffer> {
  const succeeded = events.at(-1)!;
  expect(succeeded.type).toBe('job:succeeded');
  const link = (succeeded.payload as { images: Array<{ url: string }> }).images[0]!.url;
  const response = await fetch(`${url}${link}`, { headers: { 'x-job-token': token } });
  expect(response.headers.get('content-type')).toBe('image/png');
  return Buffer.from(await response.arrayBuffer());
}

describe('the server on the ONNX pipeline and the demo pack', () => {
  let stack: Stack;
  let url: string;
  beforeAll(async () => {
    // 8 rows (the demo pack's default is 32), so that two 4-image jobs fill the batching worker (below)
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_MAX_BATCH_ROWS: '8' } });
    url = stack.urls[0]!;
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('describes the demo pack at /v1/pack', async () => {
    const pack = await fetch(`${url}/v1/pack`).then(json);
    expect(pack).toMatchObject({ name: 'demo', dim: 128, imageSize: { width: 64, height: 64 }, prior: { available: true } });
    expect(pack.modalities).toEqual(expect.arrayContaining(['audio', 'image', 'text', 'video', 'depth', 'thermal', 'imu', 'embedding']));
  });

  it('turns every sample sound into a 64x64 PNG, with ordered progress and previews', async () => {
    expect(sounds.length).toBeGreaterThanOrEqual(5);
    for (const sound of sounds) {
      const created = await upload(url, join(SAMPLES, sound), { steps: 8, previewEvery: 4, seed: 3 });
      const events = await readSse(`${url}${created.links.events}`, { 'x-job-token': created.token });
      const progress = events.filter((e) => e.type === 'job:progress').map((e) => e.payload as { stage: string; step: number; steps: number });
      // stages in order (a subscriber that joins late starts from the current state)
      const order = progress.map((p) => ['embed', 'prior', 'decode'].indexOf(p.stage));
      expect(order.every((stage, i) => stage >= 0 && (i === 0 || stage >= order[i - 1]!))).toBe(true);
      expect(progress.at(-1)).toMatchObject({ stage: 'decode', step: 8, steps: 8 });
      expect(events.some((e) => e.type === 'job:preview')).toBe(true);
      const png = await imageBytes(url, events, created.token);
      const meta = await sharp(png).metadata();
      expect([sound, meta.format, meta.width, meta.height, meta.channels]).toEqual([sound, 'png', 64, 64, 3]);
    }
  }, 300_000);

  it('gives the same image for the same sound and seed, another for another seed', async () => {
    const file = join(SAMPLES, sounds[0]!);
    const run = async (seed: number) => {
      const created = await upload(url, file, { steps: 6, previewEvery: 0, seed, prior: 'off' });
      const events = await readSse(`${url}${created.links.events}?token=${created.token}`);
      return sharp(await imageBytes(url, events, created.token)).raw().toBuffer();
    };
    const first = await run(11);
    expect((await run(11)).equals(first)).toBe(true);
    expect((await run(12)).equals(first)).toBe(false);
  }, 120_000);

  it('mixes audio + image - text with weights: queued (with position) -> started -> progress -> preview -> succeeded over socket.io', async () => {
    // long jobs first that fill the batching worker's rows (A2I_MAX_BATCH_ROWS 8: two jobs of 4
    // images), so that the mixed one is still queued when its socket subscribes
    const blockers = [await upload(url, join(SAMPLES, sounds[0]!), { steps: 200, previewEvery: 0, prior: 'off', numImages: 4 })];
    blockers.push(await upload(url, join(SAMPLES, sounds[0]!), { steps: 200, previewEvery: 0, prior: 'off', numImages: 4 }));
    const form = new FormData();
    form.set('request', JSON.stringify({
      inputs: [
        { modality: 'audio', file: 'sound', weight: 0.6 },
        { modality: 'image', file: 'photo', weight: 0.5 },
        { modality: 'text', text: 'a small red circle', weight: -0.2 },
      ],
      steps: 10, previewEvery: 5, seed: 5,
    }));
    form.set('sound', new Blob([readFileSync(join(SAMPLES, 'sea-bell.wav'))], { type: 'audio/wav' }), 'sea-bell.wav');
    form.set('photo', new Blob([readFileSync(join(SAMPLES, 'desert-buzz.png'))], { type: 'image/png' }), 'desert-buzz.png');
    const response = await fetch(`${url}/v1/generations`, { method: 'POST', body: form });
    expect(response.status).toBe(202);
    const created = await json(response);
    const socket = connectSocket(url, { jobId: created.id, token: created.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.find((e) => e.type === 'job:queued'), 'job:queued');
    for (const blocker of blockers) await fetch(`${url}${blocker.links.cancel}`, { method: 'POST', headers: { 'x-job-token': blocker.token } });
    await waitFor(() => events.find((e) => e.type === 'job:succeeded' || e.type === 'job:failed'), 'the mixed job\'s end', 60_000);
    socket.close();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('job:queued');
    expect(events[0]!.payload.position).toBeGreaterThanOrEqual(1);
    expect(types.at(-1)).toBe('job:succeeded');
    const firstOf = (type: string) => types.indexOf(type);
    expect(firstOf('job:started')).toBeGreaterThan(0);
    expect(firstOf('job:progress')).toBeGreaterThan(firstOf('job:started'));
    expect(firstOf('job:preview')).toBeGreaterThan(firstOf('job:progress'));
    const decodeSteps = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'decode').map((e) => e.payload.step as number);
    expect(decodeSteps).toEqual([...decodeSteps].sort((a, b) => a - b));
    expect(decodeSteps.at(-1)).toBe(10);
    const png = await imageBytes(url, events, created.token);
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 64, height: 64 });
  }, 120_000);

  it('generates from the embedding /v1/embeddings returned: the same image as from the sound itself', async () => {
    const file = join(SAMPLES, 'sea-bell.wav');
    const form = new FormData();
    form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }] }));
    form.set('sound', new Blob([readFileSync(file)], { type: 'audio/wav' }), 'sound.wav');
    const embedded = await json(await fetch(`${url}/v1/embeddings`, { method: 'POST', body: form }));
    expect(embedded.dim).toBe(128);
    expect(embedded.combined).toHaveLength(128);
    const options = { steps: 6, seed: 21, previewEvery: 0, prior: 'on' };
    const viaEmbedding = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'embedding', vector: embedded.combined, weight: 1 }], ...options });
    expect(viaEmbedding.status).toBe(202);
    const fromSound = await upload(url, file, options);
    const pixels = async (created: { id: string; token: string; links: Record<string, string> }) => {
      const events = await readSse(`${url}${created.links.events}?token=${created.token}`);
      return sharp(await imageBytes(url, events, created.token)).raw().toBuffer();
    };
    const [a, b] = [await pixels(viaEmbedding.body), await pixels(fromSound)];
    // The vector went through JSON as float32 values printed exactly; renormalising it may move
    // the last bit, so allow one 8-bit level (measured: identical).
    expect(a.length).toBe(b.length);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThanOrEqual(1);
  }, 120_000);

  it('refuses a file that is not a sound at POST, and fails one only a full decode finds damaged with the decoder\'s code', async () => {
    const post = (sound: Buffer | string) => {
      const form = new FormData();
      form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 4 }));
      form.set('sound', new Blob([sound]), 'sound.flac');
      return fetch(`${url}/v1/generations`, { method: 'POST', body: form });
    };
    const refused = await post('plain text, not a sound');
    expect(refused.status).toBe(415);
    expect(await json(refused)).toMatchObject({ error: { code: 'MEDIA_UNSUPPORTED_FORMAT' } });
    // A FLAC whose STREAMINFO is sound (1 s of 16 kHz mono) but whose frames are garbage: headers pass, decoding does not.
    const info = Buffer.alloc(34);
    info.writeUInt16BE(4096, 0);
    info.writeUInt16BE(4096, 2);
    info.writeBigUInt64BE((16_000n << 44n) | (15n << 36n) | 16_000n, 10);
    const accepted = await post(Buffer.concat([Buffer.from('fLaC', 'latin1'), Buffer.from([0x80, 0, 0, 34]), info, Buffer.alloc(200, 7)]));
    expect(accepted.status).toBe(202);
    const created = await json(accepted);
    const events = await readSse(`${url}${created.links.events}?token=${created.token}`);
    expect(events.at(-1)).toMatchObject({ type: 'job:failed', payload: { code: 'AUDIO_INVALID' } });
  });

  it('cancels a running generation between two steps', async () => {
    const created = await upload(url, join(SAMPLES, sounds[0]!), { steps: 200, previewEvery: 0, prior: 'off' });
    const socket = connectSocket(url, { jobId: created.id, token: created.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.some((e) => e.type === 'job:progress' && e.payload.stage === 'decode') || undefined, 'the first decode step', 60_000);
    const canceled = await fetch(`${url}${created.links.cancel}`, { method: 'POST', headers: { 'x-job-token': created.token } });
    expect(canceled.status).toBe(200);
    await waitFor(() => events.some((e) => e.type === 'job:canceled') || undefined, 'job:canceled', 60_000);
    const steps = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'decode').map((e) => e.payload.step as number);
    expect(Math.max(...steps)).toBeLessThan(200);
    socket.close();
  }, 120_000);
});
