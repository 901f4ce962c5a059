import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, json, postJson, recordSocketEvents, useStack, waitFor, type RecordedEvent, send, multipart, withTwoKeyApp } from './harness.js';

// Collections, search and zero-shot classification end to end: real Redis, BullMQ, LanceDB
// (in the stack's temp dir), and the REAL demo pack in a real worker.
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const SAMPLES = join(DEMO, 'samples');
const NAMES = ['sea-bell', 'meadow-boop', 'desert-buzz', 'night-chirp', 'meadow-sparkle'];
const index = JSON.parse(readFileSync(join(SAMPLES, 'index.json'), 'utf8')) as Array<{ name: string; scene: { place: string; object: string } }>;
const sceneOf = (name: string) => index.find((s) => s.name === name)!.scene;
const PLACE_LABELS: Record<string, string> = { sea: 'in the sea', meadow: 'on the meadow', desert: 'in the desert', night: 'under the night sky' };

/** Follows a job over socket.io from before it starts (its queue is paused until we listen) to its end. */
async function followPaused(url: string, ingest: Queue, post: () => Promise<{ id: string; token: string }>): Promise<{ created: { id: string; token: string }; events: RecordedEvent[] }> {
  await ingest.pause();
  try {
    const created = await post();
    const socket = connectSocket(url, { jobId: created.id, token: created.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.length > 0, 'the queued snapshot');
    await ingest.resume();
    await waitFor(() => events.some((e) => ['job:succeeded', 'job:failed'].includes(e.type)), 'the end of the ingest job', 30_000);
    socket.close();
    return { created, events };
  } finally {
    await ingest.resume();
  }
}

describe('collections, search and classify on the demo pack', () => {
  const run = useStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false', A2I_CLASSIFY_MAX_LABELS: '8' } });

  it('creates, lists, gets and drops collections; refuses bad names, duplicates and unknown ones', async () => {
    const created = await send(`${run.url}/v1/collections`, 'POST', { name: 'scratch', description: 'a test' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'scratch', pack: 'demo', dim: 128, count: 0, description: 'a test' });
    expect(Date.parse(created.body.createdAt)).toBeGreaterThan(0);
    expect((await send(`${run.url}/v1/collections`, 'POST', { name: 'scratch' })).body.error.code).toBe('COLLECTION_EXISTS');
    expect((await send(`${run.url}/v1/collections`, 'POST', { name: 'scratch' })).status).toBe(409);
    for (const bad of ['Upper', '-dash', 'a'.repeat(64), 'sp ace', '']) {
      const answer = await send(`${run.url}/v1/collections`, 'POST', { name: bad });
      expect([bad, answer.status, answer.body.error.code]).toEqual([bad, 400, 'INVALID_NAME']);
    }
    expect((await send(`${run.url}/v1/collections`, 'GET')).body.collections.map((c: { name: string }) => c.name)).toContain('scratch');
    expect((await send(`${run.url}/v1/collections/scratch`, 'GET')).body).toMatchObject({ name: 'scratch', count: 0 });
    expect((await send(`${run.url}/v1/collections/scratch`, 'DELETE')).status).toBe(204);
    const gone = await send(`${run.url}/v1/collections/scratch`, 'GET');
    expect([gone.status, gone.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    expect((await send(`${run.url}/v1/collections/scratch`, 'DELETE')).status).toBe(404);
    expect((await send(`${run.url}/v1/collections/nope/search`, 'POST', { inputs: [{ modality: 'text', text: 'x' }] })).body.error.code).toBe('COLLECTION_NOT_FOUND');
  });

  describe('a collection of the sample images', () => {
    beforeAll(async () => {
      expect((await send(`${run.url}/v1/collections`, 'POST', { name: 'photos' })).status).toBe(201);
    });

    it('ingests images with metadata over multipart, per-item progress, a broken file reported per item', async () => {
      const files: Record<string, { bytes: Buffer; type: string }> = {};
      const items: unknown[] = NAMES.map((name, i) => {
        files[`f${i}`] = { bytes: readFileSync(join(SAMPLES, `${name}.png`)), type: 'image/png' };
        return { id: name, modality: 'image', file: `f${i}`, metadata: { place: sceneOf(name).place, object: sceneOf(name).object, n: i } };
      });
      // a PNG whose header is whole (it passes the early refusal) but whose pixels are cut off
      files.broken = { bytes: readFileSync(join(SAMPLES, 'sea-bell.png')).subarray(0, 120), type: 'image/png' };
      items.push({ id: 'broken', modality: 'image', file: 'broken', metadata: { place: 'sea' } });
      const { created, events } = await followPaused(run.url, run.probe.ingest, async () => {
        const response = await fetch(`${run.url}/v1/collections/photos/items`, { method: 'POST', body: multipart({ items }, files) });
        expect(response.status).toBe(202);
        return json(response);
      });
      const types = events.map((e) => e.type);
      expect(types[0]).toBe('job:queued');
      expect(types).toContain('job:started');
      const steps = events.filter((e) => e.type === 'job:progress').map((e) => [e.payload.stage, e.payload.step, e.payload.steps]);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6].map((n) => ['embed', n, 6]));
      const succeeded = events.at(-1)!;
      expect(succeeded.type).toBe('job:succeeded');
      const result = succeeded.payload.ingest as { stored: string[]; failed: Array<{ index: number; id: string; code: string }> };
      expect(result.stored).toEqual(NAMES);
      expect(result.failed).toEqual([expect.objectContaining({ index: 5, id: 'broken', code: expect.stringMatching(/^IMAGE_|^MEDIA_/) })]);
      expect((await send(`${run.url}/v1/collections/photos`, 'GET')).body.count).toBe(5);
      const status = await send(`${run.url}/v1/collections/photos/jobs/${created.id}`, 'GET', undefined, { 'x-job-token': created.token });
      expect(status.body).toMatchObject({ status: 'succeeded', result: { stored: NAMES } });
      // a thumbnail per image: WebP, at most 256 px (64 px originals are never enlarged)
      const item = await send(`${run.url}/v1/collections/photos/items/sea-bell`, 'GET');
      expect(item.body).toMatchObject({ id: 'sea-bell', modality: 'image', metadata: { place: 'sea', object: 'ring', n: 0 }, media: '/v1/collections/photos/items/sea-bell/media' });
      const media = await fetch(`${run.url}${item.body.media}`);
      expect(media.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await media.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 64, 64]);
    }, 40_000);

    it("finds a sample sound's own image first, cosine scores best first; a filter narrows", async () => {
      for (const name of NAMES) {
        const form = multipart({ inputs: [{ modality: 'audio', file: 'q' }], k: 5 }, { q: { bytes: readFileSync(join(SAMPLES, `${name}.wav`)), type: 'audio/wav' } });
        const response = await fetch(`${run.url}/v1/collections/photos/search`, { method: 'POST', body: form });
        const body = await json(response);
        expect(response.status).toBe(200);
        // where the time went: the worker's embedding, the store's search, the whole handler
        const timing = response.headers.get('server-timing') ?? '';
        expect(timing).toMatch(/^embed;dur=\d+\.\d, search;dur=\d+\.\d, total;dur=\d+\.\d$/);
        const [embedMs, searchMs, totalMs] = [...timing.matchAll(/dur=([\d.]+)/g)].map((m) => Number(m[1]));
        expect(embedMs! > 0 && searchMs! > 0 && embedMs! + searchMs! <= totalMs! + 0.2).toBe(true);
        const scores = body.results.map((r: { score: number }) => r.score);
        expect([name, body.results[0].id]).toEqual([name, name]);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
        expect(scores.every((s: number) => s <= 1 + 1e-5 && s >= -1 - 1e-5)).toBe(true);
        expect(body.results[0]).toMatchObject({ metadata: { place: sceneOf(name).place }, media: `/v1/collections/photos/items/${name}/media` });
      }
      const sea = readFileSync(join(SAMPLES, 'sea-bell.wav'));
      const filtered = await json(
        await fetch(`${run.url}/v1/collections/photos/search`, { method: 'POST', body: multipart({ inputs: [{ modality: 'audio', file: 'q' }], k: 10, filter: { place: 'meadow' } }, { q: { bytes: sea, type: 'audio/wav' } }) }),
      );
      expect(filtered.results.map((r: { id: string }) => r.id).sort()).toEqual(['meadow-boop', 'meadow-sparkle']);
      const within = await postJson(`${run.url}/v1/collections/photos/search`, { inputs: [{ modality: 'text', text: 'a large cyan ring in the sea' }], k: 10, filter: { place: { in: ['sea', 'night'] } } });
      expect(within.body.results.map((r: { id: string }) => r.id).sort()).toEqual(['night-chirp', 'sea-bell']);
    }, 30_000);

    it('refuses a vector of the wrong size, k out of range, a malformed filter, another space', async () => {
      const search = (body: unknown) => postJson(`${run.url}/v1/collections/photos/search`, body);
      const wrongDim = await search({ inputs: [{ modality: 'embedding', vector: [1, 2, 3] }] });
      expect([wrongDim.status, wrongDim.body.error.code]).toEqual([400, 'EMBEDDING_DIMENSION_MISMATCH']);
      const vector = Array.from({ length: 128 }, (_, i) => Math.sin(i));
      for (const k of [0, 101, 2.5, 'ten']) {
        const answer = await search({ inputs: [{ modality: 'embedding', vector }], k });
        expect([k, answer.status, answer.body.error.code]).toEqual([k, 400, 'INVALID_K']);
      }
      for (const filter of [{ place: { like: 'sea' } }, { 'bad field': 1 }, { n: 'a string for a number field' }, [1]]) {
        const answer = await search({ inputs: [{ modality: 'embedding', vector }], filter });
        expect([JSON.stringify(filter), answer.status, answer.body.error.code]).toEqual([JSON.stringify(filter), 400, 'INVALID_FILTER']);
      }
      const ok = await search({ inputs: [{ modality: 'embedding', vector }], k: 3 });
      expect([ok.status, ok.body.results.length]).toEqual([200, 3]);
      const wrongItemDim = await postJson(`${run.url}/v1/collections/photos/items`, { items: [{ modality: 'embedding', vector: [1, 2] }] });
      expect([wrongItemDim.status, wrongItemDim.body.error.code]).toEqual([400, 'EMBEDDING_DIMENSION_MISMATCH']);
      const badMeta = await postJson(`${run.url}/v1/collections/photos/items`, { items: [{ modality: 'text', text: 'x', metadata: { 'no spaces': 1 } }] });
      expect([badMeta.status, badMeta.body.error.code]).toEqual([400, 'INVALID_METADATA']);
      const undecodable = await fetch(`${run.url}/v1/collections/photos/items`, { method: 'POST', body: multipart({ items: [{ modality: 'image', file: 'f' }] }, { f: { bytes: Buffer.from('not an image at all'), type: 'image/png' } }) });
      expect(undecodable.status).toBe(415);
      expect((await send(`${run.url}/v1/collections/photos`, 'GET')).body.count).toBe(5);
    });

    it('replaces an item given again by id (upsert), and deletes one', async () => {
      const { events } = await followPaused(run.url, run.probe.ingest, async () => {
        const answer = await postJson(`${run.url}/v1/collections/photos/items`, { items: [{ id: 'night-chirp', modality: 'text', text: 'a large white triangle under the night sky', metadata: { place: 'night', replaced: true } }, { modality: 'text', text: 'a small red circle on the meadow' }] });
        expect(answer.status).toBe(202);
        return answer.body;
      });
      const result = events.at(-1)!.payload.ingest as { stored: string[] };
      expect(result.stored[0]).toBe('night-chirp');
      const generated = result.stored[1]!;
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      expect((await send(`${run.url}/v1/collections/photos`, 'GET')).body.count).toBe(6);
      const item = await send(`${run.url}/v1/collections/photos/items/night-chirp`, 'GET');
      expect(item.body).toEqual({ id: 'night-chirp', modality: 'text', metadata: { place: 'night', replaced: true } });
      expect((await fetch(`${run.url}/v1/collections/photos/items/night-chirp/media`)).status).toBe(404);
      expect((await send(`${run.url}/v1/collections/photos/items/${generated}`, 'DELETE')).status).toBe(204);
      expect((await send(`${run.url}/v1/collections/photos/items/${generated}`, 'GET')).status).toBe(404);
      expect((await send(`${run.url}/v1/collections/photos`, 'GET')).body.count).toBe(5);
    }, 30_000);
  });

  it("classifies each sample sound's place against the demo world's place captions", async () => {
    const labels = Object.values(PLACE_LABELS);
    for (const name of NAMES) {
      const form = multipart({ inputs: [{ modality: 'audio', file: 'q' }], labels }, { q: { bytes: readFileSync(join(SAMPLES, `${name}.wav`)), type: 'audio/wav' } });
      const response = await fetch(`${run.url}/v1/classify`, { method: 'POST', body: form });
      const body = await json(response);
      expect(response.status).toBe(200);
      expect([name, body.labels[0].label]).toEqual([name, PLACE_LABELS[sceneOf(name).place]]);
      const probabilities = body.labels.map((l: { probability: number }) => l.probability);
      expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
      expect(probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
      // the demo pack's text postprocess scale (manifest: 16.970276), read from the label embeddings' norm
      expect(body.logitScaleSource).toBe('text-postprocess');
      expect(body.logitScale).toBeCloseTo(16.970276, 3);
      for (const l of body.labels) expect(l.logit).toBeCloseTo(body.logitScale * l.score, 4);
    }
    const empty = await postJson(`${run.url}/v1/classify`, { inputs: [{ modality: 'text', text: 'x' }], labels: [] });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const many = await postJson(`${run.url}/v1/classify`, { inputs: [{ modality: 'text', text: 'x' }], labels: Array.from({ length: 9 }, (_, i) => `label ${i}`) });
    expect([many.status, many.body.error.code]).toEqual([400, 'LIMIT_EXCEEDED']);
  }, 30_000);

  it('a collection dropped while its ingest job runs: the job fails COLLECTION_NOT_FOUND, list and get stay consistent', async () => {
    expect((await send(`${run.url}/v1/collections`, 'POST', { name: 'doomed' })).status).toBe(201);
    const image = readFileSync(join(SAMPLES, 'desert-buzz.png'));
    const files: Record<string, { bytes: Buffer; type: string }> = {};
    // 8 images (the upload limit) and 56 captions: a job long enough to be dropped under
    const items: unknown[] = Array.from({ length: 8 }, (_, i) => {
      files[`f${i}`] = { bytes: image, type: 'image/png' };
      return { id: `d${i}`, modality: 'image', file: `f${i}` };
    });
    for (let i = 0; i < 56; i++) items.push({ id: `t${i}`, modality: 'text', text: `a small orange star in the desert number ${i}` });
    await run.probe.ingest.pause();
    const response = await fetch(`${run.url}/v1/collections/doomed/items`, { method: 'POST', body: multipart({ items }, files) });
    expect(response.status).toBe(202);
    const created = await json(response);
    const socket = connectSocket(run.url, { jobId: created.id, token: created.token });
    const events = recordSocketEvents(socket);
    await waitFor(() => events.length > 0, 'the queued snapshot');
    await run.probe.ingest.resume();
    // drop as soon as the worker has begun (first item embedded)
    await waitFor(() => events.some((e) => e.type === 'job:progress' || e.type === 'job:succeeded'), 'the job to start', 20_000);
    const dropped = await send(`${run.url}/v1/collections/doomed`, 'DELETE');
    expect([dropped.status, dropped.body?.error?.code]).toEqual([204, undefined]);
    await waitFor(() => events.some((e) => e.type === 'job:failed' || e.type === 'job:succeeded'), 'the end of the job', 20_000);
    socket.close();
    const end = events.at(-1)!;
    expect([end.type, end.payload.code]).toEqual(['job:failed', 'COLLECTION_NOT_FOUND']);
    expect((await send(`${run.url}/v1/collections/doomed`, 'GET')).status).toBe(404);
    expect((await send(`${run.url}/v1/collections`, 'GET')).body.collections.map((c: { name: string }) => c.name)).not.toContain('doomed');
    // the name is free again, and the new collection holds nothing of the old one
    expect((await send(`${run.url}/v1/collections`, 'POST', { name: 'doomed' })).body).toMatchObject({ count: 0 });
    expect((await send(`${run.url}/v1/collections/doomed/items/d0`, 'GET')).status).toBe(404);
  }, 40_000);

  it('with A2I_API_KEYS, a collection belongs to the key that made it', async () => {
    await withTwoKeyApp(run.stack, async ({ url: keyedUrl, one, two }) => {
    expect((await send(`${keyedUrl}/v1/collections`, 'POST', { name: 'mine' }, one)).status).toBe(201);
    expect((await send(`${keyedUrl}/v1/collections/mine`, 'GET', undefined, one)).status).toBe(200);
    const other = await send(`${keyedUrl}/v1/collections/mine`, 'GET', undefined, two);
    expect([other.status, other.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    expect((await send(`${keyedUrl}/v1/collections`, 'GET', undefined, two)).body.collections).toEqual([]);
    expect((await send(`${keyedUrl}/v1/collections/mine/search`, 'POST', { inputs: [{ modality: 'text', text: 'sea' }] }, two)).status).toBe(404);
    expect((await send(`${keyedUrl}/v1/collections/mine`, 'DELETE', undefined, two)).status).toBe(404);
    expect((await send(`${keyedUrl}/v1/collections`, 'GET')).status).toBe(401);
    // the other key may use the same name for its own collection
    expect((await send(`${keyedUrl}/v1/collections`, 'POST', { name: 'mine' }, two)).status).toBe(201);
    // the shared collections (made with no keys configured) are nobody's key's
    expect((await send(`${keyedUrl}/v1/collections/photos`, 'GET', undefined, one)).status).toBe(404);
    });
  });
});
