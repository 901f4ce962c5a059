import type { IncomingMessage } from 'node:http';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';

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
