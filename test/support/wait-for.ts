/**
 * Polls `probe` until it gives something other than undefined or false, and resolves with it;
 * rejects naming `what` once `timeoutMs` has passed. The one polling wait of the tests and benches.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`Expected ${what} within ${timeoutMs} ms but it did not happen`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
