import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { Server as SocketServer } from 'socket.io';
import type { ShutdownNotice } from './shutdown-notice.js';

/**
 * Stops serving within a bounded time:
 *   1. no new connections (the listener closes; idle keep-alive connections are closed);
 *   2. every follower is told `server:shutdown` and let go at once (SSE streams end, socket.io
 *      transports close): they are not requests to wait for, and would otherwise hold the
 *      server open for as long as they like;
 *   3. requests in flight (an upload, a POST being queued) get up to `graceMs` to finish;
 *   4. whatever is still open then is cut.
 * Resolves once no connection is left. Redis and the rest are the caller's to close after.
 */
export async function closeServing(parts: { server: HttpServer; io: SocketServer; shutdown: ShutdownNotice; graceMs: number; logger: Logger }): Promise<void> {
  const { server, io, shutdown, graceMs, logger } = parts;
  const drained = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  shutdown.announce();
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => {
    timer = setTimeout(() => resolve('grace over'), graceMs);
  });
  const outcome = await Promise.race([drained.then(() => 'drained' as const), graceOver]);
  clearTimeout(timer);
  if (outcome === 'grace over') {
    logger.warn({ graceMs }, 'shutdown: requests still open after the grace period are cut');
    server.closeAllConnections();
  }
  // engine.io's own bookkeeping (polling clients, timers); its sockets are gone already.
  await new Promise<void>((resolve) => io.close(() => resolve()));
  server.closeAllConnections();
}
