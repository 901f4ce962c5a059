import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, HandshakeAuth, JobEvent, JobEventType, ServerShutdownEvent, ServerToClientEvents } from '@a2i/protocol';
import { A2iError, connectError } from './a2i-error.js';

// Listed here (not imported as values) so the browser bundle holds no zod or ioredis.
const EVENT_TYPES = ['job:queued', 'job:started', 'job:progress', 'job:preview', 'job:succeeded', 'job:failed', 'job:canceled'] as const satisfies readonly JobEventType[];
const TERMINAL: ReadonlySet<JobEventType> = new Set(['job:succeeded', 'job:failed', 'job:canceled']);

/** The event a job ends with. */
export type TerminalEvent = Extract<JobEvent, { type: 'job:succeeded' | 'job:failed' | 'job:canceled' }>;

export interface FollowOptions {
  /** Every event of the job, in order (a reconnection's snapshot included; nothing older than what was seen). */
  onEvent?: (event: JobEvent) => void;
  /** The server said it is stopping; the client reconnects and subscribes again by itself. */
  onShutdown?: (event: ServerShutdownEvent) => void;
  /** job:succeeded carries the images' bytes in `images[i].data` (no GET needed). */
  inlineImages?: boolean;
  /** Stop following (the job goes on): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Reconnection attempts after a lost or refused connection before giving up (default 10). */
  reconnectAttempts?: number;
}

/** Once the socket is made: cancels the job through the open connection. */
export type JobSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const RETRY_DELAY_MS = 500;

/**
 * Follows one job over socket.io until it ends; resolves with the final event (succeeded,
 * failed or canceled alike: a failed job is an answer, not an error here). The handshake names
 * the job, so the server subscribes at connection and sends its current state first
 * (snapshot), then live events; after a reconnection (a dropped link, or `server:shutdown`:
 * the instance closes the transport and the client connects again, to another instance behind
 * a load balancer) the same handshake resumes it, and events older than the newest seen
 * (by `seq`) are dropped. A refused handshake rejects with the server's code (NOT_READY, an
 * instance shutting down, is retried); a server that stays unreachable rejects with CONNECT_ERROR.
 */
export function followJob(server: string, auth: HandshakeAuth & { jobId: string }, options: FollowOptions = {}): Promise<TerminalEvent> {
  const attempts = options.reconnectAttempts ?? 10;
  const socket: JobSocket = io(server, {
    auth,
    // WebSocket first: one connection, so any api instance behind a load balancer can take it
    // (HTTP long-polling, the fallback, is several requests that must reach the same instance)
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    reconnectionAttempts: attempts,
    reconnectionDelay: RETRY_DELAY_MS,
    reconnectionDelayMax: 4 * RETRY_DELAY_MS,
  });
  return new Promise<TerminalEvent>((resolve, reject) => {
    let newestSeq = -1;
    let refusedRetries = 0;
    let lastError: unknown = null;
    let done = false;
    const finish = () => {
      done = true;
      options.signal?.removeEventListener('abort', onAbort);
      socket.io.off('reconnect_failed', onGiveUp);
      socket.removeAllListeners();
      socket.close();
    };
    const fail = (error: unknown) => {
      if (done) return;
      finish();
      reject(error);
    };
    const onAbort = () => fail(options.signal?.reason ?? new Error('Stopped following'));
    const onGiveUp = () => fail(connectError(server, lastError ?? new Error('no answer')));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort);
    socket.io.on('reconnect_failed', onGiveUp);

    for (const type of EVENT_TYPES) {
      (socket.on as (event: string, listener: (payload: { seq: number }) => void) => void)(type, (payload) => {
        if (done || payload.seq < newestSeq) return;
        newestSeq = payload.seq;
        const event = { type, payload } as JobEvent;
        options.onEvent?.(event);
        if (TERMINAL.has(type)) {
          finish();
          resolve(event as TerminalEvent);
        }
      });
    }
    socket.on('server:shutdown', (event) => options.onShutdown?.(event));
    socket.on('connect', () => {
      refusedRetries = 0;
    });
    socket.on('connect_error', (error) => {
      lastError = error;
      const refusal = (error as { data?: { code?: string; message?: string } }).data;
      if (refusal?.code) {
        // the server answered and said no: only "this instance is stopping" is worth another try
        if (refusal.code === 'NOT_READY' && refusedRetries < attempts) {
          refusedRetries += 1;
          setTimeout(() => done || socket.connect(), RETRY_DELAY_MS * refusedRetries);
          return;
        }
        return fail(new A2iError(refusal.code, `Cannot follow job ${auth.jobId}: ${refusal.message ?? error.message}`));
      }
      // a transport error: the manager retries while it is active, then says reconnect_failed
      if (!socket.active) fail(connectError(server, error));
    });
  });
}
