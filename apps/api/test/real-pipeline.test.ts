import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, json, readSse, recordSocketEvents, startStack, waitFor, type RecordedEvent, type Stack } from './harness.js';

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
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO } });
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

  it('fails a file that is not a sound with the decoder\'s code', async () => {
    const form = new FormData();
    form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 4 }));
    form.set('sound', new Blob(['plain text, not a sound']), 'sound.wav');
    const created = await json(await fetch(`${url}/v1/generations`, { method: 'POST', body: form }));
    const events = await readSse(`${url}${created.links.events}?token=${created.token}`);
    expect(events.at(-1)).toMatchObject({ type: 'job:failed', payload: { code: 'MEDIA_UNSUPPORTED_FORMAT' } });
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
