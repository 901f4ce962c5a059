export { MODALITIES, FILE_MODALITIES, modalitySchema, isModality, type Modality } from './modalities.js';
export { ERROR_CODES, INPUT_ERROR_CODES, errorCodeSchema, errorBodySchema, errorBody, type ErrorBody, type KnownErrorCode } from './error-codes.js';
export { RequestError } from './request-error.js';
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
export { parseOrThrow } from './parse-or-throw.js';
export { packDescriptionSchema, type PackDescription } from './pack-description.js';
export {
  inputSpecSchema,
  generationRequestSchema,
  embeddingRequestSchema,
  IMAGE_FORMATS,
  PRIORITIES,
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
  embeddingJobSchema,
  embeddingResultSchema,
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
  GeneratedImage,
  GenerationOutput,
  PipelineFactory,
  PipelineLimits,
} from './pipeline.js';
export { resolveInputs, resolveGenerationRequest, type RequestLimits, type UploadedFiles, type ResolveContext } from './resolve-request.js';
export {
  jobEventSchemas,
  JOB_EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  PREVIEW_MIME_TYPES,
  imageLinkSchema,
  subscribeRequestSchema,
  handshakeAuthSchema,
  isJobEventType,
  parseJobEvent,
  type ImageLink,
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
} from './generation-status.js';
export { redisLayout, type RedisLayout } from './redis-layout.js';
export { encodeEventBody, decodeEnvelope, type EnvelopeEvent, type DecodedEnvelope } from './event-envelope.js';
export { parseJobStateHash, toGenerationStatus, snapshotEvents, type JobState } from './job-state.js';
export { JobStateStore, type NewJobState, type RecordOutcome } from './job-state-store.js';
export { loadServerConfig, ConfigError, defaultIntraOpThreads, pipelineLimitsOf, requestLimitsOf, type ServerConfig, type RuntimeConfig } from './server-config.js';
export { priorApplies, type PriorRequest } from './prior-choice.js';
export { type SchedulerChoice } from './generation-request.js';
export { SCHEDULER_NAMES, isSchedulerName, type SchedulerName } from './scheduler-names.js';
export { redisAnswers, removeKeysWithPrefix } from './redis-admin.js';
export { FORMAT_EXTENSIONS, resultPath } from './result-files.js';
