import { ERROR_REGISTRY, type ErrorCode } from '@a2i/protocol';

/**
 * One line per error code for the OpenAPI document and /docs (the registry, errors.ts, holds
 * each code's fault and status; this only says what the code means to a client). A code
 * without a line here still appears, described by its status (STATUS_MEANING).
 */
const DESCRIPTIONS: Partial<Record<ErrorCode, string>> = {
  INVALID_JSON: 'The body (or the multipart `request` part) is not JSON',
  INVALID_REQUEST: 'The request does not have the shape its schema asks for',
  UNSUPPORTED_MODALITY: 'A modality the pack (or this route) does not take',
  EMBEDDING_DIMENSION_MISMATCH: "A vector whose length is not the pack's or the collection's",
  LIMIT_EXCEEDED: 'Over a configured limit (inputs, steps, images, labels, items, ...)',
  PRIOR_UNAVAILABLE: 'prior "on" for a pack without a prior',
  MISSING_FILE: 'An input names a file part the body does not have',
  UNEXPECTED_FILE: 'A file part no input names',
  UNAUTHORIZED: 'An API key is needed (A2I_API_KEYS) and none valid was given',
  NOT_FOUND: 'No such route, job, image or item (also a job that is not yours)',
  JOB_FINISHED: 'Cancel of a job that already ended',
  RESULT_NOT_READY: 'An image of a generation that has not succeeded',
  CANCELED: 'The job was canceled by its owner (a job outcome)',
  RESULT_EXPIRED: "The job's results are past A2I_RESULT_TTL_SECONDS",
  UPLOAD_TOO_LARGE: 'A body, file or field over its byte limit',
  UNSUPPORTED_CONTENT_TYPE: 'A body that is neither application/json nor multipart/form-data',
  PRIORITY_NOT_ALLOWED: 'priority "high" without a key of A2I_PRIORITY_KEYS',
  ORIGIN_NOT_ALLOWED: 'A browser request from an origin not in A2I_CORS_ORIGINS',
  UPLOAD_TOO_SLOW: 'A body slower than A2I_BODY_MIN_BYTES_PER_SECOND, cut off',
  RATE_LIMITED: 'Over the per-client rate budget; Retry-After says when',
  TOO_MANY_CONNECTIONS: 'socket.io: this address holds A2I_SOCKETS_PER_ADDRESS connections',
  QUEUE_FULL: 'The generation queue is at A2I_MAX_QUEUE_DEPTH; Retry-After says when',
  UPLOADS_BUSY: 'Upload bytes in flight or on disk are at their cap; try again',
  CONNECTIONS_FULL: 'socket.io: this instance holds A2I_SOCKETS_TOTAL connections',
  PACK_UNAVAILABLE: 'No worker has published its model pack yet',
  NOT_READY: 'Redis is away, or the instance is shutting down; Retry-After says when',
  EMBEDDING_TIMEOUT: 'The embedding job did not finish within A2I_EMBED_TIMEOUT_MS',
  MEDIA_EMPTY: 'An empty upload',
  MEDIA_TOO_LARGE: 'An upload over its decoded size limit',
  MEDIA_UNSUPPORTED_FORMAT: "Bytes of no format the input's modality accepts",
  MEDIA_NEEDS_FFMPEG: 'A video or container upload (MP4, MOV, M4A, WebM, MKV, AVI, AIFF, AAC), or a video output, on a server without ffmpeg',
  VIDEO_NEEDS_AUDIO: 'A video output whose request has not exactly one audio input to follow',
  MORPH_NEEDS_INPUTS: 'A morph output with fewer than two inputs (of non-zero weight) to move between',
  MEDIA_TIMEOUT: 'Decoding took too long',
  MEDIA_ABORTED: 'Decoding was aborted',
  NON_FINITE_VALUE: 'NaN or infinity in numeric input',
  INVALID_OPTION: 'A preprocessing option out of range',
  UNSUPPORTED_OPTION: 'A valid option this implementation does not approximate',
  EMBEDDING_ZERO: 'Every input has weight 0',
  SAMPLING_ABORTED: 'Sampling stopped: the job was canceled',
  PREVIEW_UNAVAILABLE: 'Previews asked of a pack without a preview projection',
  TIMESTEP_NOT_INTEGER: 'The scheduler gives fractional timesteps to a model that takes integers',
  INVALID_NAME: 'A collection name not of [a-z0-9][a-z0-9_-]{0,62}',
  INVALID_ITEM: 'An item the store refuses (a repeated id, a bad field)',
  INVALID_METADATA: 'Metadata names or values the store refuses',
  INVALID_FILTER: 'A metadata filter the store cannot run',
  INVALID_K: 'k outside 1..A2I_COLLECTIONS_MAX_K',
  COLLECTION_EXISTS: 'A collection of that name exists',
  COLLECTION_NOT_FOUND: 'No such collection',
  ITEM_NOT_FOUND: 'An `item` input naming no stored item',
  SPACE_MISMATCH: "A collection made in another embedding space than the pack's",
  STORAGE_FAILURE: 'The storage under the collections failed',
  WORKER_LOST: 'The workers holding the job died too often (a job outcome)',
  JOB_STATE_LOST: "The job's state is gone from Redis (a job outcome)",
  CONNECT_ERROR: 'A client (@a2i/client, the CLI, the page) could not reach the server: never sent by the server itself',
  INTERNAL: 'A fault without a code of its own',
  WEBHOOK_INVALID: 'A webhook URL that does not parse, is not http(s), carries credentials or does not resolve',
  WEBHOOKS_DISABLED: 'A webhook asked of a server without A2I_WEBHOOK_SECRET',
  WEBHOOK_NOT_ALLOWED: 'A webhook host whose address A2I_WEBHOOK_ALLOW does not allow',
  AUDIO_INVALID: 'Audio bytes that do not decode',
  AUDIO_TOO_LONG: 'Audio longer than A2I_MAX_AUDIO_SECONDS',
  IMAGE_INVALID: 'Image bytes that do not decode',
  IMAGE_TOO_LARGE: 'An image over A2I_MAX_PIXELS',
  VIDEO_INVALID: 'Video bytes that do not decode',
  TEXT_INVALID: 'Text the tokenizer cannot take',
  INVALID_VECTOR: 'A vector of the wrong length, or with a value that is not a finite number',
  INVALID_JOB: 'Job data the worker cannot read (a job outcome)',
  CONFIG_INVALID: 'An A2I_* variable the server cannot run with',
};

/** What a status means, for codes without a line of their own. */
const STATUS_MEANING: Record<number, string> = {
  400: 'The request breaks a rule of the protocol',
  404: 'Not found',
  409: 'Conflicts with the state of the resource',
  415: 'A format not accepted',
  422: 'An input that cannot be decoded or preprocessed (the upload at POST, or the job later: job:failed)',
  500: "A server fault (the model pack, an encoder, the sampler): the message is generic, the details are in the server's log",
  503: 'Come back later',
};

export function errorCodeDescription(code: ErrorCode): string {
  const { status, fault } = ERROR_REGISTRY[code];
  return DESCRIPTIONS[code] ?? STATUS_MEANING[status] ?? `${fault === 'input' ? 'An input' : 'A server'} fault (HTTP ${status})`;
}
