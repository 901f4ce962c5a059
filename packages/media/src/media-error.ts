import { CodedError } from '@a2i/protocol/errors';

/**
 * Stable codes for inputs that cannot be decoded. Clients and tests match on them; the
 * message says what was wrong in words a person can act on.
 *
 * - MEDIA_*: any file (empty, too big, unknown format, the decoder ran out of time, aborted)
 * - AUDIO_*, IMAGE_*, VIDEO_*, IMU_*, NPY_*: one kind of input
 * - NON_FINITE_VALUE: NaN or +-Infinity in numeric input (.npy, IMU CSV)
 */
export type MediaErrorCode =
  | 'MEDIA_EMPTY'
  | 'MEDIA_TOO_LARGE'
  | 'MEDIA_UNSUPPORTED_FORMAT'
  | 'MEDIA_NEEDS_FFMPEG'
  | 'MEDIA_TIMEOUT'
  | 'MEDIA_ABORTED'
  | 'AUDIO_INVALID'
  | 'AUDIO_TRUNCATED'
  | 'AUDIO_TOO_LONG'
  | 'AUDIO_NO_SAMPLES'
  | 'AUDIO_NO_STREAM'
  | 'AUDIO_TOO_MANY_CHANNELS'
  | 'AUDIO_UNSUPPORTED_ENCODING'
  | 'IMAGE_INVALID'
  | 'IMAGE_TOO_LARGE'
  | 'VIDEO_INVALID'
  | 'VIDEO_TOO_LONG'
  | 'VIDEO_TOO_LARGE'
  | 'IMU_INVALID'
  | 'IMU_INVALID_SHAPE'
  | 'IMU_TOO_LONG'
  | 'NON_FINITE_VALUE'
  | 'NPY_INVALID'
  | 'NPY_TRUNCATED'
  | 'NPY_TOO_LARGE'
  | 'NPY_UNSUPPORTED_DTYPE'
  | 'NPY_UNSUPPORTED_ORDER';

/**
 * An input that cannot be decoded, following the coded-error contract of
 * `@a2i/protocol/errors`: `code` is stable (clients and tests match on it), `fault` is
 * 'input' for every MediaErrorCode (the registry says so), `message` says what was wrong in
 * words a person can act on.
 */
export class MediaError extends CodedError {
  override readonly name = 'MediaError';
  declare readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string) {
    super(code, message);
  }
}

/** True for a MediaError with the given code (or any MediaError when `code` is omitted). */
export function isMediaError(error: unknown, code?: MediaErrorCode): error is MediaError {
  return error instanceof MediaError && (code === undefined || error.code === code);
}
