/**
 * Waits until the api at `url` answers /readyz with at least `workers` workers ready, polling;
 * `assertAlive` throws when one of the server's processes has died (its output in the message).
 */
export async function waitForReadyServer(url: string, options: { workers?: number; timeoutMs?: number; assertAlive?: () => void | Promise<void> } = {}): Promise<void> {
  const workers = options.workers ?? 1;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    await options.assertAlive?.();
    try {
      const response = await fetch(`${url}/readyz`);
      const body = (await response.json()) as { workers?: number; error?: { message: string } };
      if (response.ok && (body.workers ?? 0) >= workers) return;
      last = body.error?.message ?? `${body.workers} worker(s)`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`The server was not ready with ${workers} worker(s) within ${timeoutMs} ms: ${last}`);
}
