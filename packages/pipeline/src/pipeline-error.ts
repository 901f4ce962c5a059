import { CodedError, isErrorCode } from '@a2i/protocol/errors';
import type { SerializedError } from './pipeline-thread-messages.js';

/**
 * An error thrown by the pipeline, carried across the thread boundary. It keeps the
 * original's `code` and `fault` when the original followed the coded-error contract
 * (`@a2i/protocol/errors`); anything else arrives as INTERNAL, a server fault. The message
 * is the original's either way (the worker decides what the client sees).
 */
export class PipelineError extends CodedError {
  constructor(serialized: SerializedError) {
    super(serialized.fault !== undefined && isErrorCode(serialized.code) ? serialized.code : 'INTERNAL', serialized.message);
    this.name = serialized.name;
  }
}
