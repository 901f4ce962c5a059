import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import {
  CollectionError,
  checkItemsBeforeEmbedding,
  collectionMediaFolder,
  collectionOwnerOf,
  spaceOfPack,
  type CollectionInfo,
  type CollectionStore,
  type MetadataFilter,
} from '@a2i/collections';
import {
  ERROR_CODES,
  classifyRequestSchema,
  createCollectionRequestSchema,
  ingestLinks,
  ingestRequestSchema,
  isCodedError,
  itemLookupRequestSchema,
  itemMediaUrl,
  parseOrThrow,
  pipelineLimitsOf,
  requestLimitsOf,
  resolveInputs,
  searchRequestSchema,
  RequestError,
  type IngestJob,
  type IngestResult,
  type InputSpec,
  type JobStateStore,
  type JobStatus,
  type PackDescription,
  type PipelineInput,
  type ServerConfig,
  type PipelineLimits,
  type RequestLimits,
} from '@a2i/protocol';
import { refuseUndecodableUploads } from '@a2i/media';
import { CodedError, type ErrorCode } from '@a2i/protocol/errors';
import { checkKey, type ObjectStore } from '@a2i/storage';
import { ApiError } from './api-error.js';
import type { GenerationService, StoredImage } from './generation-service.js';
import { newJobToken, sha256Hex, type Credentials } from './job-access.js';
import type { LabelEmbeddingCache } from './label-embedding-cache.js';
import type { ReceivedUploads } from './request-body.js';
import { zeroShot, type ZeroShotResult } from './zero-shot.js';

import type { CollectionView, SearchResultView } from '@a2i/protocol';
export type { CollectionView, SearchResultView };

export interface IngestStatusView {
  id: string;
  collection: string;
  status: JobStatus;
  createdAt: number;
  updatedAt: number;
  progress?: { step: number; steps: number; etaMs: number | null };
  result?: IngestResult;
  error?: { code: string; message: string };
  links: { self: string; events: string };
}

/** Where a search request's time went, in milliseconds: the query's embedding (a worker's embedding job, or the sum of given vectors) and the store's search. */
export interface SearchTimings {
  embedMs?: number;
  searchMs?: number;
}

export interface CollectionsServiceDeps {
  config: ServerConfig;
  generations: GenerationService;
  collections: () => Promise<CollectionStore>;
  ingestQueue: Queue<IngestJob>;
  jobs: JobStateStore;
  labels: LabelEmbeddingCache;
  /** Items' thumbnails (ServerStorage.media: A2I_COLLECTIONS_MEDIA_DIR or the bucket). */
  media: ObjectStore;
}

/** The media store's key of an item's `media.uri`, or null when it is no key inside the store. */
function mediaKeyOf(uri: string): string | null {
  try {
    return checkKey(uri);
  } catch {
    return null;
  }
}

/**
 * Collections, search and zero-shot classification without HTTP (README "Search"). The api
 * reads collections (list, get, search) and makes or drops them; item writes happen only in
 * workers, through ingest jobs. Queries are embedded by workers through the embeddings
 * queue (GenerationService.embedResolved), exactly as POST /v1/embeddings does.
 */
export class CollectionsService {
  /** The configuration's request and decoding limits, built once. */
  private readonly limits: { request: RequestLimits; pipeline: PipelineLimits };

  constructor(private readonly deps: CollectionsServiceDeps) {
    this.limits = { request: requestLimitsOf(deps.config), pipeline: pipelineLimitsOf(deps.config) };
  }

  private owner(credentials: Credentials): string | null {
    this.deps.generations.requireApiKey(credentials);
    return collectionOwnerOf(this.deps.config, credentials.apiKeyHash);
  }

  private async view(store: CollectionStore, info: CollectionInfo): Promise<CollectionView> {
    const count = await store.count(info.name, info.owner).catch((error: unknown) => {
      // dropped between list and count: report it empty rather than fail the listing
      if (error instanceof CollectionError && error.code === 'COLLECTION_NOT_FOUND') return 0;
      throw error;
    });
    return { name: info.name, description: info.description, pack: info.space.pack, dim: info.space.dim, count, createdAt: info.createdAt };
  }

  async create(body: unknown, credentials: Credentials): Promise<CollectionView> {
    const owner = this.owner(credentials);
    const request = parseOrThrow(createCollectionRequestSchema, body);
    const pack = await this.deps.generations.requirePack();
    const store = await this.deps.collections();
    const info = await store.create({ name: request.name, owner, description: request.description ?? null, space: spaceOfPack(pack) });
    return { name: info.name, description: info.description, pack: info.space.pack, dim: info.space.dim, count: 0, createdAt: info.createdAt };
  }

  async list(credentials: Credentials): Promise<CollectionView[]> {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const infos = await store.list(owner);
    return Promise.all(infos.map((info) => this.view(store, info)));
  }

  async get(name: string, credentials: Credentials): Promise<CollectionView> {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    return this.view(store, await store.get(name, owner));
  }

  async drop(name: string, credentials: Credentials): Promise<void> {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const info = await store.get(name, owner);
    await store.drop(name, owner);
    // The thumbnails of this incarnation, best effort: the collection is gone already, and a
    // worker still ingesting into it removes the folder again when its write finds it gone.
    await this.deps.media.deletePrefix(`${collectionMediaFolder(info)}/`).catch(() => undefined);
  }

  /**
   * Checks the whole batch (shape, size limit, modalities, vector sizes, file parts, metadata,
   * uploads that cannot decode), then queues ONE ingest job; nothing is written before a
   * worker has embedded every item.
   */
  async ingest(name: string, body: unknown, id: string, credentials: Credentials, files?: ReceivedUploads): Promise<{ id: string; token: string; links: { self: string; events: string } }> {
    const { config, jobs, ingestQueue } = this.deps;
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const info = await store.get(name, owner);
    const pack = await this.deps.generations.requirePack();
    this.requireSpace(info, pack);
    const request = parseOrThrow(ingestRequestSchema, body);
    const max = config.collections.maxIngestItems;
    if (request.items.length > max) throw new RequestError(ERROR_CODES.LIMIT_EXCEEDED, `Expected items of at most ${max} but received ${request.items.length}`);
    const specs: InputSpec[] = request.items.map((item) => {
      const spec: InputSpec = { modality: item.modality, weight: 1 };
      if (item.file !== undefined) spec.file = item.file;
      if (item.text !== undefined) spec.text = item.text;
      if (item.vector !== undefined) spec.vector = item.vector;
      return spec;
    });
    const inputs = asItems(() => resolveInputs(specs, pack, { ...this.limits.request, maxInputs: max }, files));
    const ids = request.items.map((item) => item.id ?? randomUUID());
    const seen = new Set<string>();
    ids.forEach((itemId, i) => {
      if (seen.has(itemId)) throw new CollectionError('INVALID_ITEM', `Expected ids that appear once per request for items.${i}.id but received ${JSON.stringify(itemId)} again`);
      seen.add(itemId);
    });
    checkItemsBeforeEmbedding(request.items.map((item, i) => ({ id: ids[i]!, modality: item.modality, ...(item.metadata ? { metadata: item.metadata } : {}) })));
    await asItems(() => refuseUndecodableUploads(inputs, this.limits.pipeline));
    // good: the files go where the workers read them (object storage: streamed up now)
    const stored = files ? await files.publish(inputs) : inputs;

    const data: IngestJob = {
      id,
      createdAt: Date.now(),
      collection: info.name,
      owner: info.owner,
      items: request.items.map((item, index) => {
        const input = stored[index]!;
        return {
          index,
          id: ids[index]!,
          modality: item.modality,
          ...(input.file !== undefined ? { file: input.file } : {}),
          ...(input.text !== undefined ? { text: input.text } : {}),
          ...(input.vector !== undefined ? { vector: input.vector } : {}),
          ...(item.metadata ? { metadata: item.metadata } : {}),
        };
      }),
    };
    if (files?.uploadDir) data.uploadDir = files.uploadDir;
    const token = newJobToken();
    await jobs.create(
      {
        id,
        tokenHash: sha256Hex(token),
        owner: config.apiKeys.length > 0 ? (credentials.apiKeyHash ?? '') : '',
        seed: 0,
        numImages: 0,
        format: '',
        createdAt: data.createdAt,
        kind: 'ingest',
        collection: info.name,
      },
      config.jobStateTtlSeconds,
    );
    await ingestQueue.add('ingest', data, {
      jobId: id,
      attempts: config.worker.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: config.resultTtlSeconds },
      removeOnFail: { age: config.resultTtlSeconds },
    });
    files?.handOver();
    return { id, token, links: ingestLinks(info.name, id) };
  }

  /** An ingest job of this collection, if the caller may see it (token or owning key), else NOT_FOUND. */
  async ingestStatus(name: string, id: string, credentials: Credentials): Promise<IngestStatusView> {
    const state = await this.deps.generations.authorizedState(id, credentials).catch(() => null);
    if (!state || state.kind !== 'ingest' || state.collection !== name) throw new ApiError(ERROR_CODES.NOT_FOUND, 'No such ingest job');
    const view: IngestStatusView = { id, collection: name, status: state.status, createdAt: state.createdAt, updatedAt: state.updatedAt, links: ingestLinks(name, id) };
    if (state.status === 'running' && state.step !== undefined && state.steps !== undefined) view.progress = { step: state.step, steps: state.steps, etaMs: state.etaMs ?? null };
    if (state.status === 'succeeded' && state.ingest) view.result = state.ingest;
    if (state.status === 'failed') view.error = { code: state.errorCode ?? 'INTERNAL', message: state.errorMessage ?? '' };
    return view;
  }

  async getItem(name: string, itemId: string, credentials: Credentials, withVector: boolean) {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const item = await store.getItem(name, itemId, owner);
    if (!item) throw new ApiError(ERROR_CODES.NOT_FOUND, `No item ${JSON.stringify(itemId)} in collection ${name}`);
    return {
      id: item.id,
      modality: item.modality,
      metadata: item.metadata,
      ...(item.media ? { media: itemMediaUrl(name, item.id) } : {}),
      ...(withVector ? { vector: Array.from(item.vector) } : {}),
    };
  }

  async deleteItem(name: string, itemId: string, credentials: Credentials): Promise<void> {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const item = await store.getItem(name, itemId, owner);
    if (!item) throw new ApiError(ERROR_CODES.NOT_FOUND, `No item ${JSON.stringify(itemId)} in collection ${name}`);
    await store.deleteItem(name, itemId, owner);
    const key = item.media ? mediaKeyOf(item.media.uri) : null;
    if (key) await this.deps.media.delete(key);
  }

  /**
   * Which of `ids` the collection holds, and how many items (and files) one ingest request may
   * carry: what a resumable uploader (the CLI's `index add`) asks before sending anything.
   */
  async lookupItems(name: string, body: unknown, credentials: Credentials): Promise<{ present: string[]; limits: { itemsPerRequest: number; filesPerRequest: number } }> {
    const owner = this.owner(credentials);
    const request = parseOrThrow(itemLookupRequestSchema, body);
    const store = await this.deps.collections();
    const found = await store.hasIds(name, request.ids, owner);
    return {
      present: request.ids.filter((id) => found.has(id)),
      limits: { itemsPerRequest: this.deps.config.collections.maxIngestItems, filesPerRequest: this.deps.config.limits.uploadFiles },
    };
  }

  /** Where an item's thumbnail is stored, and its type. */
  async itemMedia(name: string, itemId: string, credentials: Credentials): Promise<StoredImage> {
    const owner = this.owner(credentials);
    const store = await this.deps.collections();
    const item = await store.getItem(name, itemId, owner);
    const key = item?.media ? mediaKeyOf(item.media.uri) : null;
    const exists = key !== null && (await this.deps.media.head(key)) !== null;
    if (!item || !key || !exists) throw new ApiError(ERROR_CODES.NOT_FOUND, `No media for item ${JSON.stringify(itemId)} in collection ${name}`);
    return { store: this.deps.media, key, mime: item.media?.mimeType ?? 'application/octet-stream' };
  }

  /** `timings`, when given, receives the milliseconds spent embedding the query and in the store's search (the route's Server-Timing header). */
  async search(name: string, body: unknown, credentials: Credentials, files?: ReceivedUploads, timings?: SearchTimings): Promise<{ results: SearchResultView[] }> {
    const owner = this.owner(credentials);
    const { config } = this.deps;
    const store = await this.deps.collections();
    // the registry is read once: this check, then the search on the same collection
    const collection = await store.open(name, owner);
    const request = parseOrThrow(searchRequestSchema, body);
    const k = request.k ?? 10;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > config.collections.maxK) {
      throw new CollectionError('INVALID_K', `Expected an integer in 1..${config.collections.maxK} for k but received ${JSON.stringify(k)}`);
    }
    const pack = await this.deps.generations.requirePack();
    // 1. the collection's space must be the one the query will be made in: refused, never silently wrong
    this.requireSpace(collection.info, pack);
    let started = performance.now();
    const query = await this.queryVector(request.inputs, pack, owner, files);
    if (timings) timings.embedMs = performance.now() - started;
    started = performance.now();
    const hits = await collection.search({
      vector: query,
      k,
      space: spaceOfPack(pack),
      ...(request.filter !== undefined ? { filter: request.filter as MetadataFilter } : {}),
      ...(request.modality !== undefined ? { modality: request.modality } : {}),
    });
    if (timings) timings.searchMs = performance.now() - started;
    return {
      results: hits.map((hit) => ({
        id: hit.id,
        score: hit.score,
        modality: hit.modality,
        metadata: hit.metadata,
        ...(hit.media ? { media: itemMediaUrl(name, hit.id) } : {}),
      })),
    };
  }

  async classify(body: unknown, credentials: Credentials, files?: ReceivedUploads): Promise<ZeroShotResult> {
    const owner = this.owner(credentials);
    const { config, labels: cache } = this.deps;
    const request = parseOrThrow(classifyRequestSchema, body);
    const max = config.collections.maxLabels;
    if (request.labels.length === 0) throw new RequestError(ERROR_CODES.INVALID_REQUEST, 'Expected at least one label for labels but received none');
    if (request.labels.length > max) throw new RequestError(ERROR_CODES.LIMIT_EXCEEDED, `Expected labels of at most ${max} but received ${request.labels.length}`);
    request.labels.forEach((label, i) => {
      if (label.length > config.limits.textChars) throw new RequestError(ERROR_CODES.LIMIT_EXCEEDED, `Expected labels.${i} length of at most ${config.limits.textChars} but received ${label.length}`);
    });
    const pack = await this.deps.generations.requirePack();
    if (!pack.modalities.includes('text')) throw new RequestError(ERROR_CODES.UNSUPPORTED_MODALITY, `Expected a pack with a text encoder for labels but pack ${pack.name} has none`);
    const query = await this.queryVector(request.inputs, pack, owner, files);
    // Labels: cached per pack + label; every missing one in ONE embedding job.
    const vectors = await cache.vectorsFor(pack, request.labels, async (texts) => (await this.deps.generations.embedResolved(texts.map((text) => ({ modality: 'text', weight: 1, text })))).vectors);
    return zeroShot(query, request.labels.map((label) => ({ label, vector: vectors.get(label)! })));
  }

  /**
   * The query: the weighted sum of the inputs' embeddings. Made by a worker (the embeddings
   * queue) unless every input is already a vector, in which case the sum is taken here.
   * Stored items (`{ modality: "item", collection, id }`) are vectors read as `owner`.
   */
  private async queryVector(specs: InputSpec[], pack: PackDescription, owner: string | null, files?: ReceivedUploads): Promise<Float32Array> {
    const items = await this.deps.generations.storedItems(specs, pack, owner);
    const inputs: PipelineInput[] = resolveInputs(specs, pack, this.limits.request, files, items);
    if (inputs.every((input) => input.vector !== undefined)) {
      const sum = new Float32Array(pack.dim);
      for (const input of inputs) for (let d = 0; d < pack.dim; d++) sum[d]! += input.weight * input.vector![d]!;
      return sum;
    }
    const embedded = await this.deps.generations.embedResolved(inputs, files);
    return Float32Array.from(embedded.combined);
  }

  private requireSpace(info: CollectionInfo, pack: PackDescription): void {
    if (info.space.pack === pack.name && info.space.dim === pack.dim) return;
    throw new CollectionError(
      'SPACE_MISMATCH',
      `Expected the pack the workers serve (${pack.name}, ${pack.dim}-d) for collection ${info.name} but it was made in ${info.space.pack} (${info.space.dim}-d); its vectors cannot be compared with this pack's`,
    );
  }
}

/** Errors of resolveInputs / the upload check name `inputs.<i>`; an ingest request calls them `items.<i>`. */
function asItems<T>(run: () => T): T {
  const rename = (error: unknown): never => {
    if (isCodedError(error) && error instanceof CodedError && /\binputs\b/.test(error.message)) {
      const renamed = new CodedError(error.code as ErrorCode, error.message.replace(/\binputs\b/g, 'items'));
      throw renamed;
    }
    throw error;
  };
  try {
    const out = run();
    return (out instanceof Promise ? out.catch(rename) : out) as T;
  } catch (error) {
    return rename(error);
  }
}
