import { createServer } from 'node:net';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@a2i/protocol';
import { startStack, useStack } from '../../../apps/api/test/harness.js';
import { A2iClient, A2iError } from '../src/index.js';
import { tcpBalancer } from '../../../test/support/tcp-balancer.js';

// @a2i/client against a real api + worker running the synthetic pipeline (50 ms a step, so a
// long job is still running when it is canceled).
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('@a2i/client against a running api', () => {
  const api = useStack({ env: { A2I_SYNTHETIC_STEP_MS: '50' } });

  it('generates with a file part, follows every event to the end, fetches the image bytes', async () => {
    const client = new A2iClient({ server: api.url });
    const photo = new Uint8Array(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3a7' } }).png().toBuffer());
    const created = await client.generate({ inputs: [{ modality: 'image', file: 'photo', weight: 0.8 }, { modality: 'text', text: 'moss', weight: 0.2 }], steps: 3, seed: 7, previewEvery: 1 }, { photo: { data: photo, name: 'photo.png', type: 'image/png' } });
    expect(created).toMatchObject({ id: expect.any(String), token: expect.any(String), links: { self: `/v1/generations/${created.id}` } });

    const seen: JobEvent[] = [];
    const end = await client.follow(created, { onEvent: (event) => seen.push(event) });
    expect(end.type).toBe('job:succeeded');
    expect(seen.at(-1)).toBe(end);
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['job:started', 'job:progress', 'job:succeeded']));
    const seqs = seen.map((e) => e.payload.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    if (end.type !== 'job:succeeded') throw new Error('unreachable');
    const [link] = end.payload.images;
    expect(link).toMatchObject({ index: 0, seed: 7, format: 'png' });

    const bytes = await client.image(created.id, created.token, 0);
    expect([...bytes.subarray(0, 4)]).toEqual(PNG_MAGIC);
    expect(bytes.length).toBe(link!.bytes);
    const status = await client.status(created.id, created.token);
    expect(status).toMatchObject({ id: created.id, status: 'succeeded', seed: 7 });
  }, 30_000);

  it('the api serves the client as one browser ES module at /client.js', async () => {
    const response = await fetch(`${api.url}/client.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    const text = await response.text();
    expect(text).toMatch(/export\s*\{[^}]*\bas A2iClient\b/);
    // one file: nothing left to import, no Node built-ins, no zod or ioredis
    expect(text).not.toMatch(/\bimport\s*[\w{*]|\bfrom\s*["']|require\(|node:/);
    expect(text).not.toMatch(/ioredis|ZodError/);
  });

  it('inlineImages: the final event carries the bytes', async () => {
    const client = new A2iClient({ server: api.url });
    const created = await client.generate({ inputs: [{ modality: 'text', text: 'rain' }], steps: 2, format: 'webp' });
    const end = await client.follow(created, { inlineImages: true });
    if (end.type !== 'job:succeeded') throw new Error(`Expected job:succeeded but received ${end.type}`);
    const data = end.payload.images[0]!.data!;
    expect((await sharp(Buffer.from(data)).metadata()).format).toBe('webp');
  }, 30_000);

  it('cancels a running job: the follower ends with job:canceled, the status says canceled', async () => {
    const client = new A2iClient({ server: api.url });
    const created = await client.generate({ inputs: [{ modality: 'text', text: 'a long one' }], steps: 200 });
    const following = client.follow(created, { onEvent: (event) => event.type === 'job:started' && void client.cancel(created.id, created.token) });
    const end = await following;
    expect(end.type).toBe('job:canceled');
    expect((await client.status(created.id, created.token)).status).toBe('canceled');
    // canceling again answers the same state; an ended job cannot be canceled (JOB_FINISHED)
    expect((await client.cancel(created.id, created.token)).status).toBe('canceled');
  }, 30_000);

  it("a refusal is an A2iError with the server's code, status and message", async () => {
    const client = new A2iClient({ server: api.url });
    const refused = await client.generate({ inputs: [{ modality: 'text', text: 'x' }], steps: 100_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(A2iError);
    expect(refused).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 400, fault: 'input', message: expect.stringMatching(/steps/) });
    const created = await client.generate({ inputs: [{ modality: 'text', text: 'x' }], steps: 1 });
    // without its token a job does not exist for the caller, over HTTP and over socket.io alike
    await expect(client.status(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(client.follow({ id: created.id, token: 'not-the-token' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(created.id) });
  }, 30_000);

  it('embeds, and runs collections: create, add items (followed), search, classify, delete', async () => {
    const client = new A2iClient({ server: api.url });
    const embedded = await client.embed({ inputs: [{ modality: 'text', text: 'moss' }, { modality: 'text', text: 'rain', weight: 0.5 }] });
    expect(embedded.vectors).toHaveLength(2);
    expect(embedded.combined).toHaveLength(embedded.dim);

    const created = await client.createCollection('client-test', 'made by the client test');
    expect(created).toMatchObject({ name: 'client-test', count: 0, description: 'made by the client test' });
    const job = await client.addItems('client-test', { items: [{ id: 'moss', modality: 'text', text: 'moss on a stone' }, { id: 'rain', modality: 'text', text: 'rain on a roof', metadata: { wet: true } }] });
    const end = await client.follow(job);
    if (end.type !== 'job:succeeded') throw new Error(`Expected job:succeeded but received ${end.type}`);
    expect(end.payload.ingest?.stored.sort()).toEqual(['moss', 'rain']);
    expect((await client.lookupItems('client-test', ['moss', 'nope'])).present).toEqual(['moss']);
    expect((await client.listCollections()).find((c) => c.name === 'client-test')?.count).toBe(2);

    const found = await client.search('client-test', { inputs: [{ modality: 'text', text: 'rain on a roof' }], k: 2 });
    expect(found.results.map((r) => r.id)).toEqual(['rain', 'moss']);
    const filtered = await client.search('client-test', { inputs: [{ modality: 'text', text: 'moss on a stone' }], filter: { wet: true } });
    expect(filtered.results.map((r) => r.id)).toEqual(['rain']);
    const labels = await client.classify({ inputs: [{ modality: 'text', text: 'moss on a stone' }], labels: ['moss on a stone', 'rain on a roof'] });
    expect(labels.labels.reduce((sum, l) => sum + l.probability, 0)).toBeCloseTo(1, 6);

    await client.deleteCollection('client-test');
    await expect(client.getCollection('client-test')).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND', status: 404 });
  }, 60_000);
});

describe('@a2i/client across an api restart', () => {
  it('server:shutdown: reconnects through the balancer to the other instance and follows the job to its end', async () => {
    const stack = await startStack({ apis: 2, env: { A2I_SYNTHETIC_STEP_MS: '40' } });
    const lb = await tcpBalancer(stack.urls.map((url) => Number(new URL(url).port)));
    try {
      const client = new A2iClient({ server: lb.url });
      const created = await client.generate({ inputs: [{ modality: 'text', text: 'a long one' }], steps: 40 });
      const seen: JobEvent[] = [];
      let shutdowns = 0;
      let closing: Promise<void> | undefined;
      const end = await client.follow(created, {
        onShutdown: () => void (shutdowns += 1),
        onEvent(event) {
          seen.push(event);
          // the first instance stops while the job runs; its listener closes at once, so new connections reach the second
          if (event.type === 'job:progress' && event.payload.stage === 'decode' && !closing) closing = stack.apis[0]!.close({ graceMs: 200 });
        },
      });
      await closing;
      stack.apis.splice(0, 1);
      expect(shutdowns).toBe(1);
      expect(end.type).toBe('job:succeeded');
      const seqs = seen.map((e) => e.payload.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seen.filter((e) => e.type === 'job:succeeded')).toHaveLength(1);
    } finally {
      await new Promise((resolve) => lb.server.close(resolve));
      await stack.close();
    }
  }, 60_000);
});

describe('@a2i/client without a server', () => {
  it('an unreachable server is CONNECT_ERROR naming the URL and the cause', async () => {
    const port = await closedPort();
    const client = new A2iClient({ server: `http://127.0.0.1:${port}/` });
    const error = await client.pack().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(A2iError);
    expect(error).toMatchObject({
      code: 'CONNECT_ERROR',
      status: undefined,
      connect: { url: `http://127.0.0.1:${port}`, cause: 'ECONNREFUSED' },
      message: `Cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED)`,
    });
    // following gives up after its reconnection attempts with the same code
    await expect(client.follow({ id: 'x', token: 'y' }, { reconnectAttempts: 1 })).rejects.toMatchObject({ code: 'CONNECT_ERROR', connect: { url: `http://127.0.0.1:${port}` } });
  }, 20_000);

  it('without a server URL outside a browser: says so', () => {
    expect(() => new A2iClient()).toThrow(/Expected a server URL/);
  });
});
