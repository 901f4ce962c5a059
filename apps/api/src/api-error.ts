import { ERROR_CODES } from '@a2i/protocol';

/**
 * An answer other than success, with a stable code. `expose` marks the message as safe to
 * send; `retryAfterSeconds` becomes a Retry-After header (503).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly expose = true;
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  [ERROR_CODES.INVALID_JSON]: 400,
  [ERROR_CODES.INVALID_REQUEST]: 400,
  [ERROR_CODES.UNSUPPORTED_MODALITY]: 400,
  [ERROR_CODES.EMBEDDING_DIMENSION_MISMATCH]: 400,
  [ERROR_CODES.LIMIT_EXCEEDED]: 400,
  [ERROR_CODES.PRIOR_UNAVAILABLE]: 400,
  [ERROR_CODES.MISSING_FILE]: 400,
  [ERROR_CODES.UNEXPECTED_FILE]: 400,
  [ERROR_CODES.UNAUTHORIZED]: 401,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.JOB_FINISHED]: 409,
  [ERROR_CODES.RESULT_NOT_READY]: 409,
  [ERROR_CODES.RESULT_EXPIRED]: 410,
  [ERROR_CODES.UPLOAD_TOO_LARGE]: 413,
  [ERROR_CODES.UNSUPPORTED_CONTENT_TYPE]: 415,
  [ERROR_CODES.QUEUE_FULL]: 503,
  [ERROR_CODES.PACK_UNAVAILABLE]: 503,
  [ERROR_CODES.NOT_READY]: 503,
  [ERROR_CODES.EMBEDDING_TIMEOUT]: 504,
  [ERROR_CODES.INTERNAL]: 500,
};

/** HTTP status of an error code; codes from the input decoders (MEDIA_*, ...) are 422. */
export function httpStatusFor(code: string): number {
  return STATUS_BY_CODE[code] ?? 422;
}
