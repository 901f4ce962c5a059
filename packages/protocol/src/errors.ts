import type { z } from 'zod';
/**
 * The one coded-error contract of the whole system (`@a2i/protocol/errors`, free of zod and
 * ioredis so the low-level packages can use it). Every error a package raises on purpose is a
 * CodedError: a stable `code` (UPPER_SNAKE, the key clients and tests match on), a `message`
 * for people, and a `fault` that the registry below fixes per code:
 *
 * - `input`: the outcome is decided by the request and what it meets: a bad upload or option, a
 *   limit, a missing resource, a full queue. The message is written for the client and shown
 *   as is (4xx, or 503 / 504 "come back later"); a job that fails so is never retried.
 * - `server`: something in the server broke: a model that answers in the wrong shape, a pack
 *   that does not load, a bug. The client sees the code and a generic message, the details
 *   go to the log (5xx), and a job is retried while attempts remain.
 *
 * The same code always has the same fault and HTTP status. Codes are unique: one condition,
 * one code (packages/protocol/test/error-codes.test.ts lists them all).
 */
export type Fault = 'input' | 'server';

export interface ErrorCodeEntry {
  readonly fault: Fault;
  /** HTTP status of an answer with this code (input: 4xx / 503 / 504; server: 500 / 503). */
  readonly status: number;
}

const input = (status: number) => ({ fault: 'input', status }) as const;
const server = (status = 500) => ({ fault: 'server', status }) as const;

export const ERROR_REGISTRY = {
  // ---- the request (protocol, api)
  INVALID_JSON: input(400),
  INVALID_REQUEST: input(400),
  UNSUPPORTED_MODALITY: input(400),
  /** A vector whose length is not the pack's or its collection's (a request's embedding, embeddings combined, an item). */
  EMBEDDING_DIMENSION_MISMATCH: input(400),
  LIMIT_EXCEEDED: input(400),
  PRIOR_UNAVAILABLE: input(400),
  MISSING_FILE: input(400),
  UNEXPECTED_FILE: input(400),
  UNAUTHORIZED: input(401),
  NOT_FOUND: input(404),
  JOB_FINISHED: input(409),
  RESULT_NOT_READY: input(409),
  /** The job was canceled by its owner (a job outcome, and the CLI's answer). */
  CANCELED: input(409),
  RESULT_EXPIRED: input(410),
  UPLOAD_TOO_LARGE: input(413),
  UNSUPPORTED_CONTENT_TYPE: input(415),
  /** A priority (`high`) the caller's API key is not allowed (A2I_PRIORITY_KEYS). */
  PRIORITY_NOT_ALLOWED: input(403),
  /** A browser request or socket.io connection from an origin not in A2I_CORS_ORIGINS. */
  ORIGIN_NOT_ALLOWED: input(403),
  /** A request body slower than A2I_BODY_MIN_BYTES_PER_SECOND: cut off. */
  UPLOAD_TOO_SLOW: input(408),
  /** A client (API key, else address) over its A2I_RATE_* budget: Retry-After says when. */
  RATE_LIMITED: input(429),
  /** A request's webhook URL that does not parse, is not http(s), carries credentials or does not resolve. */
  WEBHOOK_INVALID: input(400),
  /** A request named a webhook but the server has no A2I_WEBHOOK_SECRET (webhooks are off). */
  WEBHOOKS_DISABLED: input(400),
  /** A video output (`output.type: "video"`) whose request has not exactly one audio input to follow. */
  VIDEO_NEEDS_AUDIO: input(400),
  /** A morph output (`output.type: "morph"`) with fewer than two inputs to move between. */
  MORPH_NEEDS_INPUTS: input(400),
  /** live:start from a client holding A2I_LIVE_STREAMS_PER_CLIENT live streams already. */
  LIVE_TOO_MANY_STREAMS: input(429),
  /** live:start on an api instance holding A2I_LIVE_STREAMS_TOTAL live streams. */
  LIVE_STREAMS_FULL: input(503),
  /** A live:chunk over A2I_LIVE_CHUNK_BYTES (or not whole 16-bit samples): the stream ends. */
  LIVE_CHUNK_INVALID: input(413),
  /** A webhook URL whose host resolves to an address A2I_WEBHOOK_ALLOW does not allow (loopback, private... by default). */
  WEBHOOK_NOT_ALLOWED: input(422),
  /** An address holding A2I_SOCKETS_PER_ADDRESS socket.io connections already. */
  TOO_MANY_CONNECTIONS: input(429),
  // ---- come back later
  QUEUE_FULL: input(503),
  /** The uploads in flight or on disk are at their cap (A2I_UPLOADS_IN_FLIGHT_BYTES, A2I_UPLOADS_DISK_BYTES). */
  UPLOADS_BUSY: input(503),
  /** The api instance holds A2I_SOCKETS_TOTAL socket.io connections. */
  CONNECTIONS_FULL: input(503),
  PACK_UNAVAILABLE: input(503),
  NOT_READY: input(503),
  EMBEDDING_TIMEOUT: input(504),

  // ---- decoding an upload (@a2i/media)
  MEDIA_EMPTY: input(422),
  MEDIA_TOO_LARGE: input(422),
  /** The bytes are no format the input's modality accepts (a text file sent as audio): 415 at POST. */
  MEDIA_UNSUPPORTED_FORMAT: input(415),
  /** A video or container upload on a server with no ffmpeg (the operator installs one): 415 at POST. */
  MEDIA_NEEDS_FFMPEG: input(415),
  MEDIA_TIMEOUT: input(422),
  MEDIA_ABORTED: input(422),
  AUDIO_INVALID: input(422),
  AUDIO_TRUNCATED: input(422),
  AUDIO_TOO_LONG: input(422),
  AUDIO_NO_SAMPLES: input(422),
  AUDIO_NO_STREAM: input(422),
  AUDIO_TOO_MANY_CHANNELS: input(422),
  AUDIO_UNSUPPORTED_ENCODING: input(422),
  IMAGE_INVALID: input(422),
  IMAGE_TOO_LARGE: input(422),
  VIDEO_INVALID: input(422),
  VIDEO_TOO_LONG: input(422),
  VIDEO_TOO_LARGE: input(422),
  IMU_INVALID: input(422),
  IMU_INVALID_SHAPE: input(422),
  IMU_TOO_LONG: input(422),
  /** NaN or +-Infinity in numeric INPUT (.npy, IMU CSV, WAV, a request's vector). */
  NON_FINITE_VALUE: input(422),
  NPY_INVALID: input(422),
  NPY_TRUNCATED: input(422),
  NPY_TOO_LARGE: input(422),
  NPY_UNSUPPORTED_DTYPE: input(422),
  NPY_UNSUPPORTED_ORDER: input(422),

  // ---- preprocessing and embedding arithmetic (@a2i/imagebind)
  INVALID_OPTION: input(422),
  /** A valid value (e.g. a torchaudio option) this implementation refuses rather than approximates. */
  UNSUPPORTED_OPTION: input(422),
  IMAGE_INVALID_SHAPE: input(422),
  TEXT_INVALID: input(422),
  AUDIO_INVALID_PCM: input(422),
  AUDIO_TOO_SHORT: input(422),
  /** Every input has weight 0: nothing to generate from. */
  EMBEDDING_ZERO: input(422),
  // ---- the encoders and their manifest (@a2i/imagebind): the server's
  INVALID_MANIFEST: server(),
  TOKENIZER_INVALID_FILES: server(),
  ENCODER_LOAD_FAILED: server(),
  ENCODER_NO_FILE: server(),
  /** Preprocessing produced a tensor the encoder does not take. */
  ENCODER_INPUT_MISMATCH: server(),
  /** An encoder answered with the wrong name, type or shape. */
  ENCODER_OUTPUT_MISMATCH: server(),
  /** An encoder answered with NaN or +-Infinity. */
  ENCODER_OUTPUT_NON_FINITE: server(),

  // ---- sampling (@a2i/unclip)
  /** The run was aborted (its job canceled). */
  SAMPLING_ABORTED: input(409),
  /** Previews were asked of a pack without a decoder.preview projection. */
  PREVIEW_UNAVAILABLE: input(422),
  /** The chosen scheduler gives fractional timesteps to a model that takes int64 ones. */
  TIMESTEP_NOT_INTEGER: input(422),
  TENSOR_SIZE_MISMATCH: server(),
  SEEDS_REQUIRED: server(),
  PROMPT_CONDITIONING_REQUIRED: server(),
  SCHEDULER_NOT_READY: server(),
  SCHEDULER_NOISE_REQUIRED: server(),
  SCHEDULER_TIMESTEP_UNKNOWN: server(),
  SCHEDULER_TIMESTEP_MISMATCH: server(),
  MODEL_SIGNATURE_MISMATCH: server(),
  MODEL_OUTPUT_INVALID: server(),

  // ---- the model pack (@a2i/model-pack): the operator's, found at worker start
  PACK_MANIFEST_MISSING: server(),
  PACK_MANIFEST_INVALID: server(),
  PACK_FORMAT_UNKNOWN: server(),
  PACK_FILE_MISSING: server(),
  PACK_FILE_UNLISTED: server(),
  PACK_CHECKSUM_MISMATCH: server(),
  PACK_SESSION_FAILED: server(),
  PACK_TENSOR_MISMATCH: server(),
  PACK_SPACE_MISMATCH: server(),
  PACK_NO_DECODER: server(),

  // ---- collections of embedded items (@a2i/collections)
  INVALID_NAME: input(400),
  INVALID_OWNER: input(400),
  INVALID_SPACE: input(400),
  INVALID_ITEM: input(400),
  INVALID_VECTOR: input(400),
  INVALID_METADATA: input(400),
  INVALID_FILTER: input(400),
  INVALID_K: input(400),
  COLLECTION_EXISTS: input(409),
  COLLECTION_NOT_FOUND: input(404),
  /** A generation (or search, or embedding) input `{ modality: "item", collection, id }` naming no stored item. */
  ITEM_NOT_FOUND: input(404),
  /** A collection made in another embedding space (pack, dim) than the one asked for. */
  SPACE_MISMATCH: input(409),
  /** The storage under the collections (LanceDB, disk) failed. */
  STORAGE_FAILURE: server(),

  // ---- uploads and results in object storage (@a2i/storage, A2I_STORAGE)
  /** The object store (S3 API) did not answer or refused a call: network, 5xx, credentials, a missing bucket. */
  OBJECT_STORE_UNAVAILABLE: server(503),
  /** A job's uploaded file is no longer in storage (removed before the job ran, e.g. by a lifecycle rule shorter than the wait). */
  UPLOAD_MISSING: server(),

  // ---- the server itself
  /** An A2I_* variable the server cannot run with. */
  CONFIG_INVALID: server(),
  /** Job data the worker cannot read (never retried: it would not change). */
  INVALID_JOB: server(),
  /** The job's workers died A2I_MAX_STALLED_COUNT times. */
  WORKER_LOST: server(503),
  /** The job's state is gone from Redis (a restart without persistence): its followers get job:failed with it. */
  JOB_STATE_LOST: server(503),
  /** The CLI could not open the server's socket (no code came with the refusal). */
  CONNECT_ERROR: server(503),
  /** A fault without a code of its own. */
  INTERNAL: server(),
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_REGISTRY;

/** Every code, in registry order. */
export const ALL_ERROR_CODES = Object.keys(ERROR_REGISTRY) as ErrorCode[];

/** `ERROR_CODES.X === 'X'` for every code: names to write instead of string literals. */
export const ERROR_CODES = Object.freeze(Object.fromEntries(ALL_ERROR_CODES.map((code) => [code, code]))) as { readonly [K in ErrorCode]: K };

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_REGISTRY, value);
}

export function faultOf(code: ErrorCode): Fault {
  return ERROR_REGISTRY[code].fault;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_REGISTRY[code].status;
}

/**
 * An error with a registered code; `fault` comes from the registry, never from the thrower.
 * Each package has its own subclass (ImageBindError, MediaError, UnclipError, ...) so
 * `instanceof` still tells where it came from.
 */
export class CodedError extends Error {
  override name = 'CodedError';
  readonly code: ErrorCode;
  readonly fault: Fault;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    if (!isErrorCode(code)) throw new TypeError(`Expected a registered error code but received ${JSON.stringify(code)}`);
    this.code = code;
    this.fault = ERROR_REGISTRY[code].fault;
  }

  get httpStatus(): number {
    return ERROR_REGISTRY[this.code].status;
  }
}

/** The contract as a shape, for errors that cross a boundary (a thread, the CLI's copy of an answer). */
export interface CodedErrorLike {
  code: string;
  fault: Fault;
  message: string;
}

/** True for any error that follows the contract: a registered `code` and the `fault` the registry gives it. */
export function isCodedError(error: unknown): error is Error & { code: ErrorCode; fault: Fault } {
  if (!(error instanceof Error)) return false;
  const { code, fault } = error as { code?: unknown; fault?: unknown };
  return isErrorCode(code) && fault === ERROR_REGISTRY[code].fault;
}

/** True for an error the client caused (its code and message may be shown as they are). */
export function isInputFault(error: unknown): error is Error & { code: ErrorCode; fault: 'input' } {
  return isCodedError(error) && error.fault === 'input';
}

/** The code of any error: its own when it follows the contract, else INTERNAL. */
export function codeOf(error: unknown): ErrorCode {
  return isCodedError(error) ? error.code : 'INTERNAL';
}

/**
 * How a failed job's reason is written into BullMQ (`failedReason`) and read back by the api:
 * `<CODE>: <message>`. Only these two functions know the format.
 */
export function jobFailureReason(code: ErrorCode, message: string): string {
  return `${code}: ${message}`;
}

export function parseJobFailureReason(reason: string): { code: ErrorCode; message: string } | null {
  const colon = reason.indexOf(': ');
  if (colon < 0) return null;
  const code = reason.slice(0, colon);
  return isErrorCode(code) ? { code, message: reason.slice(colon + 2) } : null;
}

/** The generic message a client sees for a server fault: the code, never the details. */
export function serverFaultMessage(what: string, code: ErrorCode): string {
  return `The server failed to ${what} (${code}); the details are in the server log`;
}

/**
 * A request (or job) that breaks a rule of the protocol: bad shape, a limit, a modality the
 * pack lacks. Its codes are input faults: the api answers with the code's status and this
 * message; the worker turns it into `job:failed`.
 */
export class RequestError extends CodedError {
  override readonly name = 'RequestError';
}

// ---------------------------------------------------------------- request validation

/**
 * Validates `value` with `schema` or throws a RequestError naming the first problems, e.g.
 * "inputs.0.weight: Expected a finite number". An unknown modality gets its own code
 * (UNSUPPORTED_MODALITY) because clients act on it differently from a malformed body.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const code = first && first.path.at(-1) === 'modality' ? ERROR_CODES.UNSUPPORTED_MODALITY : ERROR_CODES.INVALID_REQUEST;
  const described = issues.slice(0, 3).map((issue) => {
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  throw new RequestError(code, `Invalid ${what}: ${described.join('; ')}${more}`);
}
