import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { json, multipart, postJson, silent, useStack, waitFor } from './harness.js';
import { sampleSoundWav } from '../../../test/support/sample-sound.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function finished(url: string, id: string, token: string) {
  return waitFor(async () => {
    const status = await fetch(`${url}/v1/generations/${id}`, { headers: { 'x-job-token': token } }).then(json);
    return status.status === 'queued' || status.status === 'running' ? undefined : status;
  }, `job ${id} to finish`);
}

async function imageBytes(url: string, id: string, token: string, index: number): Promise<Buffer> {
  const response = await fetch(`${url}/v1/generations/${id}/images/${index}?token=${token}`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe('the request echo, timing, PNG parameters and inline images', () => {
  const run = useStack();
  const sound = Buffer.from(sampleSoundWav({ seconds: 0.25 }));
  const request = {
    inputs: [
      { modality: 'audio', file: 'sound', weight: 0.8 },
      { modality: 'text', text: 'rain on a tin roof, at night', weight: 0.5 },
    ],
    seed: 11,
    steps: 3,
    guidance: 2.5,
    scheduler: 'euler',
    prior: 'auto',
    numImages: 2,
    previewEvery: 0,
  };
  let job: { id: string; token: string };

  it('echoes the resolved request (no file bytes) and the times, in ms and ISO 8601, in order', async () => {
    const response = await fetch(`${run.url}/v1/generations`, { method: 'POST', body: multipart(request, { sound: { bytes: sound, type: 'audio/wav' } }) });
    expect(response.status).toBe(202);
    job = await json(response);
    const status = await finished(run.url, job.id, job.token);
    expect(status.status).toBe('succeeded');
    expect(status.request).toEqual({
      pack: 'synthetic',
      inputs: [
        { modality: 'audio', weight: 0.8, file: { part: 'sound', bytes: sound.length, format: 'wav' } },
        { modality: 'text', weight: 0.5, text: 'rain on a tin roof, at night' },
      ],
      prompt: '',
      seed: 11,
      steps: 3,
      guidance: 2.5,
      scheduler: 'euler',
      prior: 'on', // auto, and the synthetic pack runs its prior for every modality
      noiseLevel: 0,
      numImages: 2,
      format: 'png',
      priority: 'normal',
    });
    const text = JSON.stringify(status);
    expect(text).not.toContain(sound.toString('base64').slice(0, 40));
    expect(text.length).toBeLessThan(4000);

    for (const name of ['created', 'updated', 'started', 'completed']) {
      expect(status[`${name}AtIso`]).toMatch(ISO_8601);
      expect(status[`${name}AtIso`]).toBe(new Date(status[`${name}At`]).toISOString());
    }
    expect(status.createdAt).toBeLessThanOrEqual(status.startedAt);
    expect(status.startedAt).toBeLessThanOrEqual(status.completedAt);
    expect(status.completedAt).toBeLessThanOrEqual(status.updatedAt);
  });

  it('a queued job has no start or completion time yet; a defaulted request echoes the pack defaults', async () => {
    // the worker is busy with a long job, so the next one waits
    const long = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: 'long' }], steps: 200, previewEvery: 0 });
    const queued = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'embedding', vector: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5].concat(Array(120).fill(0)) }], prior: 'off', format: 'webp' });
    expect(queued.status).toBe(202);
    const status = await fetch(`${run.url}/v1/generations/${queued.body.id}`, { headers: { 'x-job-token': queued.body.token } }).then(json);
    expect(status.status).toBe('queued');
    expect(status.startedAt).toBeUndefined();
    expect(status.completedAtIso).toBeUndefined();
    expect(status.request).toMatchObject({ inputs: [{ modality: 'embedding', weight: 1, dim: 128 }], steps: 25, guidance: 3, scheduler: null, prior: 'off', format: 'webp' });
    expect(JSON.stringify(status.request)).not.toContain('0.5');
    for (const created of [long, queued]) await fetch(`${run.url}/v1/generations/${created.body.id}/cancel`, { method: 'POST', headers: { 'x-job-token': created.body.token } });
    const canceled = await finished(run.url, queued.body.id, queued.body.token);
    expect(canceled.status).toBe('canceled');
    expect(canceled.completedAtIso).toMatch(ISO_8601);
  });

  it('each PNG carries the parameters (AUTOMATIC1111 layout, its own seed) and the echo as JSON', async () => {
    const status = await fetch(`${run.url}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } }).then(json);
    for (const index of [0, 1]) {
      const { comments } = await sharp(await imageBytes(run.url, job.id, job.token, index)).metadata();
      const parameters = comments?.find((c) => c.keyword === 'parameters')?.text ?? '';
      const [first, line] = parameters.split('\n');
      expect(first).toBe('audio sound (wav, ' + sound.length + ' B) x0.8 + text "rain on a tin roof, at night" x0.5');
      expect(line).toContain(`Steps: 3, Sampler: euler, CFG scale: 2.5, Seed: ${11 + index}, Size: 64x64, Model: synthetic, Noise level: 0, Prior: on`);
      const a2i = JSON.parse(comments?.find((c) => c.keyword === 'a2i')?.text ?? '{}');
      expect(a2i).toEqual({ ...status.request, seed: 11 + index });
    }
  });

  it('?include=images answers each image as base64, the same bytes as GET .../images/n', async () => {
    const plain = await fetch(`${run.url}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } }).then(json);
    expect(plain.images[0].b64_json).toBeUndefined();
    expect(plain.imagesInlined).toBeUndefined();
    const inline = await fetch(`${run.url}/v1/generations/${job.id}?include=images`, { headers: { 'x-job-token': job.token } }).then(json);
    expect(inline.imagesInlined).toBe(true);
    expect(inline.images).toHaveLength(2);
    for (const image of inline.images) {
      expect(Buffer.from(image.b64_json, 'base64')).toEqual(await imageBytes(run.url, job.id, job.token, image.index));
    }
    const bad = await fetch(`${run.url}/v1/generations/${job.id}?include=thumbnails`, { headers: { 'x-job-token': job.token } });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('INVALID_REQUEST');
  });

  it('past A2I_INLINE_IMAGE_BYTES the answer has the links only and says so', async () => {
    const limit = (await imageBytes(run.url, job.id, job.token, 0)).length; // one image fits, two do not
    const capped = await createApp({ config: { ...run.stack.config, limits: { ...run.stack.config.limits, inlineImageBytes: limit } }, logger: silent });
    const url = await capped.listen(0, '127.0.0.1');
    try {
      const answer = await fetch(`${url}/v1/generations/${job.id}?include=images`, { headers: { 'x-job-token': job.token } }).then(json);
      expect(answer.status).toBe('succeeded');
      expect(answer.imagesInlined).toBe(false);
      expect(answer.images.map((image: { b64_json?: string }) => image.b64_json)).toEqual([undefined, undefined]);
    } finally {
      await capped.close({ graceMs: 0 });
    }
  });
});
