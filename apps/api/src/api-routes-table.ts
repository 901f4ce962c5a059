import { z } from 'zod';
import {
  ALL_ERROR_CODES,
  ERROR_CODES as E,
  INPUT_ERROR_CODES,
  classifyRequestSchema,
  createCollectionRequestSchema,
  embeddingRequestSchema,
  errorBodySchema,
  generationCreatedSchema,
  generationHistorySchema,
  generationRequestSchema,
  generationStatusSchema,
  ingestRequestSchema,
  itemLookupRequestSchema,
  packDescriptionSchema,
  searchRequestSchema,
  type ErrorCode,
} from '@a2i/protocol';
import {
  classifyAnswerSchema,
  collectionListSchema,
  collectionViewSchema,
  embeddingsAnswerSchema,
  healthAnswerSchema,
  ingestCreatedSchema,
  ingestStatusSchema,
  itemLookupAnswerSchema,
  itemViewSchema,
  readyAnswerSchema,
  searchAnswerSchema,
} from './api-answers.js';
import { historyQuerySchema } from './history-page.js';

/**
 * Every HTTP route of the api, as data: the OpenAPI document (openapi-document.ts) and the
 * /docs page are built from this table and from the zod schemas that validate the requests,
 * so no shape is written twice. test/openapi.test.ts compares the table with the routes the
 * express app really has, both ways: a route added to http-routes.ts or collections-routes.ts
 * without a row here (or the reverse) fails it.
 */

/** The named schemas the document's `components.schemas` holds; routes name them. */
export const API_SCHEMAS = {
  GenerationRequest: generationRequestSchema,
  GenerationCreated: generationCreatedSchema,
  GenerationStatus: generationStatusSchema,
  GenerationHistory: generationHistorySchema,
  EmbeddingRequest: embeddingRequestSchema,
  EmbeddingsAnswer: embeddingsAnswerSchema,
  PackDescription: packDescriptionSchema,
  HealthAnswer: healthAnswerSchema,
  ReadyAnswer: readyAnswerSchema,
  CreateCollectionRequest: createCollectionRequestSchema,
  Collection: collectionViewSchema,
  CollectionList: collectionListSchema,
  IngestRequest: ingestRequestSchema,
  IngestCreated: ingestCreatedSchema,
  IngestStatus: ingestStatusSchema,
  ItemLookupRequest: itemLookupRequestSchema,
  ItemLookupAnswer: itemLookupAnswerSchema,
  Item: itemViewSchema,
  SearchRequest: searchRequestSchema,
  SearchAnswer: searchAnswerSchema,
  ClassifyRequest: classifyRequestSchema,
  ClassifyAnswer: classifyAnswerSchema,
  ErrorBody: errorBodySchema,
} as const satisfies Record<string, z.ZodType>;
export type ApiSchemaName = keyof typeof API_SCHEMAS;

export type Tag = 'Generations' | 'Embeddings' | 'Collections' | 'Service';
/**
 * Who may call: anyone; an API key when A2I_API_KEYS is set (`apiKey`); the job's token or the
 * API key that created the job (`job`, README "Who may see a job").
 */
export type Access = 'public' | 'apiKey' | 'job';

export interface ApiResponse {
  description: string;
  /** A JSON body of this schema. */
  schema?: ApiSchemaName;
  /** A body that is not JSON (text/event-stream, images, Prometheus text, HTML). */
  mediaTypes?: readonly string[];
  headers?: readonly ('Location' | 'Retry-After' | 'Server-Timing')[];
}

export interface ApiRoute {
  method: 'get' | 'post' | 'delete';
  /** Express syntax (`/v1/generations/:id`); the document writes `{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  access: Access;
  /** The JSON body; `multipart`: also as multipart/form-data, a `request` part holding this JSON + file parts. */
  body?: { schema: ApiSchemaName; multipart: boolean };
  /** Path parameters whose meaning is not the usual one (PATH_PARAMETERS). */
  params?: Readonly<Record<string, string>>;
  /** Query parameters, as the zod schema the route parses them with (the job's `?token=` is a security scheme of `access: 'job'`). */
  query?: z.ZodObject;
  /** Request headers other than the credentials. */
  headers?: Readonly<Record<string, string>>;
  /** Successful answers by status. */
  responses: Readonly<Record<number, ApiResponse>>;
  /** Error codes the route can answer (their statuses come from the registry). */
  errors: readonly ErrorCode[];
}

// ---- error codes that groups of routes share
/** Any request: an origin not allowed (browser pages), a fault. */
const ANY: ErrorCode[] = [E.ORIGIN_NOT_ALLOWED, E.INTERNAL];
/** Routes that read Redis: NOT_READY while it is away (with Retry-After). */
const REDIS: ErrorCode[] = [...ANY, E.NOT_READY];
const JOB: ErrorCode[] = [...REDIS, E.NOT_FOUND, E.RESULT_EXPIRED];
const KEY: ErrorCode[] = [...REDIS, E.UNAUTHORIZED];
/** A JSON body. */
const JSON_BODY: ErrorCode[] = [E.INVALID_JSON, E.INVALID_REQUEST, E.UPLOAD_TOO_LARGE, E.UPLOAD_TOO_SLOW, E.UNSUPPORTED_CONTENT_TYPE];
/** A request's `webhook` (README "Webhooks"). */
const WEBHOOK: ErrorCode[] = [E.WEBHOOK_INVALID, E.WEBHOOKS_DISABLED, E.WEBHOOK_NOT_ALLOWED];
/** Raised by preprocessing in the worker, not by the decoders that check uploads at POST. */
const PREPROCESSING: ReadonlySet<ErrorCode> = new Set([E.AUDIO_INVALID_PCM, E.AUDIO_TOO_SHORT, E.IMAGE_INVALID_SHAPE]);
/** What the decoders (@a2i/media) answer for an upload whose header they refuse (checked at POST). */
const DECODER_CODES = ALL_ERROR_CODES.filter((code) => (/^(MEDIA|AUDIO|IMAGE|VIDEO|IMU|NPY)_/.test(code) || code === E.NON_FINITE_VALUE) && !PREPROCESSING.has(code));
/** Routes that wait for a worker's embedding answer with its input fault (every 422 code), or EMBEDDING_TIMEOUT. */
const EMBEDDED: ErrorCode[] = [...INPUT_ERROR_CODES, E.EMBEDDING_TIMEOUT];
/** A body of generation inputs, JSON or multipart with files. */
const INPUTS: ErrorCode[] = [
  ...JSON_BODY,
  E.RATE_LIMITED,
  E.UNSUPPORTED_MODALITY,
  E.LIMIT_EXCEEDED,
  E.EMBEDDING_DIMENSION_MISMATCH,
  E.MISSING_FILE,
  E.UNEXPECTED_FILE,
  E.UPLOADS_BUSY,
  E.PACK_UNAVAILABLE,
  E.ITEM_NOT_FOUND,
  ...DECODER_CODES,
];
const COLLECTION: ErrorCode[] = [...KEY, E.COLLECTION_NOT_FOUND, E.INVALID_NAME, E.STORAGE_FAILURE];

const jobId = 'a generation (or ingest job) id';
const json = (description: string, schema: ApiSchemaName, headers?: ApiResponse['headers']): ApiResponse => ({ description, schema, ...(headers ? { headers } : {}) });

export const API_ROUTES: readonly ApiRoute[] = [
  // ---- service
  { method: 'get', path: '/healthz', operationId: 'health', summary: 'Liveness', tag: 'Service', access: 'public', responses: { 200: json('alive', 'HealthAnswer') }, errors: ANY },
  {
    method: 'get', path: '/readyz', operationId: 'ready', summary: 'Readiness: Redis answers, a worker has its models loaded, a pack is published', tag: 'Service', access: 'public',
    responses: { 200: json('ready', 'ReadyAnswer') }, errors: REDIS,
  },
  { method: 'get', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics', tag: 'Service', access: 'public', responses: { 200: { description: 'Prometheus text format', mediaTypes: ['text/plain'] } }, errors: ANY },
  { method: 'get', path: '/openapi.json', operationId: 'openapi', summary: 'This document (OpenAPI 3.1)', tag: 'Service', access: 'public', responses: { 200: { description: 'the OpenAPI document', mediaTypes: ['application/json'] } }, errors: ANY },
  { method: 'get', path: '/docs', operationId: 'docs', summary: 'This document as a page for people', tag: 'Service', access: 'public', responses: { 200: { description: 'an HTML page', mediaTypes: ['text/html'] } }, errors: ANY },
  { method: 'get', path: '/client.js', operationId: 'clientBundle', summary: 'The typed client (@a2i/client) as one browser ES module', tag: 'Service', access: 'public', responses: { 200: { description: 'an ES module', mediaTypes: ['text/javascript'] } }, errors: ANY },
  { method: 'get', path: '/v1/pack', operationId: 'getPack', summary: "What the workers' model pack offers (modalities, defaults, limits)", tag: 'Service', access: 'public', responses: { 200: json('the pack', 'PackDescription') }, errors: [...REDIS, E.PACK_UNAVAILABLE] },

  // ---- generations
  {
    method: 'post', path: '/v1/generations', operationId: 'createGeneration', summary: 'Queue a generation', tag: 'Generations', access: 'apiKey',
    description: 'Inputs are mixed by weight into one embedding, which conditions the image decoder. Follow the job with the events stream, socket.io, or its status.',
    body: { schema: 'GenerationRequest', multipart: true },
    responses: { 202: json('queued: keep the token, it is the only way to see the job without the API key', 'GenerationCreated', ['Location']) },
    errors: [...KEY, ...INPUTS, E.PRIORITY_NOT_ALLOWED, E.PRIOR_UNAVAILABLE, E.QUEUE_FULL, E.COLLECTION_NOT_FOUND, E.INVALID_FILTER, E.SPACE_MISMATCH, ...WEBHOOK, E.VIDEO_NEEDS_AUDIO, E.MORPH_NEEDS_INPUTS],
  },
  {
    method: 'get', path: '/v1/generations', operationId: 'listGenerations', summary: "The caller's generations, newest first, a page at a time", tag: 'Generations', access: 'apiKey',
    description: 'With A2I_API_KEYS: the jobs created with the caller\'s key. Without: the jobs whose tokens the caller presents in X-Job-Tokens. Pass `nextCursor` as `?cursor=` for the next page.',
    query: historyQuerySchema, headers: { 'X-Job-Tokens': '`<id>.<token>` pairs separated by commas (without A2I_API_KEYS), at most 100' },
    responses: { 200: json('a page of statuses', 'GenerationHistory') }, errors: [...KEY, E.INVALID_REQUEST, E.LIMIT_EXCEEDED],
  },
  {
    method: 'get', path: '/v1/generations/:id', operationId: 'getGeneration', summary: "A generation's status", tag: 'Generations', access: 'job',
    query: z.object({ include: z.literal('images').optional().describe('`images`: each image inline, base64 in `b64_json` (up to A2I_INLINE_IMAGE_BYTES)') }),
    responses: { 200: json('the status', 'GenerationStatus') }, errors: [...JOB, E.INVALID_REQUEST],
  },
  {
    method: 'post', path: '/v1/generations/:id/cancel', operationId: 'cancelGeneration', summary: 'Cancel a generation', tag: 'Generations', access: 'job',
    responses: { 200: json('the status after canceling', 'GenerationStatus') }, errors: [...JOB, E.JOB_FINISHED],
  },
  {
    method: 'get', path: '/v1/generations/:id/images/:n', operationId: 'getGenerationImage', summary: 'One image of a succeeded generation', tag: 'Generations', access: 'job',
    responses: { 200: { description: 'the encoded image', mediaTypes: ['image/png', 'image/webp', 'image/jpeg'] } }, errors: [...JOB, E.RESULT_NOT_READY],
  },
  {
    method: 'get', path: '/v1/generations/:id/video', operationId: 'getGenerationVideo', summary: 'The MP4 of a succeeded video generation (`output` video or morph)', tag: 'Generations', access: 'job',
    description: 'H.264 (yuv420p) with the recording\'s sound as AAC (a morph has none); Range requests (one byte range) are answered from local files and object storage alike.',
    responses: { 200: { description: 'the MP4', mediaTypes: ['video/mp4'] } }, errors: [...JOB, E.RESULT_NOT_READY],
  },
  {
    method: 'get', path: '/v1/generations/:id/events', operationId: 'generationEvents', summary: "Server-Sent Events of one job (a generation's or an ingest job's)", tag: 'Generations', access: 'job',
    description: 'The current state first, then live events; the stream ends after job:succeeded, job:failed or job:canceled, or with server:shutdown. Each event is `event: <name>` + `data: <JSON payload>`; previews carry their image as base64. The payloads are in `x-events`.',
    responses: { 200: { description: 'an event stream', mediaTypes: ['text/event-stream'] } }, errors: JOB,
  },

  // ---- embeddings and classification
  {
    method: 'post', path: '/v1/embeddings', operationId: 'embed', summary: 'Embed inputs: a vector per input and their weighted sum', tag: 'Embeddings', access: 'apiKey',
    body: { schema: 'EmbeddingRequest', multipart: true }, responses: { 200: json('the vectors', 'EmbeddingsAnswer') }, errors: [...KEY, ...INPUTS, ...EMBEDDED],
  },
  {
    method: 'post', path: '/v1/classify', operationId: 'classify', summary: 'Zero-shot classification of inputs against text labels', tag: 'Embeddings', access: 'apiKey',
    body: { schema: 'ClassifyRequest', multipart: true }, responses: { 200: json('the labels, best first', 'ClassifyAnswer') }, errors: [...KEY, ...INPUTS, ...EMBEDDED],
  },

  // ---- collections
  {
    method: 'post', path: '/v1/collections', operationId: 'createCollection', summary: "Create a collection in the pack's embedding space", tag: 'Collections', access: 'apiKey',
    body: { schema: 'CreateCollectionRequest', multipart: false }, responses: { 201: json('created', 'Collection', ['Location']) }, errors: [...COLLECTION, ...JSON_BODY, E.COLLECTION_EXISTS, E.PACK_UNAVAILABLE],
  },
  { method: 'get', path: '/v1/collections', operationId: 'listCollections', summary: 'List collections', tag: 'Collections', access: 'apiKey', responses: { 200: json('the collections', 'CollectionList') }, errors: KEY },
  { method: 'get', path: '/v1/collections/:name', operationId: 'getCollection', summary: 'One collection', tag: 'Collections', access: 'apiKey', responses: { 200: json('the collection', 'Collection') }, errors: COLLECTION },
  { method: 'delete', path: '/v1/collections/:name', operationId: 'dropCollection', summary: 'Drop a collection and its items', tag: 'Collections', access: 'apiKey', responses: { 204: { description: 'dropped' } }, errors: COLLECTION },
  {
    method: 'post', path: '/v1/collections/:name/items', operationId: 'ingestItems', summary: 'Store items (an ingest job: a worker embeds them)', tag: 'Collections', access: 'apiKey',
    body: { schema: 'IngestRequest', multipart: true }, responses: { 202: json('queued', 'IngestCreated', ['Location']) },
    errors: [...COLLECTION, ...INPUTS, E.INVALID_ITEM, E.INVALID_METADATA, E.INVALID_VECTOR],
  },
  { method: 'get', path: '/v1/collections/:name/jobs/:id', operationId: 'getIngestJob', summary: "An ingest job's status", tag: 'Collections', access: 'job', responses: { 200: json('the status', 'IngestStatus') }, errors: [...JOB, E.UNAUTHORIZED] },
  {
    method: 'post', path: '/v1/collections/:name/items/lookup', operationId: 'lookupItems', summary: 'Which of these ids the collection holds (a resumable upload)', tag: 'Collections', access: 'apiKey',
    body: { schema: 'ItemLookupRequest', multipart: false }, responses: { 200: json('the ids present, and the per-request limits', 'ItemLookupAnswer') }, errors: [...COLLECTION, ...JSON_BODY],
  },
  {
    method: 'get', path: '/v1/collections/:name/items/:id', operationId: 'getItem', summary: 'One stored item', tag: 'Collections', access: 'apiKey', params: { id: 'the item id' },
    query: z.object({ vector: z.enum(['true', '1']).optional().describe('adds the stored vector') }), responses: { 200: json('the item', 'Item') }, errors: [...COLLECTION, E.NOT_FOUND],
  },
  {
    method: 'get', path: '/v1/collections/:name/items/:id/media', operationId: 'getItemMedia', summary: "A stored item's thumbnail", tag: 'Collections', access: 'apiKey', params: { id: 'the item id' },
    responses: { 200: { description: 'the thumbnail', mediaTypes: ['image/webp'] } }, errors: [...COLLECTION, E.NOT_FOUND],
  },
  { method: 'delete', path: '/v1/collections/:name/items/:id', operationId: 'deleteItem', summary: 'Delete a stored item', tag: 'Collections', access: 'apiKey', params: { id: 'the item id' }, responses: { 204: { description: 'deleted' } }, errors: [...COLLECTION, E.NOT_FOUND] },
  {
    method: 'post', path: '/v1/collections/:name/search', operationId: 'search', summary: "Nearest items to the inputs' weighted sum", tag: 'Collections', access: 'apiKey',
    body: { schema: 'SearchRequest', multipart: true }, responses: { 200: json('results, best first (Server-Timing: embed, search, total in ms)', 'SearchAnswer', ['Server-Timing']) },
    errors: [...COLLECTION, ...INPUTS, ...EMBEDDED, E.INVALID_K, E.INVALID_FILTER, E.SPACE_MISMATCH],
  },
];

/** Descriptions of the path parameters the routes use. */
export const PATH_PARAMETERS: Readonly<Record<string, string>> = {
  id: jobId,
  n: 'the image index, 0-based',
  name: 'a collection name: [a-z0-9][a-z0-9_-]{0,62}',
};
