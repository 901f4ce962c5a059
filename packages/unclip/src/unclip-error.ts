/**
 * A request the unCLIP package cannot carry out: a bad option, a tensor of the wrong size,
 * a scheduler used out of order, a cancelled run. `code` is stable (clients and tests match
 * on it); `message` says what was wrong in words a person can act on.
 */
export class UnclipError extends Error {
  override readonly name = 'UnclipError';
  /** Bad input, not a server fault: the API answers 4xx with this code. */
  readonly expose = true;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
