import { describe, expect, it } from 'vitest';
import { postJson, useStack, waitFor } from './harness.js';

// POST /v1/collections/:name/items/lookup: which ids a collection holds (the check a resumable
// upload makes before sending anything), with the per-request limits it must batch by.
describe('items lookup', () => {
  const run = useStack({ env: { A2I_INGEST_MAX_ITEMS: '5', A2I_MAX_UPLOAD_FILES: '3' } });

  it('answers the present ids in the order asked, and the per-request limits', async () => {
    const pack = (await (await fetch(`${run.url}/v1/pack`)).json()) as { dim: number };
    expect((await postJson(`${run.url}/v1/collections`, { name: 'lookup' })).status).toBe(201);
    const vector = (i: number) => Array.from({ length: pack.dim }, (_, d) => (d === i ? 1 : 0));
    const created = await postJson(`${run.url}/v1/collections/lookup/items`, {
      items: ['a', 'b/c.png', 'd'].map((id, i) => ({ id, modality: 'embedding', vector: vector(i) })),
    });
    expect(created.status).toBe(202);
    await waitFor(async () => {
      const status = (await fetch(`${run.url}${created.body.links.self}`, { headers: { 'x-job-token': created.body.token } }).then((r) => r.json())) as { status: string };
      return status.status === 'succeeded' ? status : undefined;
    }, 'the ingest job');

    const answer = await postJson(`${run.url}/v1/collections/lookup/items/lookup`, { ids: ['d', 'x', 'b/c.png', 'a', 'a'] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ present: ['d', 'b/c.png', 'a', 'a'], limits: { itemsPerRequest: 5, filesPerRequest: 3 } });
    expect((await postJson(`${run.url}/v1/collections/lookup/items/lookup`, { ids: [] })).body.present).toEqual([]);
  });

  it('refuses a malformed body, too many ids and an unknown collection by code', async () => {
    const bad = await postJson(`${run.url}/v1/collections/lookup/items/lookup`, { ids: [1] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const many = await postJson(`${run.url}/v1/collections/lookup/items/lookup`, { ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`) });
    expect([many.status, many.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(many.body.error.message).toMatch(/1000/);
    const unknown = await postJson(`${run.url}/v1/collections/nope/items/lookup`, { ids: ['a'] });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
  });
});
