import { CodedError } from './errors.js';

/**
 * A request (or job) that breaks a rule of the protocol: bad shape, a limit, a modality the
 * pack lacks. Its codes are input faults: the api answers with the code's status and this
 * message; the worker turns it into `job:failed`.
 */
export class RequestError extends CodedError {
  override readonly name = 'RequestError';
}
