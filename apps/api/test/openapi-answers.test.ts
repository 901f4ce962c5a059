import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../src/openapi-document.js';
import { json, postJson, send, useStack, waitFor } from './harness.js';
import { pointerSegment, schemaValidators } from './openapi-support.js';

/**
 * The real answers of a running stack (api + synthetic worker) against the document: each
 * answer's status is one the document gives its route, and its body is valid against the
 * schema documented for that status (errors: the codes listed for it).
 */
const doc = buildOpenApiDocument();
const validatorAt = schemaValidators(doc);

function expectDocumented(method: string, path: string, status: number, body: unknown) {
  const responses = doc.paths[path]?.[method]?.responses as Record<string, { content?: Record<string, unknown> }> | undefined;
  expect(responses, `${method} ${path} in the document`).toBeDefined();
  expect(Object.keys(responses!), `${method} ${path} documents status ${status}`).toContain(String(status));
  const validate = validatorAt(`/paths/${pointerSegment(path)}/${method}/responses/${status}/content/application~1json/schema`);
  expect(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
}

describe('the answers of a running api match the OpenAPI document', () => {
  const run = useStack();

  it('documents the service routes, a generation from submission to its history, and an error answer', async () => {
    expectDocumented('get', '/healthz', 200, await json(await fetch(`${run.url}/healthz`)));
    const ready = await waitFor(async () => {
      const response = await fetch(`${run.url}/readyz`);
      return response.status === 200 ? json(response) : undefined;
    }, 'a ready api');
    expectDocumented('get', '/readyz', 200, ready);
    expectDocumented('get', '/v1/pack', 200, await json(await fetch(`${run.url}/v1/pack`)));

    const created = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: 'a lighthouse at dusk' }], seed: 7 });
    expectDocumented('post', '/v1/generations', created.status, created.body);
    const { id, token } = created.body as { id: string; token: string };
    const done = await waitFor(async () => {
      const status = await send(`${run.url}/v1/generations/${id}`, 'GET', undefined, { 'x-job-token': token });
      return status.body?.status === 'succeeded' ? status : undefined;
    }, 'the generation to succeed');
    expectDocumented('get', '/v1/generations/{id}', done.status, done.body);
    const history = await send(`${run.url}/v1/generations`, 'GET', undefined, { 'x-job-tokens': `${id}.${token}` });
    expectDocumented('get', '/v1/generations', history.status, history.body);
    expect((history.body as { data: Array<{ id: string }> }).data.map((job) => job.id)).toEqual([id]);

    const refused = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text' }] });
    expect(refused.status).toBe(400);
    expectDocumented('post', '/v1/generations', refused.status, refused.body);
    const missing = await send(`${run.url}/v1/generations/nope`, 'GET');
    expectDocumented('get', '/v1/generations/{id}', missing.status, missing.body);
  });

  it('documents embeddings, collections and search', async () => {
    const embedded = await postJson(`${run.url}/v1/embeddings`, { inputs: [{ modality: 'text', text: 'rain' }] });
    expectDocumented('post', '/v1/embeddings', embedded.status, embedded.body);
    const created = await postJson(`${run.url}/v1/collections`, { name: 'openapi-check' });
    expectDocumented('post', '/v1/collections', created.status, created.body);
    const again = await postJson(`${run.url}/v1/collections`, { name: 'openapi-check' });
    expectDocumented('post', '/v1/collections', again.status, again.body);
    const listed = await send(`${run.url}/v1/collections`, 'GET');
    expectDocumented('get', '/v1/collections', listed.status, listed.body);
    const found = await postJson(`${run.url}/v1/collections/openapi-check/search`, { inputs: [{ modality: 'text', text: 'rain' }], k: 3 });
    expectDocumented('post', '/v1/collections/{name}/search', found.status, found.body);
    const lookup = await postJson(`${run.url}/v1/collections/openapi-check/items/lookup`, { ids: ['a'] });
    expectDocumented('post', '/v1/collections/{name}/items/lookup', lookup.status, lookup.body);
  });
});
