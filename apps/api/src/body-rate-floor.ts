import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ERROR_CODES, errorBody } from '@a2i/protocol';
import { ApiError } from './api-error.js';

/**
 * A minimum upload rate for request bodies (A2I_BODY_MIN_BYTES_PER_SECOND over each
 * A2I_BODY_RATE_WINDOW_MS), rather than one fixed body deadline: a fixed deadline either fails
 * an honest 25 MiB upload on a slow link or lets a 1 byte/s client hold its connection, its
 * upload folder and its share of the in-flight cap for that long. A floor on the rate lets any
 * body through at the speed of a poor mobile uplink (8 KiB/s = 64 kbit/s: 25 MiB in ~53 min,
 * under the A2I_REQUEST_TIMEOUT_MS ceiling of 1 h) and cuts a trickle off after one window.
 *
 * Progress is read from the connection (`socket.bytesRead`, headers excluded by taking the
 * count when the body starts), so the watch needs no 'data' listener (which would start the
 * body flowing before its reader is attached). A window in which the server itself is not
 * reading (the request's buffer full: the route is still busy, or the disk is slow) is not held
 * against the client.
 *
 * Cut off: the client gets 408 UPLOAD_TOO_SLOW at once with `Connection: close` (the
 * connection closes after the answer); the body's reader learns it through `bodyCutoff(req)`
 * and stops at once (readBody then removes the upload folder). The watch goes on after an
 * early answer (401, 429, 503 before the body was read), while Node reads the rest of the body
 * to keep the connection: a body too slow then loses its connection.
 */
export interface BodyRateFloor {
  minBytesPerSecond: number;
  /** 0: no floor. */
  windowMs: number;
}

const cutoffs = new WeakMap<IncomingMessage, AbortController>();

/** Aborted (its reason an ApiError UPLOAD_TOO_SLOW) when the request's body is cut off for being too slow. */
export function bodyCutoff(req: IncomingMessage): AbortSignal | undefined {
  return cutoffs.get(req)?.signal;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

export function bodyRateFloor(floor: BodyRateFloor) {
  const minPerWindow = Math.ceil((floor.minBytesPerSecond * floor.windowMs) / 1000);
  return (req: Request, res: Response, next: NextFunction) => {
    if (floor.windowMs <= 0 || !hasBody(req) || req.complete) return next();
    const controller = new AbortController();
    cutoffs.set(req, controller);
    const socket = req.socket;
    let lastBytes = socket.bytesRead;
    // Stops watching; the socket may serve more requests (keep-alive): leave no listener on it.
    const stop = () => {
      clearInterval(timer);
      socket.off('close', stop);
    };
    const timer = setInterval(() => {
      if (req.complete || socket.destroyed) return stop();
      const bytes = socket.bytesRead;
      const received = bytes - lastBytes;
      lastBytes = bytes;
      // not reading (buffer full): the server's pause, not the client's
      if (req.readableLength >= req.readableHighWaterMark) return;
      if (received >= minPerWindow) return;
      stop();
      const error = new ApiError(
        ERROR_CODES.UPLOAD_TOO_SLOW,
        `Expected the request body at ${floor.minBytesPerSecond} bytes/s or faster but received ${received} bytes in ${floor.windowMs} ms`,
      );
      if (!res.headersSent) {
        res.status(error.httpStatus).set('connection', 'close').json(errorBody(error.code, error.message));
      } else if (res.writableEnded) {
        // answered early (a 401, a 429, a 503) while the body still trickles in: Node would read
        // it to the end to keep the connection; a client too slow for the floor loses it instead
        socket.destroy();
      }
      controller.abort(error);
    }, floor.windowMs);
    timer.unref();
    req.once('close', stop);
    socket.once('close', stop);
    next();
  };
}
