import type {
  CollectionView,
  GenerationCreated,
  GenerationHistory,
  GenerationRequestInput,
  GenerationStatus,
  IngestItemSpec,
  LiveStartInput,
  PackDescription,
  SearchResultView,
} from '@a2i/protocol';
import { followJob, type FollowOptions, type TerminalEvent } from './follow.js';
import { startLive, type LiveOptions, type LiveSession } from './live.js';
import { Transport, type ClientFiles, type TransportOptions } from './transport.js';

/** POST /v1/embeddings: each input's vector and their weighted sum. */
export interface EmbeddingAnswer {
  dim: number;
  vectors: number[][];
  combined: number[];
}

/** POST /v1/classify: one entry per label; probabilities are a softmax over the logits. */
export interface ClassifyAnswer {
  labels: Array<{ label: string; score: number; logit: number; probability: number }>;
  logitScale: number;
  logitScaleSource: string;
}

/** POST /v1/collections/:name/items/lookup */
export interface LookupAnswer {
  present: string[];
  limits: { itemsPerRequest: number; filesPerRequest: number };
}

/** GET /v1/collections/:name/items/:id */
export interface StoredItem {
  id: string;
  modality: string;
  metadata: Record<string, string | number | boolean>;
  media?: string;
  vector?: number[];
}

/** 202 answer of POST /v1/collections/:name/items: an ingest job, followed like a generation. */
export interface IngestCreated {
  id: string;
  token: string;
  links: { self: string; events: string };
}

/** A job to follow, cancel or read: its id and the token its creation answered. */
export interface JobRef {
  id: string;
  token?: string;
}

/** The request of a search (the api's shape; `inputs` as in a generation). */
export interface SearchQuery {
  inputs: Inputs;
  k?: number;
  filter?: Record<string, unknown>;
  modality?: string | string[];
}

/** A request's inputs as a client writes them (weights optional, default 1). */
export type Inputs = GenerationRequestInput['inputs'];

const enc = encodeURIComponent;

/**
 * The api's typed client (README "@a2i/client"), the same in Node and in browsers: fetch,
 * FormData and Blob, socket.io for events. Every refusal is an A2iError with the server's
 * code; an unreachable server is CONNECT_ERROR naming the URL.
 */
export class A2iClient {
  private readonly http: Transport;

  constructor(options: TransportOptions = {}) {
    this.http = new Transport(options);
  }

  get server(): string {
    return this.http.server;
  }

  /** GET /v1/pack: the model pack's modalities, defaults and limits. */
  pack(): Promise<PackDescription> {
    return this.http.json('GET', '/v1/pack');
  }

  /** POST /v1/generations; inputs with `file: '<part>'` take their bytes from `files[part]`. */
  generate(request: GenerationRequestInput, files?: ClientFiles): Promise<GenerationCreated> {
    return this.http.json('POST', '/v1/generations', { body: { request, files } });
  }

  /** Follows a job (a generation or an ingest) to its end over socket.io: see followJob. */
  follow(job: JobRef, options: FollowOptions = {}): Promise<TerminalEvent> {
    const auth = { jobId: job.id, ...(job.token ? { token: job.token } : {}), ...(this.http.apiKey ? { apiKey: this.http.apiKey } : {}), ...(options.inlineImages ? { inlineImages: true } : {}) };
    return followJob(this.http.server, auth, options);
  }

  /** GET /v1/generations/:id (`includeImages`: each image's bytes as base64 too). */
  status(id: string, token?: string, options: { includeImages?: boolean } = {}): Promise<GenerationStatus> {
    return this.http.json('GET', `/v1/generations/${enc(id)}${options.includeImages ? '?include=images' : ''}`, token === undefined ? {} : { token });
  }

  /**
   * GET /v1/generations: the caller's generations, newest first. With API keys the server lists
   * the key's jobs; without, those of the `held` jobs (id + token) that still exist.
   */
  history(query: { limit?: number; cursor?: string; status?: string } = {}, held: JobRef[] = []): Promise<GenerationHistory> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString() ? `?${params}` : '';
    const tokens = held.filter((job) => job.token).map((job) => `${job.id}.${job.token}`);
    return this.http.json('GET', `/v1/generations${search}`, tokens.length > 0 ? { headers: { 'x-job-tokens': tokens.join(',') } } : {});
  }

  /** POST /v1/generations/:id/cancel: the status after the cancellation. */
  cancel(id: string, token?: string): Promise<GenerationStatus> {
    return this.http.json('POST', `/v1/generations/${enc(id)}/cancel`, token === undefined ? {} : { token });
  }

  /** GET /v1/generations/:id/images/:n: the encoded image's bytes. */
  async image(id: string, token: string | undefined, n: number): Promise<Uint8Array> {
    return (await this.http.bytes(`/v1/generations/${enc(id)}/images/${n}`, token)).bytes;
  }

  /** GET /v1/generations/:id/video: the MP4 of a video generation (`output` video or morph). */
  async video(id: string, token?: string): Promise<Uint8Array> {
    return (await this.http.bytes(`/v1/generations/${enc(id)}/video`, token)).bytes;
  }

  /** Live sound over socket.io (README "Live sound"): a stream to send PCM chunks to; its pictures come to `options.onImage`. */
  live(request: LiveStartInput, options: Omit<LiveOptions, 'apiKey'> = {}): Promise<LiveSession> {
    return startLive(this.http.server, request, { ...options, ...(this.http.apiKey ? { apiKey: this.http.apiKey } : {}) });
  }

  /** POST /v1/embeddings */
  embed(request: { inputs: Inputs }, files?: ClientFiles): Promise<EmbeddingAnswer> {
    return this.http.json('POST', '/v1/embeddings', { body: { request, files } });
  }

  // ---- collections, search, classify (README "Search")

  createCollection(name: string, description?: string): Promise<CollectionView> {
    return this.http.json('POST', '/v1/collections', { body: { request: description === undefined ? { name } : { name, description } } });
  }

  async listCollections(): Promise<CollectionView[]> {
    return (await this.http.json<{ collections: CollectionView[] }>('GET', '/v1/collections')).collections;
  }

  getCollection(name: string): Promise<CollectionView> {
    return this.http.json('GET', `/v1/collections/${enc(name)}`);
  }

  deleteCollection(name: string): Promise<void> {
    return this.http.json('DELETE', `/v1/collections/${enc(name)}`);
  }

  /** POST /v1/collections/:name/items: an ingest job; follow() it (job:succeeded carries `ingest`). */
  addItems(name: string, request: { items: IngestItemSpec[] }, files?: ClientFiles): Promise<IngestCreated> {
    return this.http.json('POST', `/v1/collections/${enc(name)}/items`, { body: { request, files } });
  }

  /** Which of `ids` the collection holds (at most 1000 per call), and the per-request limits of an ingest. */
  lookupItems(name: string, ids: string[]): Promise<LookupAnswer> {
    return this.http.json('POST', `/v1/collections/${enc(name)}/items/lookup`, { body: { request: { ids } } });
  }

  getItem(name: string, id: string, options: { vector?: boolean } = {}): Promise<StoredItem> {
    return this.http.json('GET', `/v1/collections/${enc(name)}/items/${enc(id)}${options.vector ? '?vector=true' : ''}`);
  }

  deleteItem(name: string, id: string): Promise<void> {
    return this.http.json('DELETE', `/v1/collections/${enc(name)}/items/${enc(id)}`);
  }

  /** POST /v1/collections/:name/search: the nearest items, best first. */
  search(name: string, request: SearchQuery, files?: ClientFiles): Promise<{ results: SearchResultView[] }> {
    return this.http.json('POST', `/v1/collections/${enc(name)}/search`, { body: { request, files } });
  }

  /** POST /v1/classify: zero-shot labels for the inputs' weighted sum. */
  classify(request: { inputs: Inputs; labels: string[] }, files?: ClientFiles): Promise<ClassifyAnswer> {
    return this.http.json('POST', '/v1/classify', { body: { request, files } });
  }
}
