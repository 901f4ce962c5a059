import { A2iError, type TerminalEvent } from '@a2i/client';
import { ERROR_CODES } from '@a2i/protocol/errors';

/** A job that ended without succeeding (job:failed, job:canceled), as the error the CLI reports: its code and message. */
export function endedWithout(event: Exclude<TerminalEvent, { type: 'job:succeeded' }>, what: string): A2iError {
  if (event.type === 'job:failed') return new A2iError(event.payload.code, event.payload.message);
  return new A2iError(ERROR_CODES.CANCELED, `The ${what} was canceled`);
}
