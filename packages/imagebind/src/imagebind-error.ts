/**
 * Bad input to preprocessing, tokenising, encoding or embedding arithmetic. `code` is
 * stable (clients and tests match on it); `message` says what was wrong in words a person
 * can act on.
 *
 * Codes: INVALID_OPTION, INVALID_MANIFEST, IMAGE_INVALID_SHAPE, IMU_INVALID_SHAPE,
 * VIDEO_INVALID, NON_FINITE_VALUE, TOKENIZER_INVALID_FILES, TEXT_INVALID,
 * ENCODER_LOAD_FAILED, ENCODER_INPUT_MISMATCH, ENCODER_OUTPUT_MISMATCH, ENCODER_NO_FILE,
 * EMBEDDING_ZERO, EMBEDDING_DIM_MISMATCH.
 */
export class ImageBindError extends Error {
  override readonly name = 'ImageBindError';
  /** Bad input, not a server fault: the API answers 4xx with this code. */
  readonly expose = true;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
