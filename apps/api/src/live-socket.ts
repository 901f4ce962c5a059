import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { ERROR_CODES, errorBody, liveChunkSchema, liveStartSchema, liveStopSchema, type RequestLimits, type ServerConfig } from '@a2i/protocol';
import { ApiError, errorAnswer } from './api-error.js';
import type { GenerationService } from './generation-service.js';
import type { Credentials } from './job-access.js';
import { liveJobTemplate } from './live-painter.js';
import type { LiveStreams } from './live-streams.js';
import type { PackSource } from './pack-source.js';
import { clientAddress, type RateLimits, type TrustFunction } from './rate-limits.js';

export interface LiveSocketDeps {
  streams: LiveStreams;
  service: GenerationService;
  pack: PackSource;
  requestLimits: RequestLimits;
  live: ServerConfig['live'];
  /** Who a connection's client is (API key, else address), as the rate limits count it. */
  rates: RateLimits;
  trust: TrustFunction;
  logger: Logger;
}

/**
 * Live sound on every socket.io connection (README "Live sound"): live:start (acknowledged with
 * the stream's id and limits, or the error), live:chunk (no acknowledgement: a chunk that breaks
 * the rules ends the stream with live:ended), live:stop; the connection's streams end with it.
 */
export function attachLiveSound(io: Server, deps: LiveSocketDeps): void {
  const { streams, logger } = deps;
  const ackError = (error: unknown, what: string) => {
    const answer = errorAnswer(error, what);
    if (answer.serverFault) logger.error({ err: error, code: answer.code }, `socket.io: could not ${what}`);
    return errorBody(answer.code, answer.message);
  };
  io.on('connection', (socket: Socket) => {
    const credentials = ((socket.data as { credentials?: Credentials }).credentials ?? {}) as Credentials;
    const client = deps.rates.clientKey(credentials, clientAddress(socket.request, deps.trust));
    const owner = { connection: socket.id, client, emit: (event: string, payload: unknown) => void socket.emit(event, payload) };

    socket.on('live:start', (request: unknown, ack?: (response: unknown) => void) => {
      const start = async () => {
        const parsed = liveStartSchema.safeParse(request ?? {});
        if (!parsed.success) throw new ApiError(ERROR_CODES.INVALID_REQUEST, `Invalid live:start: ${parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`).join('; ')}`);
        const pack = await deps.service.requirePack();
        if ((await deps.pack.workersAlive()) === 0) throw new ApiError(ERROR_CODES.NOT_READY, 'No worker is running', 5);
        const job = liveJobTemplate(parsed.data, pack, deps.requestLimits, deps.live.steps);
        const streamId = streams.start(owner as Parameters<LiveStreams['start']>[0], job);
        return { ok: true as const, streamId, limits: streams.limits, steps: job.options.steps, seed: job.options.seed };
      };
      start().then(
        (answer) => ack?.(answer),
        (error: unknown) => ack?.(ackError(error, 'start the live stream')),
      );
    });
    socket.on('live:chunk', (chunk: unknown) => {
      const parsed = liveChunkSchema.safeParse(chunk);
      if (!parsed.success) return;
      try {
        streams.chunk(socket.id, parsed.data.streamId, parsed.data.pcm);
      } catch {
        // a stream that ended (or was never this connection's): its chunks are dropped
      }
    });
    socket.on('live:stop', (request: unknown, ack?: (response: unknown) => void) => {
      const parsed = liveStopSchema.safeParse(request);
      if (!parsed.success) return ack?.(errorBody(ERROR_CODES.INVALID_REQUEST, 'Expected { streamId } for live:stop'));
      try {
        streams.stop(socket.id, parsed.data.streamId);
        ack?.({ ok: true });
      } catch (error) {
        ack?.(ackError(error, 'stop the live stream'));
      }
    });
    socket.on('disconnect', () => streams.disconnected(socket.id));
  });
}
