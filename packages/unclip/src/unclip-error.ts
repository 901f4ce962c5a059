import { CodedError } from '@a2i/protocol/errors';
import { createGuards } from '@a2i/protocol/guards';

/**
 * A request the unCLIP package cannot carry out, following the coded-error contract of
 * `@a2i/protocol/errors`: `code` is stable (clients and tests match on it), `fault` comes
 * from the registry by code, `message` says what was wrong in words a person can act on.
 * Bad options are the input's (INVALID_OPTION, UNSUPPORTED_OPTION, a cancelled run); a
 * model that does not answer as the manifest says, or tensors that do not fit together, are
 * the server's (MODEL_SIGNATURE_MISMATCH, MODEL_OUTPUT_INVALID, TENSOR_SIZE_MISMATCH, ...).
 */
export class UnclipError extends CodedError {
  override readonly name = 'UnclipError';
}

/** The option guards (`@a2i/protocol/guards`), throwing UnclipErrors. */
export const unclipGuards = createGuards((code, message) => new UnclipError(code, message));
