import type { z } from 'zod';
import { ERROR_CODES } from './error-codes.js';
import { RequestError } from './errors.js';

/**
 * Validates `value` with `schema` or throws a RequestError naming the first problems, e.g.
 * "inputs.0.weight: Expected a finite number". An unknown modality gets its own code
 * (UNSUPPORTED_MODALITY) because clients act on it differently from a malformed body.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const code = first && first.path.at(-1) === 'modality' ? ERROR_CODES.UNSUPPORTED_MODALITY : ERROR_CODES.INVALID_REQUEST;
  const described = issues.slice(0, 3).map((issue) => {
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  throw new RequestError(code, `Invalid ${what}: ${described.join('; ')}${more}`);
}
