import { randomInt } from 'node:crypto';
import type { Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '@a2i/protocol';
import { collectionOwnerOf, type CollectionStore } from '@a2i/collections';
import {
  ERROR_CODES,
  TERMINAL_STATUSES,
  embeddingRequestSchema,
  embeddingResultSchema,
  generationLinks,
  generationRequestSchema,
  parseOrThrow,
  requestEchoOf,
  resolveGenerationRequest,
  resolveInputs,
  FORMAT_MIME_TYPES,
  QUEUE_PRIORITY,
  VIDEO_JOB_NAME,
  checkVideoLength,
  type JobOutput,
  resultKey,
  toGenerationStatus,
  type EmbeddingJob,
  type EmbeddingResult,
  type GenerationCreated,
  type GenerationJob,
  type GenerationStatus,
  type ImageLink,
  type ImageFormat,
  type InputSpec,
  type JobState,
  type JobStateStore,
  type PackDescription,
  type PipelineInput,
  type Priority,
  type RedisLayout,
  type ServerConfig,
  type StoredItemVectors,
  pipelineLimitsOf,
  requestLimitsOf,
  withinRedisTimeout,
  type PipelineLimits,
  type RequestLimits,
} from '@a2i/protocol';
import { inspectUpload, refuseUndecodableUploads } from '@a2i/media';
import { readObject, type ServerStorage } from '@a2i/storage';
import { CodedError, faultOf, parseJobFailureReason } from '@a2i/protocol/errors';
import { ApiError } from './api-error.js';
import { JobWaitTimeout, waitForJob } from './job-wait.js';
import { canAccess, newJobToken, sha256Hex, type Credentials } from './job-access.js';
import type { PackSource } from './pack-source.js';
import type { QueuePositions } from './queue-position.js';
import { removeJobUploads, type ReceivedUploads } from './request-body.js';
import { checkNeighbors, lookUpItemInputs } from './stored-inputs.js';
import { WebhookTargets } from './webhook-target.js';

export const IMAGE_MIME: Record<ImageFormat, string> = FORMAT_MIME_TYPES;

/** A stored image of a succeeded job: where it is and its media type (image-delivery.ts hands it over). */
export interface StoredImage {
  store: ServerStorage['results'];
  key: string;
  mime: string;
}

export interface GenerationServiceDeps {
  config: ServerConfig;
  layout: RedisLayout;
  redis: RedisClient;
  store: JobStateStore;
  generations: Queue<GenerationJob>;
  embeddings: Queue<EmbeddingJob, EmbeddingResult>;
  embeddingEvents: QueueEvents;
  positions: QueuePositions;
  pack: PackSource;
  /** Where uploads and results live (A2I_STORAGE). */
  storage: ServerStorage;
  /** The collection store, for `item` inputs and `neighbors` (stored-inputs.ts). */
  collections?: () => Promise<CollectionStore>;
}

/**
 * What the HTTP routes and socket handlers do, without HTTP: accept, look up, cancel jobs,
 * find their images, run embeddings. Ownership is checked here, once: a job the caller may
 * not see is NOT_FOUND, exactly like a job that does not exist.
 */
export class GenerationService {
  /** The limits requests are resolved and uploads inspected against: the configuration's, built once. */
  private readonly limits: { request: RequestLimits; pipeline: PipelineLimits };
  /** Checks a request's `webhook` (A2I_WEBHOOK_SECRET, A2I_WEBHOOK_ALLOW). */
  private readonly webhookTargets: WebhookTargets;

  constructor(private readonly deps: GenerationServiceDeps) {
    this.limits = { request: requestLimitsOf(deps.config), pipeline: pipelineLimitsOf(deps.config) };
    this.webhookTargets = new WebhookTargets(deps.config.webhooks);
  }

  /** 401 when API keys are configured and the caller has none of them. */
  requireApiKey(credentials: Credentials): void {
    const keys = this.deps.config.apiKeys;
    if (keys.length === 0) return;
    if (credentials.apiKeyHash === undefined || !keys.some((key) => sha256Hex(key) === credentials.apiKeyHash)) {
      throw new ApiError(ERROR_CODES.UNAUTHORIZED, 'Expected a valid API key (Authorization: Bearer <key> or X-API-Key)');
    }
  }

  /** 403 PRIORITY_NOT_ALLOWED when `high` is asked without a key of A2I_PRIORITY_KEYS (refused, not quietly downgraded). */
  requirePriority(priority: Priority, credentials: Credentials): void {
    if (priority !== 'high') return;
    const allowed = this.deps.config.clients.priorityKeys;
    if (credentials.apiKeyHash !== undefined && allowed.some((key) => sha256Hex(key) === credentials.apiKeyHash)) return;
    throw new ApiError(ERROR_CODES.PRIORITY_NOT_ALLOWED, 'Expected an API key of A2I_PRIORITY_KEYS for priority "high" (ask for "normal" or "low")');
  }

  /** 503 QUEUE_FULL (with Retry-After) before anything is uploaded (a cheap early look; `submit` admits atomically). */
  async requireQueueRoom(): Promise<void> {
    const depth = await this.deps.positions.depth();
    if (depth >= this.deps.config.limits.queueDepth) throw this.queueFull(depth);
  }

  private queueFull(depth: number): ApiError {
    return new ApiError(
      ERROR_CODES.QUEUE_FULL,
      `The queue is full (${depth} jobs waiting, limit ${this.deps.config.limits.queueDepth}); try again later`,
      this.deps.config.queueRetryAfterSeconds,
    );
  }

  async requirePack(): Promise<PackDescription> {
    const description = await this.deps.pack.description();
    if (!description) {
      throw new ApiError(ERROR_CODES.PACK_UNAVAILABLE, 'No worker has published its model pack yet; try again shortly', 5);
    }
    return description;
  }

  /**
   * Validates, refuses uploads that cannot decode, stores the state, enqueues. `files` are
   * uploads already on disk: the job takes them over once it is in the queue (request-body.ts).
   */
  async submit(body: unknown, id: string, credentials: Credentials, files?: ReceivedUploads): Promise<GenerationCreated> {
    const { config, store, generations } = this.deps;
    const pack = await this.requirePack();
    const request = parseOrThrow(generationRequestSchema, body);
    this.requirePriority(request.priority, credentials);
    // webhooks on, and the URL allowed where its host resolves now (webhook-target.ts)
    if (request.webhook !== undefined) await this.webhookTargets.require(request.webhook);
    // generation from search: stored items become vectors now; neighbours are searched by the worker
    const owner = collectionOwnerOf(config, credentials.apiKeyHash);
    const items = await this.storedItems(request.inputs, pack, owner);
    if (request.neighbors !== undefined) await checkNeighbors(request.neighbors, this.collectionStore(), owner, pack);
    const job = resolveGenerationRequest(request, pack, this.limits.request, {
      id,
      createdAt: Date.now(),
      items,
      collectionOwner: owner,
      ...(files ? { files } : {}),
      randomSeed: () => randomInt(0, 0xffff_ffff),
    });
    // a video's sound may be as long as A2I_VIDEO_MAX_SECONDS (its frames are checked once its length is known)
    const uploads = await refuseUndecodableUploads(job.inputs, job.output?.type === 'video' ? { ...this.limits.pipeline, maxAudioSeconds: config.video.maxSeconds } : this.limits.pipeline);
    if (job.output?.type === 'video') await this.requireVideoLength(job, job.output);
    // good: the files go where the workers read them (object storage: streamed up now)
    if (files) job.inputs = await files.publish(job.inputs);
    const token = newJobToken();
    // the depth limit holds under concurrent requests: a place is reserved atomically first
    const admission = await this.deps.positions.reserve(config.limits.queueDepth);
    if (!admission.ok) throw this.queueFull(admission.depth);
    try {
      await store.create(
        {
          id,
          tokenHash: sha256Hex(token),
          owner: config.apiKeys.length > 0 ? (credentials.apiKeyHash ?? '') : '',
          seed: job.options.seed,
          numImages: job.options.numImages,
          format: job.options.format,
          createdAt: job.createdAt,
          request: requestEchoOf(request, job, pack.name, pack.scheduler, uploads),
          ...(request.webhook !== undefined ? { webhook: request.webhook } : {}),
        },
        config.jobStateTtlSeconds,
      );
      // BullMQ's add, bounded like every request-path Redis call (503 NOT_READY past it).
      const added = generations.add(job.output ? VIDEO_JOB_NAME : 'generate', job, {
        jobId: id,
        priority: QUEUE_PRIORITY[job.options.priority],
        attempts: config.worker.attempts,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: config.resultTtlSeconds },
        removeOnFail: { age: config.resultTtlSeconds },
      });
      await withinRedisTimeout(added, config.redis.commandTimeoutMs, 'queueing the job').catch((error: unknown) => {
        // The client is answered 503 and its upload goes: should the add still land once Redis
        // answers again, that job is taken back out rather than run without its files.
        void added.then((late) => late.remove(), () => undefined).catch(() => undefined);
        throw error;
      });
      files?.handOver();
    } finally {
      await this.deps.positions.release();
    }
    // Tells every api instance the queue changed, so followed jobs get fresh positions (each
    // instance reads them itself, see JobEventHub.refreshPositions). No job:queued is published:
    // nobody can follow the job before this answer, and a subscription's snapshot has its position.
    await this.deps.redis.spublish(this.deps.layout.queueMovedChannel, id);
    return { id, token, links: generationLinks(id) };
  }

  /**
   * Refuses a video whose sound's header states a length over A2I_VIDEO_MAX_SECONDS or too many
   * frames (checkVideoLength); a header that states none leaves it to the worker, which decodes.
   */
  private async requireVideoLength(job: GenerationJob, output: Extract<JobOutput, { type: 'video' }>): Promise<void> {
    const file = job.inputs[output.sound]?.file;
    if (file === undefined) return;
    const inspection = await inspectUpload(file, 'audio', { ...this.limits.pipeline, maxAudioSeconds: this.deps.config.video.maxSeconds });
    if (inspection.durationSeconds !== undefined) checkVideoLength(inspection.durationSeconds, output, this.deps.config.video);
  }

  /** The job's state if the caller may see it, else NOT_FOUND. */
  async authorizedState(id: string, credentials: Credentials): Promise<JobState> {
    const state = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.deps.store.get(id) : null;
    if (!state || !canAccess(state, credentials)) throw new ApiError(ERROR_CODES.NOT_FOUND, 'No such generation');
    return state;
  }

  /**
   * Like authorizedState, but a finished job whose state has expired is 410 RESULT_EXPIRED for
   * its owner (its tombstone outlives the state: A2I_TOMBSTONE_TTL_SECONDS); NOT_FOUND for others.
   */
  async unexpiredState(id: string, credentials: Credentials): Promise<JobState> {
    try {
      return await this.authorizedState(id, credentials);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== ERROR_CODES.NOT_FOUND) throw error;
      const gone = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.deps.store.tombstone(id) : null;
      if (gone && canAccess(gone, credentials)) throw new ApiError(ERROR_CODES.RESULT_EXPIRED, `The generation (${gone.status}) and its results have expired`);
      throw error;
    }
  }

  /** `includeImages` (`?include=images`): a succeeded job's images carry `b64_json` within A2I_INLINE_IMAGE_BYTES. */
  async status(id: string, credentials: Credentials, options: { includeImages?: boolean } = {}): Promise<GenerationStatus> {
    const state = await this.unexpiredState(id, credentials);
    const status = await this.statusOf(state);
    if (options.includeImages && status.images) {
      const bytes = await this.inlineImages(id, status.images, state.attempt, { video: state.video !== undefined, resultsFolder: state.resultsFolder });
      if (bytes) status.images = status.images.map((image, i) => ({ ...image, b64_json: bytes[i]!.toString('base64') }));
      status.imagesInlined = bytes !== null;
    }
    return status;
  }

  /** The public view of a state the caller may see (its queue position read while queued). */
  async statusOf(state: JobState): Promise<GenerationStatus> {
    const position = state.status === 'queued' ? await this.deps.positions.position(state.id) : null;
    return toGenerationStatus(state, position);
  }

  /**
   * A queued job is removed from the queue and never starts; a running one is marked
   * canceled at once and its worker told on the cancel channel (it aborts the pipeline's
   * signal within a step). Canceling a canceled job is a no-op; a finished one is 409.
   */
  async cancel(id: string, credentials: Credentials): Promise<GenerationStatus> {
    const state = await this.authorizedState(id, credentials);
    if (state.status === 'canceled') return toGenerationStatus(state, null);
    if (TERMINAL_STATUSES.has(state.status)) throw new ApiError(ERROR_CODES.JOB_FINISHED, `The generation already ${state.status}`);
    const { store, generations, redis, layout, config } = this.deps;
    const recorded = await store.canceled(id, config.resultTtlSeconds);
    // Remove it if it still waits (returns 0 when a worker holds the lock); else reach its worker.
    const removed = await generations.remove(id).catch(() => 0);
    if (removed === 0) await redis.publish(layout.cancelChannel, id);
    // Taken out of the queue before any worker held it: its uploads come back to the api (request-body.ts).
    if (removed === 1) await removeJobUploads(this.deps.storage.uploads, id);
    if (!recorded.applied) {
      const now = await this.authorizedState(id, credentials);
      if (now.status !== 'canceled') throw new ApiError(ERROR_CODES.JOB_FINISHED, `The generation already ${now.status}`);
    }
    return this.status(id, credentials);
  }

  /** Where image `index` of a succeeded job is stored, and its type (whether it is still there: image-delivery.ts). */
  async image(id: string, index: number, credentials: Credentials): Promise<StoredImage> {
    const state = await this.unexpiredState(id, credentials);
    if (state.status !== 'succeeded') throw new ApiError(ERROR_CODES.RESULT_NOT_READY, `The generation is ${state.status}, not succeeded`);
    if (!Number.isInteger(index) || index < 0 || index >= (state.images?.length ?? 0)) throw new ApiError(ERROR_CODES.NOT_FOUND, 'No such image');
    const format = state.format as ImageFormat;
    // a video job's frames (asked for with output.frames) are PNGs in the folder its success names
    if (state.resultsFolder !== undefined) return { store: this.deps.storage.results, key: `${state.resultsFolder}/frames/${index}.png`, mime: IMAGE_MIME.png };
    return { store: this.deps.storage.results, key: this.resultKeyOf(id, index, format, state.attempt), mime: IMAGE_MIME[format] };
  }

  /** Where the MP4 of a succeeded video job is stored (GET /v1/generations/:id/video). */
  async video(id: string, credentials: Credentials): Promise<StoredImage> {
    const state = await this.unexpiredState(id, credentials);
    if (state.status !== 'succeeded') throw new ApiError(ERROR_CODES.RESULT_NOT_READY, `The generation is ${state.status}, not succeeded`);
    if (state.video === undefined || state.resultsFolder === undefined) throw new ApiError(ERROR_CODES.NOT_FOUND, 'This generation made images, not a video');
    return { store: this.deps.storage.results, key: `${state.resultsFolder}/video.mp4`, mime: 'video/mp4' };
  }

  /** The results store's key of an image; in object storage under the attempt that succeeded (the state's `attempt`). */
  private resultKeyOf(id: string, index: number, format: ImageFormat, attempt: number): string {
    return resultKey(id, index, format, this.deps.storage.resultsPerAttempt ? attempt : undefined);
  }

  /**
   * The encoded bytes of a succeeded job's images, for a job:succeeded sent with them inline:
   * null when they are over A2I_INLINE_IMAGE_BYTES in all or a file is gone (the client then
   * uses the links). The caller has already checked the subscriber may see the job.
   * `attempt`: the one that succeeded, when the caller has the state (object storage needs it; else it is read).
   * `options.video`: a video job's frames, in the folder its state names (`resultsFolder`; read when not given).
   */
  async inlineImages(id: string, images: ImageLink[], attempt?: number, options: { video?: boolean; resultsFolder?: string | undefined } = {}): Promise<Buffer[] | null> {
    if (images.length === 0) return [];
    const total = images.reduce((sum, image) => sum + image.bytes, 0);
    if (total > this.deps.config.limits.inlineImageBytes) return null;
    const { storage, store } = this.deps;
    // a video job's frames live in the folder its success names (read from the state)
    const folder = options.video ? (options.resultsFolder ?? (await store.get(id))?.resultsFolder) : undefined;
    if (options.video && folder === undefined) return null;
    const succeededAttempt = storage.resultsPerAttempt && folder === undefined ? (attempt ?? (await store.get(id))?.attempt) : undefined;
    if (storage.resultsPerAttempt && folder === undefined && succeededAttempt === undefined) return null;
    const keyOf = (image: ImageLink) => (folder !== undefined ? `${folder}/frames/${image.index}.png` : resultKey(id, image.index, image.format, succeededAttempt));
    const bytes = await Promise.all(images.map((image) => readObject(storage.results, keyOf(image)))).catch(() => null);
    return bytes && bytes.every((item) => item !== null) ? (bytes as Buffer[]) : null;
  }

  /**
   * Embeddings need the pipeline, which only workers hold: the request becomes a job on the
   * `embeddings` queue (no retries, removed soon after) and this call waits for its result
   * up to A2I_EMBED_TIMEOUT_MS through BullMQ's QueueEvents.
   */
  async embed(body: unknown, files?: ReceivedUploads, credentials: Credentials = {}): Promise<{ dim: number; vectors: number[][]; combined: number[] }> {
    const pack = await this.requirePack();
    if ((await this.deps.pack.workersAlive()) === 0) throw new ApiError(ERROR_CODES.NOT_READY, 'No worker is running', 5);
    const request = parseOrThrow(embeddingRequestSchema, body);
    const items = await this.storedItems(request.inputs, pack, collectionOwnerOf(this.deps.config, credentials.apiKeyHash));
    const inputs = resolveInputs(request.inputs, pack, this.limits.request, files, items);
    return this.embedResolved(inputs, files);
  }

  /**
   * The embedding job of inputs already resolved against the pack (search and classify use
   * it with their own limits): refuses undecodable uploads, queues, waits.
   */
  async embedResolved(inputs: PipelineInput[], files?: ReceivedUploads): Promise<{ dim: number; vectors: number[][]; combined: number[] }> {
    const { config, embeddings, embeddingEvents } = this.deps;
    const pack = await this.requirePack();
    if ((await this.deps.pack.workersAlive()) === 0) throw new ApiError(ERROR_CODES.NOT_READY, 'No worker is running', 5);
    await refuseUndecodableUploads(inputs, this.limits.pipeline);
    const data: EmbeddingJob = { inputs: files ? await files.publish(inputs) : inputs };
    if (files?.uploadDir) data.uploadDir = files.uploadDir;
    // The job id is the upload folder's name: the sweeper finds the folder's owner by it.
    const job = await withinRedisTimeout(embeddings.add('embed', data, { ...(files ? { jobId: files.jobId } : {}), attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 60 } }), config.redis.commandTimeoutMs, 'queueing the embedding');
    files?.handOver();
    let result: unknown;
    try {
      result = await waitForJob(job, embeddingEvents, config.embedTimeoutMs);
    } catch (error) {
      if (error instanceof JobWaitTimeout) {
        // Removed while it waited: its uploads come back to this request. Held by a worker: they stay the job's.
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        if (removed) files?.reclaim();
        throw new ApiError(ERROR_CODES.EMBEDDING_TIMEOUT, `No worker finished the embedding within ${config.embedTimeoutMs} ms`);
      }
      // The worker wrote the reason (jobFailureReason): an input fault's own message, or a
      // server fault's code (its details are in the worker's log).
      const reason = (error as Error).message;
      const failure = parseJobFailureReason(reason);
      if (failure && faultOf(failure.code) === 'input') throw new ApiError(failure.code, failure.message);
      throw new CodedError(failure?.code ?? ERROR_CODES.INTERNAL, `The embedding job failed: ${reason}`);
    }
    const parsed = embeddingResultSchema.parse(result);
    return { dim: pack.dim, vectors: parsed.vectors, combined: parsed.combined };
  }

  /** The stored vectors of a request's `item` inputs, read as `owner` (resolveInputs takes them). */
  storedItems(inputs: readonly InputSpec[], pack: PackDescription, owner: string | null): Promise<StoredItemVectors> {
    return lookUpItemInputs(inputs, this.collectionStore(), owner, pack);
  }

  private collectionStore(): () => Promise<CollectionStore> {
    const { collections } = this.deps;
    if (!collections) return () => Promise.reject(new CodedError(ERROR_CODES.INTERNAL, 'This api was started without a collection store'));
    return collections;
  }

}
