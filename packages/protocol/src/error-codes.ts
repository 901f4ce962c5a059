import { z } from 'zod';

/**
 * Stable error codes (UPPER_SNAKE). Clients and tests match on `code`; `message` is for people.
 * Codes raised while decoding inputs (MEDIA_*, AUDIO_*, IMAGE_*, ...) come from the decoders
 * (@a2i/media) and pass through unchanged: `errorCodeSchema` accepts any UPPER_SNAKE string.
 */
export const ERROR_CODES = {
  // 400: the request itself
  INVALID_JSON: 'INVALID_JSON',
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNSUPPORTED_MODALITY: 'UNSUPPORTED_MODALITY',
  EMBEDDING_DIMENSION_MISMATCH: 'EMBEDDING_DIMENSION_MISMATCH',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  PRIOR_UNAVAILABLE: 'PRIOR_UNAVAILABLE',
  MISSING_FILE: 'MISSING_FILE',
  UNEXPECTED_FILE: 'UNEXPECTED_FILE',
  // 401 / 404 / 409 / 410 / 413 / 415
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  JOB_FINISHED: 'JOB_FINISHED',
  RESULT_NOT_READY: 'RESULT_NOT_READY',
  RESULT_EXPIRED: 'RESULT_EXPIRED',
  UPLOAD_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  UNSUPPORTED_CONTENT_TYPE: 'UNSUPPORTED_CONTENT_TYPE',
  // 503 / 504: come back later
  QUEUE_FULL: 'QUEUE_FULL',
  PACK_UNAVAILABLE: 'PACK_UNAVAILABLE',
  NOT_READY: 'NOT_READY',
  EMBEDDING_TIMEOUT: 'EMBEDDING_TIMEOUT',
  // job outcomes (job:failed)
  INVALID_JOB: 'INVALID_JOB',
  WORKER_LOST: 'WORKER_LOST',
  INTERNAL: 'INTERNAL',
} as const;
export type KnownErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Codes the input decoders raise (see packages/media); listed for clients, not enforced. */
export const INPUT_ERROR_CODES = [
  'MEDIA_EMPTY',
  'MEDIA_UNSUPPORTED_FORMAT',
  'AUDIO_TRUNCATED',
  'AUDIO_TOO_LONG',
  'IMAGE_TOO_LARGE',
  'IMAGE_INVALID',
  'VIDEO_INVALID',
  'VIDEO_TOO_LONG',
  'IMU_INVALID_SHAPE',
  'IMU_INVALID',
  'NON_FINITE_VALUE',
] as const;

export const errorCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an UPPER_SNAKE error code');

/** The JSON body of every error answer: `{ error: { code, message } }`. */
export const errorBodySchema = z.object({
  error: z.object({ code: errorCodeSchema, message: z.string() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
