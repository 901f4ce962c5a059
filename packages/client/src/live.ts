import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, LiveEndedEvent, LiveImageEvent, LiveLimits, LiveStartInput, ServerToClientEvents } from '@a2i/protocol';
import { A2iError, connectError } from './a2i-error.js';

export interface LiveOptions {
  /** Each picture of the stream, in order. */
  onImage?: (event: LiveImageEvent) => void;
  /** The stream ended (stopped, idle, refused, failed, or the connection went). */
  onEnded?: (event: LiveEndedEvent) => void;
  /** The API key the per-client stream limit counts by (else the address). */
  apiKey?: string;
}

/** A started live stream: send it PCM, stop it. */
export interface LiveSession {
  readonly streamId: string;
  readonly limits: LiveLimits;
  readonly steps: number;
  readonly seed: number;
  /** Sends a chunk: mono 16-bit samples at the stream's sample rate (at most limits.chunkBytes bytes). */
  send(samples: Int16Array): void;
  /** Stops the stream and closes the connection. */
  stop(): Promise<void>;
}

/**
 * Live sound (README "Live sound"): opens a socket.io connection of its own, starts a stream
 * (`request`: the sample rate and what goes with the sound) and hands back a session to send
 * PCM chunks to; every picture the server makes of the newest window comes to `onImage`.
 * Refusals (LIVE_TOO_MANY_STREAMS, LIVE_STREAMS_FULL, NOT_READY, INVALID_REQUEST) reject with
 * an A2iError of that code.
 */
export function startLive(server: string, request: LiveStartInput, options: LiveOptions = {}): Promise<LiveSession> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(server, { auth: options.apiKey ? { apiKey: options.apiKey } : {}, reconnection: false });
  return new Promise<LiveSession>((resolve, reject) => {
    socket.once('connect_error', (error: Error & { data?: { code?: string; message?: string } }) => {
      socket.close();
      reject(error.data?.code ? new A2iError(error.data.code, error.data.message ?? error.message) : connectError(server, error));
    });
    socket.once('connect', () => {
      socket.emit('live:start', request, (answer) => {
        if (!('ok' in answer)) {
          socket.close();
          reject(new A2iError(answer.error.code, answer.error.message));
          return;
        }
        const { streamId } = answer;
        let ended = false;
        const whenEnded: Array<() => void> = [];
        socket.on('live:image', (event) => {
          if (event.streamId === streamId) options.onImage?.(event);
        });
        socket.on('live:ended', (event) => {
          if (event.streamId !== streamId) return;
          ended = true;
          options.onEnded?.(event);
          socket.close();
          for (const done of whenEnded.splice(0)) done();
        });
        resolve({
          streamId,
          limits: answer.limits,
          steps: answer.steps,
          seed: answer.seed,
          send(samples) {
            // a copy of exactly these samples (a view's whole buffer must not travel)
            const bytes = new Uint8Array(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
            socket.emit('live:chunk', { streamId, pcm: bytes });
          },
          stop() {
            // the server sends live:ended before its acknowledgement: either one says it is over
            return new Promise<void>((done) => {
              if (ended || !socket.connected) return done();
              whenEnded.push(done);
              socket.emit('live:stop', { streamId }, () => {
                socket.close();
                done();
              });
            });
          },
        });
      });
    });
  });
}
