import { lstat, readdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { ERROR_CODES, errorBody } from '@a2i/protocol';
import { ApiError } from './api-error.js';

// The two limits on request bodies: a minimum upload rate per request, and a cap on the upload
// bytes summed over requests (in flight and on disk). Both are taken before a body is read.

// ---------------------------------------------------------------- the minimum body rate

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

// ---------------------------------------------------------------- the upload byte budget

export interface UploadBudgetOptions {
  uploadsDir: string;
  /** Bytes of multipart bodies being received at once by this api instance (A2I_UPLOADS_IN_FLIGHT_BYTES). */
  inFlightBytes: number;
  /** Bytes in the uploads folder: queued jobs' files plus bodies being received (A2I_UPLOADS_DISK_BYTES). */
  diskBytes: number;
  /** The largest body a request may send (files x bytes per file + fields): a chunked body reserves this. */
  maxRequestBytes: number;
  /** Retry-After of a 503 UPLOADS_BUSY. */
  retryAfterSeconds: number;
}

/**
 * A cap on upload bytes summed over requests, taken before a multipart body is read:
 *
 * - in flight: each body reserves its Content-Length (Node refuses a body longer than that),
 *   or, without one (chunked), the most a request may bring; past A2I_UPLOADS_IN_FLIGHT_BYTES
 *   the request is refused with 503 UPLOADS_BUSY + Retry-After before a byte is stored;
 * - on disk: the uploads folder is measured (the folders of bodies this instance is receiving
 *   left out: they count by their reservation), and a body that would take it past
 *   A2I_UPLOADS_DISK_BYTES is refused the same way. The folder holds the files of queued jobs
 *   until their worker finishes them, so it empties as the queue drains.
 *
 * A body larger than either cap on its own could never be taken: 413 UPLOAD_TOO_LARGE.
 * The reservation is checked and taken synchronously, so concurrent requests cannot both
 * squeeze into the last room; it is released when the body has been read (or refused).
 */
export class UploadBudget {
  private readonly reserved = new Map<string, number>();
  private reservedBytes = 0;

  constructor(private readonly options: UploadBudgetOptions) {}

  /** Bytes reserved by bodies being received now. */
  get inFlightBytes(): number {
    return this.reservedBytes;
  }

  /** Reserves room for the body of `req`, stored under `<uploads>/<jobId>/`; resolves with its release. */
  async admit(req: IncomingMessage, jobId: string): Promise<() => void> {
    const { inFlightBytes, diskBytes, maxRequestBytes, retryAfterSeconds } = this.options;
    const declared = Number(req.headers['content-length']);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : maxRequestBytes;
    const cap = Math.min(inFlightBytes, diskBytes);
    if (bytes > cap) {
      throw new ApiError(ERROR_CODES.UPLOAD_TOO_LARGE, `Expected a request body of at most ${cap} bytes but received a Content-Length of ${bytes}`);
    }
    if (this.reservedBytes + bytes > inFlightBytes) {
      throw new ApiError(
        ERROR_CODES.UPLOADS_BUSY,
        `The server is receiving ${this.reservedBytes} bytes of uploads (limit ${inFlightBytes}); try again in ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
    }
    this.reservedBytes += bytes;
    this.reserved.set(jobId, bytes);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.reservedBytes -= bytes;
      this.reserved.delete(jobId);
    };
    try {
      const stored = await this.storedBytes();
      if (stored + this.reservedBytes > diskBytes) {
        throw new ApiError(
          ERROR_CODES.UPLOADS_BUSY,
          `The uploads waiting for workers take ${stored} bytes (limit ${diskBytes}); try again in ${retryAfterSeconds} s`,
          retryAfterSeconds,
        );
      }
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  /** Bytes under the uploads folder, without the folders of bodies this instance is receiving. */
  private async storedBytes(): Promise<number> {
    const names = await readdir(this.options.uploadsDir).catch(() => [] as string[]);
    let total = 0;
    for (const name of names) {
      if (this.reserved.has(name)) continue;
      total += await treeBytes(join(this.options.uploadsDir, name));
    }
    return total;
  }
}

/** Size of a file, or of every file under a folder (a file removed meanwhile counts 0). */
async function treeBytes(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  const names = await readdir(path).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) total += await treeBytes(join(path, name));
  return total;
}
