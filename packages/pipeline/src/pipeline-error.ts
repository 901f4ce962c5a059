import type { SerializedError } from './pipeline-thread-messages.js';

/**
 * An error thrown by the pipeline, carried across the thread boundary. `expose` errors are
 * the input's fault (their `code` reaches the client); the others are server faults.
 */
export class PipelineError extends Error {
  readonly code: string;
  readonly expose: boolean;
  constructor(serialized: SerializedError) {
    super(serialized.message);
    this.name = serialized.name;
    this.code = serialized.code ?? 'INTERNAL';
    this.expose = serialized.expose === true;
  }
}
