import { CodedError, type ErrorCode } from '@a2i/protocol/errors';

/**
 * The one error class of @a2i/collections: a CodedError (`@a2i/protocol/errors`), so its
 * `fault` and HTTP status come from the one registry. `code` is a stable UPPER_SNAKE string;
 * the fault says whose mistake it was: 'input' (the caller asked for something invalid or
 * absent) or 'server' (STORAGE_FAILURE: LanceDB, disk, object store failed underneath).
 */
export type CollectionErrorCode = Extract<
  ErrorCode,
  | 'INVALID_OPTION'
  | 'INVALID_NAME'
  | 'INVALID_OWNER'
  | 'INVALID_SPACE'
  | 'INVALID_ITEM'
  | 'INVALID_VECTOR'
  | 'INVALID_METADATA'
  | 'INVALID_FILTER'
  | 'INVALID_K'
  | 'COLLECTION_EXISTS'
  | 'COLLECTION_NOT_FOUND'
  | 'EMBEDDING_DIMENSION_MISMATCH'
  | 'SPACE_MISMATCH'
  | 'STORAGE_FAILURE'
>;

export type CollectionErrorFault = 'input' | 'server';

export class CollectionError extends CodedError {
  override readonly name = 'CollectionError';
  declare readonly code: CollectionErrorCode;

  constructor(code: CollectionErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Renders a received value for the "Expected <what> for <name> but received <value>" template. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Float32Array) return `Float32Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'function') return 'a function';
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

/** Builds an input error with the project's one message template. */
export function expected(code: CollectionErrorCode, what: string, name: string, value: unknown): CollectionError {
  return new CollectionError(code, `Expected ${what} for ${name} but received ${describeValue(value)}`);
}

/** Wraps a LanceDB (or I/O) failure as a server fault, keeping the original as `cause`. */
export function storageFailure(action: string, cause: unknown): CollectionError {
  if (cause instanceof CollectionError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new CollectionError('STORAGE_FAILURE', `Storage failed while ${action}: ${detail}`, { cause });
}
