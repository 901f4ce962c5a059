import { z } from 'zod';
import { ALL_ERROR_CODES, ERROR_CODES, ERROR_REGISTRY, type ErrorCode } from './errors.js';

/**
 * Stable error codes (UPPER_SNAKE). Clients and tests match on `code`; `message` is for people.
 * The codes, their fault and their HTTP status live in one registry (errors.ts); these are
 * the names and the wire schemas built on it.
 */
export { ERROR_CODES };
export type KnownErrorCode = ErrorCode;

/** Codes the input decoders and preprocessing raise (HTTP 422); listed for clients. */
export const INPUT_ERROR_CODES: readonly ErrorCode[] = ALL_ERROR_CODES.filter((code) => ERROR_REGISTRY[code].fault === 'input' && ERROR_REGISTRY[code].status === 422);

export const errorCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an UPPER_SNAKE error code');

/** The JSON body of every error answer: `{ error: { code, message } }`. */
export const errorBodySchema = z.object({
  error: z.object({ code: errorCodeSchema, message: z.string() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
