import { CodedError, ERROR_CODES, httpStatusOf, isCodedError, serverFaultMessage, type ErrorCode } from '@a2i/protocol/errors';
import { REDIS_RETRY_AFTER_SECONDS, isRedisUnavailable } from '@a2i/protocol';

/**
 * An answer other than success, with a registered code (its HTTP status and fault come from
 * the registry, `@a2i/protocol/errors`); `retryAfterSeconds` becomes a Retry-After header (503).
 */
export class ApiError extends CodedError {
  override readonly name = 'ApiError';
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
  }
}

/** HTTP status of an error code (from the registry). */
export function httpStatusFor(code: ErrorCode): number {
  return httpStatusOf(code);
}

/** What the api answers for an error, and whether it must be logged (a server fault). */
export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
  /** A server fault: the client got a generic message, the details belong in the log. */
  serverFault: boolean;
}

/**
 * The one mapping from an error to an answer, for HTTP and socket.io alike:
 * - Redis unreachable (isRedisUnavailable): 503 NOT_READY with Retry-After;
 * - an input fault (`fault: 'input'`): its code's status (4xx, or 503 / 504) and its message;
 * - a server fault, or an error without a registered code (INTERNAL): 5xx with a generic
 *   message naming the code; the caller logs the error.
 * `what` completes "The server failed to ..." in that generic message.
 */
export function errorAnswer(error: unknown, what: string): ErrorAnswer {
  const bodyParserType = (error as { type?: unknown } | null)?.type;
  if (bodyParserType === 'entity.parse.failed') return inputAnswer(ERROR_CODES.INVALID_JSON, 'Expected a valid JSON body');
  if (bodyParserType === 'entity.too.large') {
    const limit = (error as { limit?: unknown }).limit;
    return inputAnswer(ERROR_CODES.UPLOAD_TOO_LARGE, `Expected a JSON body of at most ${typeof limit === 'number' ? limit : 'the configured'} bytes`);
  }
  // Redis away (a fast-failing connection, a timeout, redis-connections.ts): come back later, not a 500.
  if (isRedisUnavailable(error)) {
    return { ...inputAnswer(ERROR_CODES.NOT_READY, 'The server cannot reach its Redis right now; try again shortly'), retryAfterSeconds: REDIS_RETRY_AFTER_SECONDS };
  }
  if (isCodedError(error) && error.fault === 'input') {
    const answer = inputAnswer(error.code, error.message);
    if (error instanceof ApiError && error.retryAfterSeconds !== undefined) answer.retryAfterSeconds = error.retryAfterSeconds;
    return answer;
  }
  const code = isCodedError(error) ? error.code : ERROR_CODES.INTERNAL;
  return { status: httpStatusOf(code), code, message: serverFaultMessage(what, code), serverFault: true };
}

function inputAnswer(code: ErrorCode, message: string): ErrorAnswer {
  return { status: httpStatusOf(code), code, message, serverFault: false };
}
