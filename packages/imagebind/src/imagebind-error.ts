import { CodedError } from '@a2i/protocol/errors';
import { createGuards } from '@a2i/protocol/guards';

/**
 * An error of preprocessing, tokenising, encoding or embedding arithmetic, following the
 * coded-error contract of `@a2i/protocol/errors`: `code` is stable (clients and tests match on
 * it), `fault` comes from the registry by code, `message` says what was wrong in words a
 * person can act on.
 *
 * Input faults: INVALID_OPTION, UNSUPPORTED_OPTION, IMAGE_INVALID_SHAPE, IMU_INVALID_SHAPE,
 * VIDEO_INVALID, NON_FINITE_VALUE (in the input), TEXT_INVALID, UNSUPPORTED_MODALITY,
 * EMBEDDING_ZERO, EMBEDDING_DIMENSION_MISMATCH.
 * Server faults: INVALID_MANIFEST, TOKENIZER_INVALID_FILES, ENCODER_LOAD_FAILED,
 * ENCODER_NO_FILE, ENCODER_INPUT_MISMATCH, ENCODER_OUTPUT_MISMATCH, ENCODER_OUTPUT_NON_FINITE.
 */
export class ImageBindError extends CodedError {
  override readonly name = 'ImageBindError';
}

/** The option guards (`@a2i/protocol/guards`), throwing ImageBindErrors. */
export const imagebindGuards = createGuards((code, message) => new ImageBindError(code, message));
