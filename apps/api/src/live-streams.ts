import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ERROR_CODES, LIVE_WINDOW_SEC, type LiveEndedEvent, type LiveImageEvent, type LiveJob, type LiveLimits, type ServerConfig } from '@a2i/protocol';
import { isInputFault } from '@a2i/protocol/errors';
import { ApiError } from './api-error.js';
import { LiveStream, type LivePicture, type LiveSnapshot } from './live-stream.js';

/** A stream's pictures' job, all but the window: resolved against the pack when the stream starts (live-painter.ts). */
export type LiveJobTemplate = Omit<LiveJob, 'streamId' | 'pcm'>;

/** Paints a stream's window (live-painter.ts: a job on the generations queue, waited for). */
export type LivePainter = (stream: { id: string; job: LiveJobTemplate }, snapshot: LiveSnapshot) => Promise<LivePicture>;

/** Where a stream's events go (its socket) and who holds it. */
export interface LiveOwner {
  /** The connection (socket id): its streams end when it disconnects. */
  connection: string;
  /** The client (API key, else address) the per-client limit counts. */
  client: string;
  emit(event: 'live:image', payload: LiveImageEvent): void;
  emit(event: 'live:ended', payload: LiveEndedEvent): void;
}

interface Held {
  stream: LiveStream;
  owner: LiveOwner;
  idle: ReturnType<typeof setTimeout>;
}

/**
 * The live streams of one api instance (README "Live sound"): at most A2I_LIVE_STREAMS_PER_CLIENT
 * per client (LIVE_TOO_MANY_STREAMS) and A2I_LIVE_STREAMS_TOTAL in all (LIVE_STREAMS_FULL); a
 * stream ends on live:stop, on its connection's end, after A2I_LIVE_IDLE_SECONDS without a
 * chunk, on a chunk that breaks the rules (LIVE_CHUNK_INVALID), or when a picture fails for its
 * input. Each stream has at most one picture queued or running (LiveStream), so the work this
 * instance puts in the queue is at most one job per stream.
 */
export class LiveStreams {
  private readonly held = new Map<string, Held>();
  readonly limits: LiveLimits;

  constructor(
    private readonly config: ServerConfig['live'],
    private readonly paint: LivePainter,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { chunkBytes: config.chunkBytes, chunksPerSecond: config.chunksPerSecond, idleSeconds: config.idleSeconds, streamsPerClient: config.streamsPerClient, windowSec: LIVE_WINDOW_SEC };
  }

  get size(): number {
    return this.held.size;
  }

  start(owner: LiveOwner, job: LiveJobTemplate): string {
    if (this.held.size >= this.config.streamsTotal) {
      throw new ApiError(ERROR_CODES.LIVE_STREAMS_FULL, `This server holds ${this.config.streamsTotal} live streams, all it takes; try again later`, 5);
    }
    const ofClient = [...this.held.values()].filter((held) => held.owner.client === owner.client).length;
    if (ofClient >= this.config.streamsPerClient) {
      throw new ApiError(ERROR_CODES.LIVE_TOO_MANY_STREAMS, `Expected at most ${this.config.streamsPerClient} live streams per client but this one holds ${ofClient}`);
    }
    const id = randomBytes(12).toString('base64url');
    const stream = new LiveStream(
      id,
      { sampleRate: job.sampleRate, windowSamples: Math.round(LIVE_WINDOW_SEC * job.sampleRate), chunkBytes: this.config.chunkBytes, chunksPerSecond: this.config.chunksPerSecond },
      {
        paint: (snapshot) => this.paint({ id, job }, snapshot),
        onImage: (event) => owner.emit('live:image', event),
        onPaintError: (error) => {
          if (isInputFault(error)) return this.end(id, 'failed', { code: error.code, message: error.message });
          // a server fault or a wait that ran out: the next chunk paints again
          this.logger.warn({ err: error, streamId: id }, 'live picture not made');
        },
        now: this.now,
      },
    );
    this.held.set(id, { stream, owner, idle: this.idleTimer(id) });
    return id;
  }

  /** A chunk of the stream `streamId` from `connection`; another connection's stream is NOT_FOUND. */
  chunk(connection: string, streamId: string, pcm: Uint8Array): void {
    const held = this.owned(connection, streamId);
    const outcome = held.stream.accept(pcm);
    if (outcome === 'invalid') {
      this.end(streamId, 'refused', { code: ERROR_CODES.LIVE_CHUNK_INVALID, message: `Expected whole 16-bit samples, 2..${this.config.chunkBytes} bytes, in a live chunk but received ${pcm.byteLength} bytes` });
      return;
    }
    clearTimeout(held.idle);
    held.idle = this.idleTimer(streamId);
  }

  stop(connection: string, streamId: string): void {
    this.owned(connection, streamId);
    this.end(streamId, 'stopped');
  }

  /** Every stream of a connection that went away ends (nobody is left to send its pictures to). */
  disconnected(connection: string): void {
    for (const [id, held] of this.held) if (held.owner.connection === connection) this.end(id, 'disconnected', {}, false);
  }

  /** Ends every stream (the instance is stopping). */
  close(): void {
    for (const id of [...this.held.keys()]) this.end(id, 'stopped');
  }

  private owned(connection: string, streamId: string): Held {
    const held = this.held.get(streamId);
    if (!held || held.owner.connection !== connection) throw new ApiError(ERROR_CODES.NOT_FOUND, 'No such live stream on this connection');
    return held;
  }

  private idleTimer(streamId: string): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.end(streamId, 'idle'), this.config.idleSeconds * 1000);
    timer.unref();
    return timer;
  }

  private end(streamId: string, reason: LiveEndedEvent['reason'], detail: { code?: string; message?: string } = {}, tell = true): void {
    const held = this.held.get(streamId);
    if (!held) return;
    this.held.delete(streamId);
    clearTimeout(held.idle);
    held.stream.end();
    if (tell) held.owner.emit('live:ended', { streamId, reason, ...detail, stats: { ...held.stream.stats } });
    this.logger.info({ streamId, reason, ...held.stream.stats }, 'live stream ended');
  }
}
