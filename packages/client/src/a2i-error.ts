import { ERROR_CODES, faultOf, isErrorCode, type CodedErrorLike, type Fault } from '@a2i/protocol/errors';

/**
 * A refusal or failure as the client received it, following the coded-error contract by shape
 * (`@a2i/protocol/errors`): `code` is the server's (any string: a newer server may know codes
 * this client does not), `status` the HTTP status when there was an answer, `fault` the
 * registry's for a known code, else read from the status (5xx or none: the server's).
 */
export class A2iError extends Error implements CodedErrorLike {
  override readonly name = 'A2iError';
  readonly fault: Fault;
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    /** CONNECT_ERROR only: the URL that could not be reached and why (ECONNREFUSED, ...). */
    readonly connect?: { url: string; cause: string },
  ) {
    super(message);
    this.fault = isErrorCode(code) ? faultOf(code) : status !== undefined && status < 500 ? 'input' : 'server';
  }
}

/** The server could not be reached at all: names the URL and the cause. */
export function connectError(url: string, error: unknown): A2iError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
  return new A2iError(ERROR_CODES.CONNECT_ERROR, `Cannot reach the server at ${url} (${why})`, undefined, { url, cause: why });
}
