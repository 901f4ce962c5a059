export { MODALITIES, FILE_MODALITIES, INPUT_KINDS, modalitySchema, inputKindSchema, isModality, type Modality, type InputKind } from './modalities.js';
export { ERROR_CODES, INPUT_ERROR_CODES, errorCodeSchema, errorBodySchema, errorBody, type ErrorBody, type KnownErrorCode } from './error-codes.js';
export { RequestError } from './errors.js';
export {
  ERROR_REGISTRY,
  ALL_ERROR_CODES,
  CodedError,
  isCodedError,
  isErrorCode,
  isInputFault,
  codeOf,
  faultOf,
  httpStatusOf,
  jobFailureReason,
  parseJobFailureReason,
  serverFaultMessage,
  type ErrorCode,
  type ErrorCodeEntry,
  type Fault,
  type CodedErrorLike,
} from './errors.js';
export { parseOrThrow } from './errors.js';
export { packDescriptionSchema, type PackDescription } from './pack-description.js';
export {
  inputSpecSchema,
  generationRequestSchema,
  embeddingRequestSchema,
  neighborsRequestSchema,
  type NeighborsRequest,
  IMAGE_FORMATS,
  PRIORITIES,
  QUEUE_PRIORITY,
  PRIOR_MODES,
  type InputSpec,
  type GenerationRequest,
  type GenerationRequestInput,
  type EmbeddingRequest,
  type ImageFormat,
  type Priority,
  type PriorMode,
} from './generation-request.js';
export {
  pipelineInputSchema,
  generationOptionsSchema,
  generationJobSchema,
  isGuided,
  neighborsJobSchema,
  type NeighborsJob,
  embeddingJobSchema,
  embeddingResultSchema,
  videoPartJobSchema,
  videoPartResultSchema,
  type VideoPartJob,
  type VideoPartResult,
  type PipelineInput,
  type GenerationOptions,
  type GenerationJob,
  type EmbeddingJob,
  type EmbeddingResult,
} from './generation-job.js';
export type {
  GenerationPipeline,
  PipelineStage,
  EmbedOutput,
  ProgressReport,
  PreviewFrame,
  GenerationHooks,
  ConditionTerm,
  GeneratedImage,
  GenerationOutput,
  PipelineFactory,
  PipelineLimits,
  SoundEmbedding,
} from './pipeline.js';
export { resolveInputs, resolveGenerationRequest, resolveOutput, checkVideoLength, DEFAULT_MAX_NEIGHBORS, type RequestLimits, type UploadedFiles, type ResolveContext, type StoredItemVectors } from './resolve-request.js';
export {
  VIDEO_DEFAULTS,
  DEFAULT_VIDEO_LIMITS,
  outputRequestSchema,
  videoOutputSchema,
  morphOutputSchema,
  jobOutputSchema,
  videoLinkSchema,
  videoFrameCount,
  videoUrl,
  VIDEO_JOB_NAME,
  VIDEO_PART_JOB_NAME,
  type OutputRequest,
  type JobOutput,
  type VideoLimits,
  type VideoLink,
} from './video-output.js';
export {
  jobEventSchemas,
  JOB_EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  PREVIEW_MIME_TYPES,
  imageLinkSchema,
  neighborUsedSchema,
  subscribeRequestSchema,
  handshakeAuthSchema,
  isJobEventType,
  parseJobEvent,
  type ImageLink,
  type NeighborUsed,
  type JobEvent,
  type JobEventType,
  type JobEventPayloads,
  type ServerToClientEvents,
  type ClientToServerEvents,
  type SubscribeRequest,
  type SubscribeAck,
  type HandshakeAuth,
} from './job-events.js';
export {
  JOB_STATUSES,
  TERMINAL_STATUSES,
  generationCreatedSchema,
  generationStatusSchema,
  generationLinks,
  imageUrl,
  type JobStatus,
  type GenerationLinks,
  type GenerationCreated,
  type GenerationStatus,
  generationHistorySchema,
  type GenerationHistory,
} from './generation-status.js';
export { requestEchoSchema, echoedInputSchema, type RequestEcho, type EchoedInput, type InspectedUpload } from './request-echo.js';
export { requestEchoOf, infotextOf, pngTextOf } from './resolve-request.js';
export { OwnerJobIndex, HISTORY_MAX_JOBS_PER_OWNER } from './owner-job-index.js';
export { serverShutdownEventSchema, SERVER_SHUTDOWN_EVENT, type ServerShutdownEvent, type ServerEvents } from './server-events.js';
export { redisLayout, type RedisLayout } from './redis-layout.js';
export { WEBHOOK_EVENTS, WEBHOOK_LOGS_THROTTLE_MS, webhookRequestSchema, type WebhookEvent, type WebhookRequest, type WebhookDelivery } from './webhook-events.js';
export { webhookEventsOf, webhookDeliveryId } from './webhook-notifier.js';
export { WebhookNotifier, type WebhookQueue, type WebhookNotifierOptions } from './webhook-notifier.js';
export { parseAllowEntry, webhookAddressPolicy, isSpecialPurposeAddress, canonicalAddress, type AllowEntry, type WebhookAddressPolicy } from './webhook-allow-list.js';
export { type WebhookConfig } from './webhook-config.js';
export { parseStorageUri, type StorageConfig, type StorageLocation, type ImageDelivery } from './storage-config.js';
export { encodeEventBody, decodeEnvelope, type EnvelopeEvent, type DecodedEnvelope } from './event-envelope.js';
export { parseJobStateHash, toGenerationStatus, snapshotEvents, type JobState } from './job-state.js';
export { DEFAULT_TOMBSTONE_TTL_SECONDS, JobStateStore, type JobTombstone, type NewJobState, type RecordOutcome } from './job-state-store.js';
export { loadServerConfig, defaultBatchRows, pipelineInstances, pipelineLimitsOf, requestLimitsOf, type ServerConfig, type RuntimeConfig } from './server-config.js';
export { ConfigError, defaultIntraOpThreads } from './server-env.js';
export { priorApplies, type PriorRequest } from './resolve-request.js';
export { type SchedulerChoice } from './generation-request.js';
export { SCHEDULER_NAMES, isSchedulerName, type SchedulerName } from './scheduler-names.js';
export { redisAnswers, removeKeysWithPrefix } from './redis-admin.js';
export {
  REDIS_RETRY_AFTER_SECONDS,
  RedisUnavailableError,
  createRedisConnection,
  isRedisUnavailable,
  redisClientOf,
  redisOptionsFor,
  untilRedisReady,
  watchRedisConnection,
  withinRedisTimeout,
  type ConnectionLog,
  type RedisClient,
  type RedisConnectionSettings,
  type RedisUse,
} from './redis-connections.js';
export { parseRedisTarget, redactRedisUrl, RedisUrlError, type RedisTarget, type HostPort } from './redis-target.js';
export { FORMAT_EXTENSIONS, FORMAT_MIME_TYPES, resultPath, resultKey } from './generation-status.js';
export { ingestResultSchema, ingestFailureSchema, type IngestResult, type IngestFailure } from './ingest-result.js';
export {
  COLLECTION_NAME_PATTERN,
  createCollectionRequestSchema,
  ingestItemSpecSchema,
  ingestRequestSchema,
  searchRequestSchema,
  classifyRequestSchema,
  itemLookupRequestSchema,
  MAX_LOOKUP_IDS,
  ingestJobItemSchema,
  ingestJobSchema,
  ingestItemInput,
  ingestLinks,
  itemMediaUrl,
  type CreateCollectionRequest,
  type IngestItemSpec,
  type IngestRequest,
  type SearchRequest,
  type ClassifyRequest,
  type ItemLookupRequest,
  type IngestJobItem,
  type IngestJob,
  type CollectionView,
  type SearchResultView,
} from './collection-requests.js';
export { mulberry32 } from './seeded-random.js';
export {
  LIVE_WINDOW_SEC,
  LIVE_JOB_NAME,
  liveStartSchema,
  liveChunkSchema,
  liveStopSchema,
  liveLimitsSchema,
  liveJobSchema,
  liveResultSchema,
  liveStartAnswerSchema,
  liveStatsSchema,
  liveImageEventSchema,
  liveEndedEventSchema,
  type LiveStart,
  type LiveStartInput,
  type LiveChunk,
  type LiveLimits,
  type LiveStartAck,
  type LiveStopAck,
  type LiveStats,
  type LiveImageEvent,
  type LiveEndedEvent,
  type LiveServerEvents,
  type LiveClientEvents,
  type LiveJob,
  type LiveResult,
} from './live-sound.js';
