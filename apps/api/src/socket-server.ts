import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Logger } from 'pino';
import {
  ERROR_CODES,
  errorBody,
  handshakeAuthSchema,
  subscribeRequestSchema,
  type ClientToServerEvents,
  type JobEvent,
  type ServerToClientEvents,
  type SubscribeAck,
} from '@a2i/protocol';
import { ApiError, errorAnswer } from './api-error.js';
import type { GenerationService } from './generation-service.js';
import { sha256Hex, type Credentials } from './job-access.js';
import type { EventSink, JobEventHub } from './job-event-hub.js';
import type { ApiMetrics } from './metrics.js';
import type { ShutdownNotice } from './shutdown-notice.js';
import type { SocketAdmission } from './socket-admission.js';

interface SocketData {
  credentials: Credentials;
  /** Job named in the handshake, already authorized: subscribed once connected. */
  handshakeJobId?: string;
  /** job:succeeded with the images' bytes (handshake `inlineImages`). */
  inlineImages: boolean;
  subscriptions: Map<string, () => void>;
}

type JobSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const MAX_SUBSCRIPTIONS_PER_SOCKET = 64;


/**
 * socket.io on the api's HTTP server. Auth at connection: the handshake's `auth` may carry
 * `{ jobId, token }` (subscribe at once; a wrong pair refuses the connection with
 * err.data = { code, message }), `apiKey`, and `inlineImages` (job:succeeded then carries the
 * images' bytes, so the client needs no GET). Later `job:subscribe` / `job:unsubscribe` /
 * `job:cancel` messages, each acknowledged with `{ ok: true }` or `{ error: { code, message } }`.
 */
export function attachSocketServer(
  httpServer: HttpServer,
  deps: { service: GenerationService; hub: JobEventHub; metrics: ApiMetrics; logger: Logger; shutdown: ShutdownNotice; guards: SocketAdmission },
) {
  const { service, hub, metrics, logger, shutdown } = deps;
  /** The acknowledgement of a failed request: an input fault's own message, else a generic one (the error goes to the log). */
  const ackError = (error: unknown, what: string): SubscribeAck => {
    const answer = errorAnswer(error, what);
    if (answer.serverFault) logger.error({ err: error, code: answer.code }, `socket.io: could not ${what}`);
    return errorBody(answer.code, answer.message);
  };
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer, {
    serveClient: true,
    maxHttpBufferSize: 64 * 1024,
    // origin check, transport caps, CORS (socket-admission.ts)
    ...deps.guards.serverOptions(),
  });
  deps.guards.watchTransports(io);

  const subscribe = async (socket: JobSocket, id: string, credentials: Credentials) => {
    if (socket.data.subscriptions.has(id)) return;
    if (socket.data.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      throw new ApiError(ERROR_CODES.LIMIT_EXCEEDED, `Expected at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`);
    }
    // Placed before any wait: a job:unsubscribe or a disconnect while the checks and the snapshot run cancels it.
    const pending = () => undefined;
    socket.data.subscriptions.set(id, pending);
    const stillWanted = () => socket.data.subscriptions.get(id) === pending;
    try {
      await service.authorizedState(id, credentials);
    } catch (error) {
      if (stillWanted()) socket.data.subscriptions.delete(id);
      throw error;
    }
    const emit = (event: JobEvent) => (socket.emit as (type: string, payload: unknown) => boolean)(event.type, event.payload);
    const sink: EventSink = {
      send: (event: JobEvent) => {
        if (!(socket.data.inlineImages && event.type === 'job:succeeded')) return void emit(event);
        // The terminal event: nothing follows it, so it may wait for the files.
        const { images } = event.payload;
        service.inlineImages(id, images, undefined, { video: event.payload.video !== undefined }).then(
          (bytes) => emit(bytes ? { ...event, payload: { ...event.payload, images: images.map((image, i) => ({ ...image, data: bytes[i]! })) } } : event),
          () => emit(event),
        );
      },
    };
    if (!stillWanted()) return;
    try {
      const unsubscribe = await hub.subscribe(id, sink);
      // let go at once if it was canceled meanwhile, or it would hold the job's channel
      if (!stillWanted()) return unsubscribe();
      socket.data.subscriptions.set(id, unsubscribe);
    } catch (error) {
      if (stillWanted()) socket.data.subscriptions.delete(id);
      throw error;
    }
  };

  // connection caps per address and in total, and the connection rate limit: first, before auth (socket-admission.ts)
  io.use(deps.guards.admit);
  io.use((socket, next) => {
    const auth = handshakeAuthSchema.safeParse(socket.handshake.auth ?? {});
    const refuse = (code: string, message: string) => next(Object.assign(new Error(message), { data: errorBody(code, message).error }));
    if (shutdown.announced) return refuse(ERROR_CODES.NOT_READY, 'Not ready: this api instance is shutting down');
    if (!auth.success) return refuse(ERROR_CODES.INVALID_REQUEST, 'Expected { jobId?, token?, apiKey? } strings and inlineImages? boolean in the handshake auth');
    socket.data.credentials = { token: auth.data.token, apiKeyHash: auth.data.apiKey ? sha256Hex(auth.data.apiKey) : undefined };
    socket.data.subscriptions = new Map();
    socket.data.inlineImages = auth.data.inlineImages === true;
    if (!auth.data.jobId) return next();
    const jobId = auth.data.jobId;
    service.authorizedState(jobId, socket.data.credentials).then(
      () => {
        socket.data.handshakeJobId = jobId;
        next();
      },
      (error: unknown) => {
        const body = ackError(error, 'authorize the connection') as { error: { code: string; message: string } };
        refuse(body.error.code, body.error.message);
      },
    );
  });

  io.on('connection', (socket) => {
    metrics.socketConnections.inc();
    if (socket.data.handshakeJobId) {
      subscribe(socket, socket.data.handshakeJobId, socket.data.credentials).catch((error: unknown) =>
        logger.warn({ err: error }, 'handshake subscription failed'),
      );
    }
    socket.on('job:subscribe', (request, ack) => {
      const parsed = subscribeRequestSchema.safeParse(request);
      if (!parsed.success) return ack?.(errorBody(ERROR_CODES.INVALID_REQUEST, 'Expected { id, token? } for job:subscribe'));
      const credentials = { ...socket.data.credentials, ...(parsed.data.token ? { token: parsed.data.token } : {}) };
      subscribe(socket, parsed.data.id, credentials).then(
        () => ack?.({ ok: true }),
        (error: unknown) => ack?.(ackError(error, 'subscribe to the job')),
      );
    });
    socket.on('job:unsubscribe', (request, ack) => {
      const id = typeof request?.id === 'string' ? request.id : '';
      socket.data.subscriptions.get(id)?.();
      socket.data.subscriptions.delete(id);
      ack?.({ ok: true });
    });
    socket.on('job:cancel', (request, ack) => {
      const parsed = subscribeRequestSchema.safeParse(request);
      if (!parsed.success) return ack?.(errorBody(ERROR_CODES.INVALID_REQUEST, 'Expected { id, token? } for job:cancel'));
      const credentials = { ...socket.data.credentials, ...(parsed.data.token ? { token: parsed.data.token } : {}) };
      service.cancel(parsed.data.id, credentials).then(
        () => ack?.({ ok: true }),
        (error: unknown) => ack?.(ackError(error, 'cancel the job')),
      );
    });
    let stopWatchingShutdown: () => void = () => undefined;
    socket.on('disconnect', () => {
      metrics.socketConnections.dec();
      stopWatchingShutdown();
      for (const unsubscribe of socket.data.subscriptions.values()) unsubscribe();
      socket.data.subscriptions.clear();
    });
    // The instance is stopping: say so, then close the transport (not a socket.io disconnect),
    // so a stock client reconnects by itself (to another instance behind the load balancer);
    // a handshake `{ jobId, token }` subscribes again on its own, job:subscribe is the client's to resend.
    stopWatchingShutdown = shutdown.onShutdown((event) => {
      socket.emit('server:shutdown', event);
      socket.conn.close();
    });
  });
  io.engine.on('connection_error', (error: { message: string }) => logger.debug({ err: error.message }, 'socket.io connection error'));
  return io;
}
