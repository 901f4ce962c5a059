import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { openCollectionStoreFromConfig } from '@a2i/collections';
import { redisLayout } from '@a2i/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, json, postJson, startStack, waitFor, type Stack, send, multipart, withTwoKeyApp } from './harness.js';

// Generation from search end to end: real Redis, BullMQ, LanceDB and the REAL demo pack in a
// real worker. `item` inputs are looked up by the api; `neighbors` are searched by the worker
// between combining the inputs and the prior (README "Search").
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const SAMPLES = join(DEMO, 'samples');
const NAMES = ['sea-bell', 'meadow-boop', 'desert-buzz', 'night-chirp', 'meadow-sparkle'];
const FAST = { steps: 4, previewEvery: 0, seed: 11 };

const sound = (name: string) => ({ q: { bytes: readFileSync(join(SAMPLES, `${name}.wav`)), type: 'audio/wav' } });

describe('generation from search on the demo pack', () => {
  let stack: Stack;
  let url: string;

  /** Submits, waits for the end, and returns the final status with image 0's bytes. */
  async function generate(body: FormData | Record<string, unknown>) {
    const response = body instanceof FormData ? await fetch(`${url}/v1/generations`, { method: 'POST', body }) : await fetch(`${url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await json(response);
    expect([response.status, created.error]).toEqual([202, undefined]);
    const headers = { 'x-job-token': created.token };
    const status = await waitFor(
      async () => {
        const now = await send(`${url}/v1/generations/${created.id}`, 'GET', undefined, headers);
        return ['succeeded', 'failed', 'canceled'].includes(now.body.status) ? now.body : undefined;
      },
      'the generation to end',
      60_000,
    );
    // the pixels: the PNG's text chunks say how it was made (the request), which differs between equal images
    const png = status.status === 'succeeded' ? await sharp(Buffer.from(await (await fetch(`${url}${status.images[0].url}`, { headers })).arrayBuffer())).raw().toBuffer() : null;
    return { status, png };
  }

  beforeAll(async () => {
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false' } });
    url = stack.urls[0]!;
    // the 5 sample images, ingested by the worker
    expect((await send(`${url}/v1/collections`, 'POST', { name: 'photos' })).status).toBe(201);
    const files: Record<string, { bytes: Buffer; type: string }> = {};
    const items = NAMES.map((name, i) => {
      files[`f${i}`] = { bytes: readFileSync(join(SAMPLES, `${name}.png`)), type: 'image/png' };
      return { id: name, modality: 'image', file: `f${i}`, metadata: { place: name.split('-')[0]! } };
    });
    // and one caption: never a neighbour (neighbours are images), however near
    items.push({ id: 'caption', modality: 'text', text: 'a large cyan ring in the sea', metadata: { place: 'sea' } } as never);
    const created = await json(await fetch(`${url}/v1/collections/photos/items`, { method: 'POST', body: multipart({ items }, files) }));
    const done = await waitFor(
      async () => {
        const now = await send(`${url}${created.links.self}`, 'GET', undefined, { 'x-job-token': created.token });
        return ['succeeded', 'failed'].includes(now.body.status) ? now.body : undefined;
      },
      'the ingest job',
      30_000,
    );
    expect(done.result.stored).toEqual([...NAMES, 'caption']);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("an item input gives the same image as that item's vector sent as an embedding input", async () => {
    const stored = await send(`${url}/v1/collections/photos/items/sea-bell?vector=true`, 'GET');
    const byItem = await generate({ inputs: [{ modality: 'item', collection: 'photos', id: 'sea-bell', weight: 0.5 }], ...FAST });
    const byVector = await generate({ inputs: [{ modality: 'embedding', vector: stored.body.vector, weight: 0.5 }], ...FAST });
    const other = await generate({ inputs: [{ modality: 'item', collection: 'photos', id: 'desert-buzz', weight: 0.5 }], ...FAST });
    expect([byItem.status.status, byVector.status.status, other.status.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(byItem.png!.equals(byVector.png!)).toBe(true);
    expect(byItem.png!.equals(other.png!)).toBe(false);
    // items are inputs everywhere: a search by an item finds the item itself first
    const search = await postJson(`${url}/v1/collections/photos/search`, { inputs: [{ modality: 'item', collection: 'photos', id: 'night-chirp' }], k: 2, modality: 'image' });
    expect(search.body.results[0]).toMatchObject({ id: 'night-chirp' });
    expect(search.body.results[0].score).toBeCloseTo(1, 5);
    const embedded = await postJson(`${url}/v1/embeddings`, { inputs: [{ modality: 'item', collection: 'photos', id: 'sea-bell' }] });
    expect(embedded.body.vectors[0]).toHaveLength(128);
    embedded.body.vectors[0].forEach((v: number, d: number) => expect(v).toBeCloseTo(stored.body.vector[d], 5));
  }, 120_000);

  it("neighbours: a sample sound mixes in its own image, listed in the status; the image differs from the plain one", async () => {
    const plain = await generate(multipart({ inputs: [{ modality: 'audio', file: 'q' }], ...FAST }, sound('meadow-boop')));
    const mixed = await generate(multipart({ inputs: [{ modality: 'audio', file: 'q' }], neighbors: { collection: 'photos', k: 1, weight: 1 }, ...FAST }, sound('meadow-boop')));
    expect([plain.status.status, mixed.status.status]).toEqual(['succeeded', 'succeeded']);
    expect(plain.status.neighbors).toBeUndefined();
    expect(mixed.status.neighbors).toEqual([{ id: 'meadow-boop', score: expect.any(Number) }]);
    expect(mixed.png!.equals(plain.png!)).toBe(false);
    // k 3, best first, images only; a filter narrows them
    const three = await generate(multipart({ inputs: [{ modality: 'audio', file: 'q' }], neighbors: { collection: 'photos', k: 3, weight: 0.3 }, ...FAST }, sound('sea-bell')));
    const ids = three.status.neighbors.map((n: { id: string }) => n.id);
    const scores = three.status.neighbors.map((n: { score: number }) => n.score);
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe('sea-bell');
    expect(ids).not.toContain('caption');
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const meadow = await generate(multipart({ inputs: [{ modality: 'audio', file: 'q' }], neighbors: { collection: 'photos', k: 4, weight: 0.3, filter: { place: 'meadow' } }, ...FAST }, sound('sea-bell')));
    expect(meadow.status.neighbors.map((n: { id: string }) => n.id).sort()).toEqual(['meadow-boop', 'meadow-sparkle']);
  }, 180_000);

  it('refuses an unknown collection or item (404), a filter or k it cannot use (400), another space (409)', async () => {
    const item = (collection: string, id: string) => postJson(`${url}/v1/generations`, { inputs: [{ modality: 'item', collection, id }], ...FAST });
    const noCollection = await item('nope', 'sea-bell');
    expect([noCollection.status, noCollection.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    const noItem = await item('photos', 'not-there');
    expect([noItem.status, noItem.body.error.code]).toEqual([404, 'ITEM_NOT_FOUND']);
    expect(noItem.body.error.message).toContain('not-there');
    const neighbors = (value: unknown) => postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'sea' }], neighbors: value, ...FAST });
    const noNeighborCollection = await neighbors({ collection: 'nope' });
    expect([noNeighborCollection.status, noNeighborCollection.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    const badFilter = await neighbors({ collection: 'photos', filter: { place: { like: 'sea' } } });
    expect([badFilter.status, badFilter.body.error.code]).toEqual([400, 'INVALID_FILTER']);
    const bigK = await neighbors({ collection: 'photos', k: 17 });
    expect([bigK.status, bigK.body.error.code]).toEqual([400, 'INVALID_K']);
    const searchMissing = await postJson(`${url}/v1/collections/photos/search`, { inputs: [{ modality: 'item', collection: 'photos', id: 'not-there' }] });
    expect([searchMissing.status, searchMissing.body.error.code]).toEqual([404, 'ITEM_NOT_FOUND']);

    // a collection made in another space (another pack's) is never compared
    const store = await openCollectionStoreFromConfig(stack.config);
    try {
      await store.create({ name: 'elsewhere', space: { pack: 'another-pack', dim: 128 } });
      await store.upsert('elsewhere', [{ id: 'v', modality: 'embedding', vector: Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 0)) }]);
    } finally {
      store.close();
    }
    const otherSpace = await item('elsewhere', 'v');
    expect([otherSpace.status, otherSpace.body.error.code]).toEqual([409, 'SPACE_MISMATCH']);
    const otherSpaceNeighbors = await neighbors({ collection: 'elsewhere' });
    expect([otherSpaceNeighbors.status, otherSpaceNeighbors.body.error.code]).toEqual([409, 'SPACE_MISMATCH']);
  }, 60_000);

  it('a neighbours collection dropped after the request was accepted fails the job COLLECTION_NOT_FOUND', async () => {
    expect((await send(`${url}/v1/collections`, 'POST', { name: 'brief' })).status).toBe(201);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const generations = new Queue('generations', { connection, prefix: redisLayout(stack.config.redis.prefix).prefix });
    try {
      await generations.pause();
      const created = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'brief' }, ...FAST });
      expect(created.status).toBe(202);
      expect((await send(`${url}/v1/collections/brief`, 'DELETE')).status).toBe(204);
      await generations.resume();
      const headers = { 'x-job-token': created.body.token };
      const status = await waitFor(
        async () => {
          const now = await send(`${url}/v1/generations/${created.body.id}`, 'GET', undefined, headers);
          return ['succeeded', 'failed'].includes(now.body.status) ? now.body : undefined;
        },
        'the generation to end',
        30_000,
      );
      expect([status.status, status.error.code]).toEqual(['failed', 'COLLECTION_NOT_FOUND']);
    } finally {
      await generations.resume();
      await generations.close();
      await connection.quit();
    }
  }, 60_000);

  it("with A2I_API_KEYS, another key's collection is not found, for items and neighbours alike", async () => {
    await withTwoKeyApp(stack, async ({ url: keyedUrl, one, two }) => {
    expect((await send(`${keyedUrl}/v1/collections`, 'POST', { name: 'mine' }, one)).status).toBe(201);
    const request = { inputs: [{ modality: 'item', collection: 'mine', id: 'a' }], ...FAST };
    const own = await send(`${keyedUrl}/v1/generations`, 'POST', request, one);
    expect([own.status, own.body.error.code]).toEqual([404, 'ITEM_NOT_FOUND']);
    const other = await send(`${keyedUrl}/v1/generations`, 'POST', request, two);
    expect([other.status, other.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    const otherNeighbors = await send(`${keyedUrl}/v1/generations`, 'POST', { inputs: [{ modality: 'text', text: 'sea' }], neighbors: { collection: 'mine' }, ...FAST }, two);
    expect([otherNeighbors.status, otherNeighbors.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    // the shared collections (made with no keys configured) are no key's
    const shared = await send(`${keyedUrl}/v1/generations`, 'POST', { inputs: [{ modality: 'item', collection: 'photos', id: 'sea-bell' }], ...FAST }, one);
    expect([shared.status, shared.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    });
  });
});
