import { z } from 'zod';

/**
 * Events about the connection itself, not about one job (no `id`, no `seq`).
 *
 * `server:shutdown`: the api instance is stopping (SIGTERM). Sent once to every socket.io
 * connection and every SSE stream, which the server then closes. A client acts on
 * `reason: 'shutdown'` by connecting again (to another instance behind the load balancer)
 * and subscribing again: the new subscription's snapshot carries the job's current state.
 */
export const serverShutdownEventSchema = z.object({
  reason: z.literal('shutdown'),
  message: z.string(),
  /** How long requests in flight were given to finish (A2I_SHUTDOWN_GRACE_MS). */
  graceMs: z.number().int().nonnegative(),
  /** Milliseconds since the epoch. */
  at: z.number().int().nonnegative(),
});
export type ServerShutdownEvent = z.infer<typeof serverShutdownEventSchema>;

export const SERVER_SHUTDOWN_EVENT = 'server:shutdown';

export interface ServerEvents {
  'server:shutdown': (payload: ServerShutdownEvent) => void;
}
