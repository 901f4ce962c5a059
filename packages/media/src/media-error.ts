/**
 * An input that cannot be decoded. `code` is stable (clients and tests match on it);
 * `message` says what was wrong in words a person can act on.
 */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  /** Bad input, not a server fault: the API answers 4xx with this code. */
  readonly expose = true;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
