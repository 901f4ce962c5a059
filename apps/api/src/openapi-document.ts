import { createRequire } from 'node:module';
import {
  ALL_ERROR_CODES,
  ERROR_REGISTRY,
  JOB_EVENT_TYPES,
  SERVER_SHUTDOWN_EVENT,
  WEBHOOK_EVENTS,
  handshakeAuthSchema,
  jobEventSchemas,
  serverShutdownEventSchema,
  subscribeRequestSchema,
  type ErrorCode,
} from '@a2i/protocol';
import { socketAckSchema } from './api-answers.js';
import { liveChunkSchema, liveEndedEventSchema, liveImageEventSchema, liveStartAnswerSchema, liveStartSchema, liveStopSchema } from '@a2i/protocol';
import { API_ROUTES, API_SCHEMAS, PATH_PARAMETERS, type Access, type ApiRoute, type ApiSchemaName } from './api-routes-table.js';
import { errorCodeDescription } from './error-descriptions.js';
import { toOpenApiSchema, type JsonSchema } from './openapi-schemas.js';

/**
 * The OpenAPI 3.1 document of the api (served at /openapi.json, shown at /docs), built from
 * the route table (api-routes-table.ts), the zod schemas that validate the requests, and the
 * error registry (@a2i/protocol errors.ts). Nothing in it is written by hand twice: a field
 * added to a zod schema, a code added to the registry, appears here.
 *
 * Extensions (OpenAPI has no words for them):
 * - `x-error-codes` (root): every code with its HTTP status, fault and a description;
 * - `x-error-codes` (a response): the codes that route may answer with that status;
 * - `x-events` (the SSE operation): each event's payload schema;
 * - `x-socketio` (root): the socket.io handshake, the events both ways, the acknowledgements.
 * `webhooks` (OpenAPI 3.1's own): what a generation's `webhook` URL receives.
 */
export type OpenApiDocument = JsonSchema & { openapi: '3.1.0'; paths: Record<string, Record<string, JsonSchema>> };

const API_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** `job:queued` -> `JobQueuedEvent`, `server:shutdown` -> `ServerShutdownEvent`. */
export const eventSchemaName = (type: string) => `${type.split(/[:-]/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}Event`;
/** `/v1/generations/:id` -> `/v1/generations/{id}` */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

const SECURITY: Record<Access, JsonSchema[]> = {
  public: [],
  // an empty requirement: no key needed while A2I_API_KEYS is unset
  apiKey: [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}],
  job: [{ jobToken: [] }, { jobTokenQuery: [] }, { bearerAuth: [] }, { apiKeyHeader: [] }],
};

export function buildOpenApiDocument(): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  // request bodies as zod reads them, answers as the api writes them
  const requests = new Set(API_ROUTES.flatMap((route) => (route.body ? [route.body.schema] : [])));
  for (const [name, schema] of Object.entries(API_SCHEMAS)) schemas[name] = toOpenApiSchema(schema, requests.has(name as ApiSchemaName) ? 'input' : 'output');
  schemas.ErrorCode = { type: 'string', enum: [...ALL_ERROR_CODES], description: 'Every code and its HTTP status: `x-error-codes` at the root of this document.' };
  // the wire schema checks the form of a code (UPPER_SNAKE); the document lists them
  const errorObject = (schemas.ErrorBody!.properties as Record<string, JsonSchema>).error!;
  (errorObject.properties as Record<string, JsonSchema>).code = ref('ErrorCode');
  for (const type of JOB_EVENT_TYPES) schemas[eventSchemaName(type)] = toOpenApiSchema(jobEventSchemas[type], 'output');
  schemas[eventSchemaName(SERVER_SHUTDOWN_EVENT)] = toOpenApiSchema(serverShutdownEventSchema, 'output');
  schemas.HandshakeAuth = toOpenApiSchema(handshakeAuthSchema, 'input');
  schemas.SubscribeRequest = toOpenApiSchema(subscribeRequestSchema, 'input');
  schemas.UnsubscribeRequest = toOpenApiSchema(subscribeRequestSchema.pick({ id: true }), 'input');
  schemas.SocketAck = toOpenApiSchema(socketAckSchema, 'output');
  // live sound (README "Live sound")
  schemas.LiveStartRequest = toOpenApiSchema(liveStartSchema, 'input');
  schemas.LiveStartAck = { oneOf: [toOpenApiSchema(liveStartAnswerSchema, 'output'), ref('ErrorBody')] };
  schemas.LiveChunk = toOpenApiSchema(liveChunkSchema, 'input');
  schemas.LiveStopRequest = toOpenApiSchema(liveStopSchema, 'input');
  schemas.LiveImageEvent = toOpenApiSchema(liveImageEventSchema, 'output');
  schemas.LiveEndedEvent = toOpenApiSchema(liveEndedEventSchema, 'output');

  const paths: OpenApiDocument['paths'] = {};
  for (const route of API_ROUTES) (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route);

  return {
    openapi: '3.1.0',
    info: {
      title: 'audio-to-image api',
      version: API_VERSION,
      description:
        'Generation from audio, images, video, depth, thermal, IMU, text and vectors (ImageBind embeddings into an unCLIP decoder), collections, search and zero-shot classification. ' +
        'Every error answer is `{ "error": { "code", "message" } }` with a stable code (`x-error-codes`). Job events also over socket.io (`x-socketio`). A page for people: /docs.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Generations', description: 'Queue a generation, follow it, fetch its images' },
      { name: 'Embeddings', description: 'Vectors of inputs, zero-shot classification' },
      { name: 'Collections', description: 'Stored items, search (retrieval)' },
      { name: 'Service', description: 'Health, metrics, the model pack, this document, the client module' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key of A2I_API_KEYS (needed only when it is set)' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key, in its own header' },
        jobToken: { type: 'apiKey', in: 'header', name: 'X-Job-Token', description: "The job's token (from its 202 answer)" },
        jobTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: "The job's token, for <img> and EventSource" },
      },
    },
    webhooks: webhookDescription(),
    'x-error-codes': ALL_ERROR_CODES.map((code) => ({ code, status: ERROR_REGISTRY[code].status, fault: ERROR_REGISTRY[code].fault, description: errorCodeDescription(code) })),
    'x-socketio': socketIoDescription(),
  };
}

function operation(route: ApiRoute): JsonSchema {
  const parameters: JsonSchema[] = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description: route.params?.[name!] ?? PATH_PARAMETERS[name!] ?? name,
    schema: { type: 'string' },
  }));
  const query = route.query ? toOpenApiSchema(route.query, 'input') : { properties: {} };
  const requiredQuery = new Set((query.required as string[] | undefined) ?? []);
  for (const [name, schema] of Object.entries(query.properties as Record<string, JsonSchema>)) {
    const { description, ...rest } = schema;
    parameters.push({ name, in: 'query', required: requiredQuery.has(name), ...(description ? { description } : {}), schema: rest });
  }
  for (const [name, description] of Object.entries(route.headers ?? {})) parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  const op: JsonSchema = { operationId: route.operationId, summary: route.summary, tags: [route.tag], security: SECURITY[route.access] };
  if (route.description) op.description = route.description;
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) op.requestBody = requestBody(route.body.schema, route.body.multipart);
  op.responses = { ...successResponses(route), ...errorResponses(route.errors) };
  if (Object.values(route.responses).some((response) => response.mediaTypes?.includes('text/event-stream'))) {
    op['x-events'] = Object.fromEntries([...JOB_EVENT_TYPES, SERVER_SHUTDOWN_EVENT].map((type) => [type, ref(eventSchemaName(type))]));
  }
  return op;
}

function requestBody(schema: string, multipart: boolean): JsonSchema {
  const content: JsonSchema = { 'application/json': { schema: ref(schema) } };
  if (multipart) {
    content['multipart/form-data'] = {
      schema: {
        type: 'object',
        required: ['request'],
        properties: { request: { ...ref(schema), description: 'The JSON request (the same as the JSON body)' } },
        // every other part is a file, named by an input's (or item's) `file`
        additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream', description: "A file part, named by an input's `file`; its format is found from its bytes" },
      },
      encoding: { request: { contentType: 'application/json' } },
    };
  }
  return { required: true, content, description: multipart ? 'JSON, or multipart/form-data: a `request` part holding the JSON + one part per file an input names' : 'JSON' };
}

const HEADERS: Record<string, JsonSchema> = {
  Location: { description: 'The new resource', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
  'Server-Timing': { description: 'embed;dur=, search;dur=, total;dur= (milliseconds)', schema: { type: 'string' } },
};

function successResponses(route: ApiRoute): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const answer: JsonSchema = { description: response.description };
    if (response.schema) answer.content = { 'application/json': { schema: ref(response.schema) } };
    else if (response.mediaTypes) answer.content = Object.fromEntries(response.mediaTypes.map((type) => [type, { schema: { type: 'string' } }]));
    if (response.headers) answer.headers = Object.fromEntries(response.headers.map((name) => [name, HEADERS[name]]));
    out[status] = answer;
  }
  return out;
}

/** One response per status the route's codes have, naming the codes. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_REGISTRY[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, JsonSchema> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.join(', '),
      content: { 'application/json': { schema: { allOf: [ref('ErrorBody'), { properties: { error: { properties: { code: { enum: list } } } } }] } } },
      ...(status === 429 || status === 503 ? { headers: { 'Retry-After': HEADERS['Retry-After'] } } : {}),
      'x-error-codes': list,
    };
  }
  return out;
}

function socketIoDescription(): JsonSchema {
  const request = (name: string) => ({ request: ref(name), ack: ref('SocketAck') });
  return {
    path: '/socket.io',
    description:
      'socket.io (v4) on the same port. Handshake `auth` may carry `{ jobId, token }` (subscribe at once; a wrong pair refuses the connection with `err.data = { code, message }`), `apiKey`, and `inlineImages`. ' +
      'The same events as the SSE stream; previews carry binary bytes. Each client message is acknowledged with `{ ok: true }` or `{ error: { code, message } }` (live:chunk excepted). ' +
      'Live sound (live:start, live:chunk, live:stop; live:image, live:ended): a stream of 16-bit PCM chunks answered with pictures of its newest window.',
    handshakeAuth: ref('HandshakeAuth'),
    serverToClient: Object.fromEntries([...JOB_EVENT_TYPES, SERVER_SHUTDOWN_EVENT, 'live:image', 'live:ended'].map((type) => [type, ref(eventSchemaName(type))])),
    clientToServer: {
      'job:subscribe': request('SubscribeRequest'),
      'job:unsubscribe': request('UnsubscribeRequest'),
      'job:cancel': request('SubscribeRequest'),
      // live sound: a chunk has no acknowledgement (a bad one ends its stream with live:ended)
      'live:start': { request: ref('LiveStartRequest'), ack: ref('LiveStartAck') },
      'live:chunk': { request: ref('LiveChunk') },
      'live:stop': request('LiveStopRequest'),
    },
    connectErrorCodes: ['INVALID_REQUEST', 'NOT_READY', 'NOT_FOUND', 'RESULT_EXPIRED', 'ORIGIN_NOT_ALLOWED', 'RATE_LIMITED', 'TOO_MANY_CONNECTIONS', 'CONNECTIONS_FULL'] satisfies ErrorCode[],
  };
}

/** What a request's `webhook.url` receives (README "Webhooks"): the job's status when the event happened, plus `type`. */
function webhookDescription(): JsonSchema {
  const header = (name: string, description: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });
  return {
    generationEvent: {
      post: {
        summary: "A generation's event, POSTed to its request's `webhook.url` (Standard Webhooks signature)",
        parameters: [
          header('webhook-id', 'The message id, the same on every retry'),
          header('webhook-timestamp', 'This attempt, integer seconds'),
          header('webhook-signature', '`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`'),
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { allOf: [ref('GenerationStatus'), { type: 'object', required: ['type'], properties: { type: { enum: [...WEBHOOK_EVENTS] } } }] } } },
        },
        responses: { '2XX': { description: 'received; a redirect is not followed, another answer (or none) is retried (A2I_WEBHOOK_ATTEMPTS)' } },
      },
    },
  };
}
