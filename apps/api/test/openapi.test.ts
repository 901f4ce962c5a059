import { Validator } from '@seriousme/openapi-schema-validator';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ALL_ERROR_CODES,
  ERROR_REGISTRY,
  JOB_EVENT_TYPES,
  classifyRequestSchema,
  createCollectionRequestSchema,
  embeddingRequestSchema,
  generationRequestSchema,
  ingestRequestSchema,
  itemLookupRequestSchema,
  searchRequestSchema,
} from '@a2i/protocol';
import { API_ROUTES } from '../src/api-routes-table.js';
import { createClientGuards } from '../src/client-guards.js';
import { DOCS_PAGE_CSP } from '../src/docs-page.js';
import { createHttpApp, type RouteDeps } from '../src/http-routes.js';
import { buildOpenApiDocument, openApiPath, type OpenApiDocument } from '../src/openapi-document.js';
import type { JsonSchema } from '../src/openapi-schemas.js';
import { removeTestState, silent, testConfig } from './harness.js';
import { componentValidators, expressRoutes } from './openapi-support.js';

const doc = buildOpenApiDocument();
const schemas = (doc.components as { schemas: Record<string, JsonSchema> }).schemas;
const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
const validator = componentValidators(doc);

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (the official schema, via @seriousme/openapi-schema-validator)', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has every $ref resolve to a component schema, and a 2xx answer on every operation', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/(\w+)"$/.exec(ref)?.[1];
      expect(name && schemas[name], ref).toBeTruthy();
    }
    for (const { path, method, op } of operations) {
      expect(Object.keys(op.responses as object).some((status) => status.startsWith('2')), `${method} ${path}`).toBe(true);
    }
  });

  it('lists every error code of the registry with its status and fault, and answers each route code under its own status', () => {
    expect((schemas.ErrorCode!.enum as string[]).slice().sort()).toEqual([...ALL_ERROR_CODES].sort());
    const listed = doc['x-error-codes'] as Array<{ code: string; status: number; fault: string; description: string }>;
    expect(listed.map((entry) => entry.code)).toEqual(ALL_ERROR_CODES);
    for (const entry of listed) {
      expect(entry.status).toBe(ERROR_REGISTRY[entry.code as keyof typeof ERROR_REGISTRY].status);
      expect(entry.fault).toBe(ERROR_REGISTRY[entry.code as keyof typeof ERROR_REGISTRY].fault);
      expect(entry.description.length).toBeGreaterThan(5);
    }
    for (const { op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, JsonSchema>)) {
        for (const code of (response['x-error-codes'] as string[] | undefined) ?? []) expect(ERROR_REGISTRY[code as keyof typeof ERROR_REGISTRY].status).toBe(Number(status));
      }
    }
    // an error body with a code is valid; one with a code not in the registry is not
    expect(validator('ErrorBody')({ error: { code: 'QUEUE_FULL', message: 'full' } })).toBe(true);
    expect(validator('ErrorBody')({ error: { code: 'NO_SUCH_CODE', message: 'x' } })).toBe(false);
  });

  it('carries every field of the request schemas (a field added to zod appears here)', () => {
    const pairs: Array<[string, z.ZodObject]> = [
      ['GenerationRequest', generationRequestSchema],
      ['EmbeddingRequest', embeddingRequestSchema],
      ['IngestRequest', ingestRequestSchema],
      ['SearchRequest', searchRequestSchema],
      ['ClassifyRequest', classifyRequestSchema],
    ];
    for (const [name, schema] of pairs) expect(Object.keys(schemas[name]!.properties as object).sort(), name).toEqual(Object.keys(schema.shape).sort());
  });

  it('describes the multipart bodies (a JSON `request` part + file parts), the SSE stream and the socket.io events', () => {
    for (const path of ['/v1/generations', '/v1/embeddings', '/v1/collections/{name}/items']) {
      const multipart = ((doc.paths[path]!.post!.requestBody as JsonSchema).content as Record<string, JsonSchema>)['multipart/form-data']!;
      const schema = multipart.schema as JsonSchema;
      expect(schema.required, path).toEqual(['request']);
      expect((schema.additionalProperties as JsonSchema).contentMediaType).toBe('application/octet-stream');
      expect(multipart.encoding).toEqual({ request: { contentType: 'application/json' } });
    }
    const sse = doc.paths['/v1/generations/{id}/events']!.get!;
    expect(Object.keys(((sse.responses as Record<string, JsonSchema>)['200']!.content as object))).toEqual(['text/event-stream']);
    expect(Object.keys(sse['x-events'] as object)).toEqual([...JOB_EVENT_TYPES, 'server:shutdown']);
    const socket = doc['x-socketio'] as { serverToClient: object; clientToServer: object };
    expect(Object.keys(socket.serverToClient)).toEqual([...JOB_EVENT_TYPES, 'server:shutdown', 'live:image', 'live:ended']);
    expect(Object.keys(socket.clientToServer)).toEqual(['job:subscribe', 'job:unsubscribe', 'job:cancel', 'live:start', 'live:chunk', 'live:stop']);
  });
});

describe('the request schemas in the document judge requests as zod does', () => {
  const cases: Array<{ name: string; zod: z.ZodType; good: unknown[]; bad: unknown[] }> = [
    {
      name: 'GenerationRequest',
      zod: generationRequestSchema,
      good: [
        { inputs: [{ modality: 'text', text: 'a dog in the rain' }] },
        {
          inputs: [
            { modality: 'audio', file: 'sound', weight: 1 },
            { modality: 'embedding', vector: [0.1, -0.2], weight: 0.5 },
            { modality: 'item', collection: 'photos', id: 'beach-1', weight: 0 },
          ],
          neighbors: { collection: 'photos', k: 4, filter: { place: 'sea' } },
          seed: 42, steps: 25, guidance: 3, prior: 'auto', numImages: 2, format: 'webp', previewEvery: 0, priority: 'low',
        },
      ],
      bad: [
        {},
        { inputs: [] },
        { inputs: [{ modality: 'smell', file: 'x' }] },
        { inputs: [{ modality: 'text' }] },
        { inputs: [{ modality: 'text', text: 'x', file: 'y' }] },
        { inputs: [{ modality: 'item', collection: 'photos' }] },
        { inputs: [{ modality: 'text', text: 'x', weight: 0 }] },
        { inputs: [{ modality: 'text', text: 'x' }], steps: 0 },
        { inputs: [{ modality: 'text', text: 'x' }], guidance: 500 },
        { inputs: [{ modality: 'text', text: 'x' }], seed: -1 },
        { inputs: [{ modality: 'text', text: 'x' }], numImages: 1.5 },
        { inputs: [{ modality: 'text', text: 'x' }], format: 'gif' },
        { inputs: [{ modality: 'text', text: 'x' }], colour: 'red' },
        { inputs: [{ modality: 'text', text: 'x' }], neighbors: { k: 2 } },
      ],
    },
    {
      name: 'IngestRequest',
      zod: ingestRequestSchema,
      good: [{ items: [{ modality: 'image', file: 'p0', id: 'a', metadata: { place: 'sea', year: 2020, ok: true } }, { modality: 'text', text: 'hello' }] }],
      bad: [{ items: [] }, { items: [{ modality: 'item', collection: 'c', id: 'x' }] }, { items: [{ modality: 'image' }] }, { items: [{ modality: 'text', text: 'x', metadata: { a: [1] } }] }],
    },
    { name: 'EmbeddingRequest', zod: embeddingRequestSchema, good: [{ inputs: [{ modality: 'text', text: 'x' }] }], bad: [{ inputs: [{ modality: 'text', text: 'x' }], steps: 3 }] },
    { name: 'ClassifyRequest', zod: classifyRequestSchema, good: [{ inputs: [{ modality: 'image', file: 'p' }], labels: ['a dog', 'a cat'] }], bad: [{ inputs: [{ modality: 'image', file: 'p' }] }, { inputs: [], labels: ['a'] }] },
    { name: 'SearchRequest', zod: searchRequestSchema, good: [{ inputs: [{ modality: 'text', text: 'x' }], k: 5, modality: ['image'] }], bad: [{ inputs: [{ modality: 'text', text: 'x' }], modality: 3 }] },
    { name: 'CreateCollectionRequest', zod: createCollectionRequestSchema, good: [{ name: 'photos', description: 'mine' }], bad: [{ description: 'no name' }, { name: 'x', owner: 'me' }] },
    { name: 'ItemLookupRequest', zod: itemLookupRequestSchema, good: [{ ids: ['a', 'b'] }], bad: [{ ids: [''] }, { ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }] },
  ];

  for (const { name, zod, good, bad } of cases) {
    it(`${name}: accepts the good examples and refuses the bad ones, like zod`, () => {
      const validate = validator(name);
      for (const example of [...good, ...bad]) {
        const expected = good.includes(example);
        expect(zod.safeParse(example).success, `zod: ${JSON.stringify(example).slice(0, 120)}`).toBe(expected);
        expect(validate(example), `document: ${JSON.stringify(example).slice(0, 120)} ${JSON.stringify(validate.errors?.slice(0, 2))}`).toBe(expected);
      }
    });
  }
});

describe('the express app and the document', () => {
  let config: Awaited<ReturnType<typeof testConfig>>;
  let redis: Redis;
  let app: ReturnType<typeof createHttpApp>;
  beforeAll(async () => {
    config = await testConfig();
    redis = new Redis(config.redis.url, { lazyConnect: true });
    // the real routes and guards (helmet's headers); services that these tests never call are stand-ins
    const metrics = { httpRequests: { observe: () => undefined }, generationsSubmitted: { inc: () => undefined } };
    const deps = { config, redis, logger: silent, metrics, guards: createClientGuards({ config, redis, logger: silent }), service: {}, hub: {}, pack: {}, shutdown: {}, collections: {}, history: {} };
    app = createHttpApp(deps as unknown as RouteDeps);
  });
  afterAll(async () => {
    redis.disconnect();
    await removeTestState(config);
  });

  it('documents every route the app has, and has every route it documents', () => {
    const routes = expressRoutes(app);
    expect(routes.size).toBeGreaterThan(20);
    const inApp = new Set([...routes].map((route) => openApiPath(route)));
    const inDocument = new Set(operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    expect([...inApp].filter((route) => !inDocument.has(route)), 'routes missing from api-routes-table.ts').toEqual([]);
    expect([...inDocument].filter((route) => !inApp.has(route)), 'documented routes the app does not have').toEqual([]);
    expect(API_ROUTES.length).toBe(inDocument.size);
  });

  it('serves the document at /openapi.json and a page naming every path and code at /docs', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const openapi = await fetch(`${base}/openapi.json`);
      expect(openapi.status).toBe(200);
      expect(openapi.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await openapi.json()) as OpenApiDocument).toEqual(JSON.parse(JSON.stringify(doc)));

      const page = await fetch(`${base}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(DOCS_PAGE_CSP);
      const html = await page.text();
      expect(html).not.toMatch(/<script|https?:\/\/(?!a2i)/i);
      for (const { path } of operations) expect(html, path).toContain(`<code>${path}</code>`);
      for (const code of ALL_ERROR_CODES) expect(html, code).toContain(`id="code-${code}"`);
      for (const name of Object.keys(schemas)) expect(html, name).toContain(`id="schema-${name}"`);
      for (const event of [...JOB_EVENT_TYPES, 'server:shutdown']) expect(html, event).toContain(`<code>${event}</code>`);
      expect(html).toContain('<code>webhook-signature</code>');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
