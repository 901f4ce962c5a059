/**
 * A request (or job) that breaks a rule of the protocol: bad shape, a limit, a modality the
 * pack lacks. `code` is stable; `expose` says the message is safe to show the client.
 * The api maps `code` to an HTTP status; the worker turns it into `job:failed`.
 */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly expose = true;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
