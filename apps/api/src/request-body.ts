import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import { ERROR_CODES, type UploadedFiles } from '@a2i/protocol';
import { putFile, type ObjectStore } from '@a2i/storage';
import { ApiError } from './api-error.js';
import { bodyCutoff, type UploadBudget } from './upload-limits.js';

/**
 * The body of a POST that may carry files, and the one owner of its upload folder.
 *
 * An upload folder is `<uploads>/<jobId>/`: it is named after the BullMQ job that will own it
 * (`<id>` on the generations queue, `embed-<id>` on the embeddings queue), so anyone can tell
 * from the name alone which job it belongs to. Its life has three owners, one at a time:
 *
 * 1. Request phase: `readBody` creates the folder and the request owns it. Every refusal
 *    (a malformed body, a limit, invalid JSON or request, an upload refused before decoding,
 *    a full queue, a Redis error) ends in `dispose()`, called in the route's `finally`, which
 *    removes it.
 * 2. Enqueued: the moment `queue.add` resolves, the service calls `files.handOver()`. The job
 *    owns the folder (its data names it: `uploadDir`) and `dispose()` leaves it alone. The
 *    worker removes it when BullMQ has recorded a final state (completed; failed with no retry
 *    left, which covers refused input and cancels), or, for a generation, as soon as its success
 *    is recorded (no later run reads it then), never before: a retry after a failed recording
 *    still finds its files (apps/worker/src/upload-cleanup.ts, generation-processor.ts).
 *    A job the api takes back out of the queue before any worker holds it comes back to the
 *    api with its folder: a canceled waiting job (`removeJobUploads`), an embedding that timed
 *    out while waiting (`files.reclaim()`, then `dispose()` removes it).
 * 3. Left behind (a process died between two of these steps): the worker's sweeper removes a
 *    folder older than a grace period whose job BullMQ reports finished or does not know, never
 *    one of a waiting, delayed or active job (apps/worker/src/result-sweeper.ts).
 *
 * With object storage (A2I_STORAGE=s3://...) the body is received the same way, into the local
 * folder (A2I_UPLOADS_DIR, the spool), and checked there (the decoders and ffprobe read a
 * path); once the request is valid and its files decode, `publish` streams each file up as
 * `<jobId>/part-<n>` (one PUT each, never whole in memory) and the job's data names the
 * objects (s3:// locations). The local copy goes with the request whatever happens; the
 * objects follow the three steps above: the request's until handOver (dispose deletes them),
 * then the job's. With the default directory, the spool is the uploads folder itself: nothing
 * moves and `publish` changes nothing.
 */

export interface UploadLimits {
  /** Bytes per file. */
  fileBytes: number;
  /** Files per request. */
  files: number;
  /** Bytes per text field (the `request` JSON). */
  fieldBytes: number;
}

/** Files a request brought, bound to the job they are for. */
export interface ReceivedUploads extends UploadedFiles {
  /** The job's upload folder as job data names it: its path, or its location in object storage. */
  readonly uploadDir: string;
  /** The id the job taking these files must be added under (the folder's name). */
  readonly jobId: string;
  /** The job is in the queue: from now on it owns the folder, and `dispose()` leaves it. */
  handOver(): void;
  /** The job was taken back out of the queue before a worker held it: the folder is the request's again. */
  reclaim(): void;
  /**
   * Puts the files where workers read them (object storage: one streamed PUT each; a directory:
   * already there) and returns `items` with each `file` (a path of `byPart`) as its location there.
   * Called once the request is known good, before its job is queued.
   */
  publish<T extends { file?: string | undefined }>(items: T[]): Promise<T[]>;
}

export interface RequestBody {
  /** The request: the JSON body, or the JSON in the `request` field of a multipart body. */
  body: unknown;
  /** The uploaded files, when the body is multipart and has any. */
  files: ReceivedUploads | undefined;
  /** Removes the upload folder unless a job owns it; safe to call more than once. */
  dispose(): Promise<void>;
}

/** Reads one request's body; its files go to `<uploads>/<jobId>/`. */
export type ReadBody = (req: Request, res: Response, jobId: string) => Promise<RequestBody>;

/**
 * Reads the body as `jobId`'s, hands it to `use`, then disposes of it: whatever `use` did not
 * hand over to a queued job (files.handOver) goes with the request.
 */
export async function withRequestBody<T>(readBody: ReadBody, req: Request, res: Response, jobId: string, use: (received: RequestBody) => Promise<T>): Promise<T> {
  const received = await readBody(req, res, jobId);
  try {
    return await use(received);
  } finally {
    await received.dispose();
  }
}

const NOTHING_TO_DISPOSE = async () => undefined;
const TOO_LARGE = new Set(['LIMIT_FILE_SIZE', 'LIMIT_FILE_COUNT', 'LIMIT_FIELD_VALUE', 'LIMIT_FIELD_COUNT', 'LIMIT_PART_COUNT', 'LIMIT_FIELD_KEY']);

/**
 * The one reader of POST bodies that may carry files (POST /v1/generations, /v1/embeddings):
 * - application/json: the body express.json() parsed;
 * - multipart/form-data: a `request` field holding the JSON, and file parts streamed to disk
 *   by multer (busboy underneath), never whole in memory, every limit enforced while
 *   streaming (413 UPLOAD_TOO_LARGE), stored as `part-<n>`, never under the client's name;
 * - anything else: 415 UNSUPPORTED_CONTENT_TYPE.
 * A refusal while reading removes what was stored before it is thrown.
 */
export function createBodyReader(options: {
  /** The local folder bodies are received into (`<spoolDir>/<jobId>/part-<n>`). */
  spoolDir: string;
  /** Where job uploads live: the spool folder itself, or object storage. */
  uploads: ObjectStore;
  limits: UploadLimits;
  budget?: UploadBudget;
}): ReadBody {
  const { spoolDir, uploads, limits } = options;
  return async (req, res, jobId) => {
    if (req.is('multipart/form-data') === 'multipart/form-data') {
      // too slow a body is cut off (upload-limits.ts): its reading stops at once
      const cutoff = bodyCutoff(req);
      if (cutoff?.aborted) throw cutoff.reason;
      // room in the caps on upload bytes in flight and on disk, before a byte is stored (upload-limits.ts)
      const release = (await options.budget?.admit(req, jobId)) ?? (() => undefined);
      const dir = join(spoolDir, jobId);
      const removeDir = () => rm(dir, { recursive: true, force: true });
      // a directory store whose folder is the spool: the files are already where workers read them
      const inPlace = uploads.localPath(jobId) === dir;
      let received: { body: unknown; files: Map<string, string> };
      try {
        const multipart = await receiveMultipart(req, res, dir, limits, cutoff);
        received = { body: requestField(multipart.fields), files: multipart.files };
      } catch (error) {
        await removeDir();
        throw error;
      } finally {
        release();
      }
      const { body } = received;
      if (received.files.size === 0) {
        await removeDir();
        return { body, files: undefined, dispose: NOTHING_TO_DISPOSE };
      }
      let owned = true;
      let published = false;
      const files: ReceivedUploads = {
        byPart: received.files,
        uploadDir: uploads.locationOf(jobId),
        jobId,
        handOver: () => void (owned = false),
        reclaim: () => void (owned = true),
        publish: async (items) => {
          if (inPlace) return items;
          published = true;
          const locations = new Map<string, string>();
          await Promise.all(
            [...received.files.values()].map(async (path) => {
              const key = `${jobId}/${basename(path)}`;
              await putFile(uploads, key, path);
              locations.set(path, uploads.locationOf(key));
            }),
          );
          return items.map((item) => (item.file !== undefined && locations.has(item.file) ? { ...item, file: locations.get(item.file)! } : item));
        },
      };
      return {
        body,
        files,
        dispose: async () => {
          if (inPlace) {
            if (owned) await removeDir();
            return;
          }
          await removeDir();
          // objects a failed storage call left are the sweeper's (a folder no job owns)
          if (owned && published) await uploads.deletePrefix(`${jobId}/`).catch(() => undefined);
        },
      };
    }
    if (req.is('application/json')) return { body: req.body as unknown, files: undefined, dispose: NOTHING_TO_DISPOSE };
    throw new ApiError(ERROR_CODES.UNSUPPORTED_CONTENT_TYPE, 'Expected application/json or multipart/form-data');
  };
}

/**
 * Removes the uploads of a job the api took out of the queue before any worker held it
 * (ownership step 2 above). `jobId` must already be a valid job id (no path separators).
 */
export async function removeJobUploads(uploads: ObjectStore, jobId: string): Promise<void> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(jobId)) throw new TypeError(`Expected a job id for jobId but received ${JSON.stringify(jobId)}`);
  await uploads.deletePrefix(`${jobId}/`);
}

/** Streams a multipart body into `dir`; throws ApiError (413 or 400) and leaves `dir` to the caller. */
async function receiveMultipart(req: Request, res: Response, dir: string, limits: UploadLimits, cutoff?: AbortSignal) {
  await mkdir(dir, { recursive: true });
  let count = 0;
  const upload = multer({
    storage: multer.diskStorage({
      destination: dir,
      filename: (_req, _file, done) => done(null, `part-${count++}`),
    }),
    limits: { fileSize: limits.fileBytes, files: limits.files, fieldSize: limits.fieldBytes, fields: 16, parts: limits.files + 16 },
  }).any();
  try {
    const read = new Promise<void>((resolve, reject) => upload(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
    if (cutoff) {
      // cut off: stop here (multer finishes on its own once the connection closes)
      read.catch(() => undefined);
      await Promise.race([read, new Promise<never>((_resolve, reject) => cutoff.addEventListener('abort', () => reject(cutoff.reason), { once: true }))]);
    } else {
      await read;
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof MulterError && TOO_LARGE.has(error.code)) {
      throw new ApiError(ERROR_CODES.UPLOAD_TOO_LARGE, describeLimit(error, limits));
    }
    throw new ApiError(ERROR_CODES.INVALID_REQUEST, `Expected a well-formed multipart body but ${(error as Error).message}`);
  }
  const files = new Map<string, string>();
  for (const file of (req.files as Express.Multer.File[] | undefined) ?? []) {
    if (files.has(file.fieldname)) {
      throw new ApiError(ERROR_CODES.INVALID_REQUEST, `Expected one file per part name but "${file.fieldname}" appears twice`);
    }
    files.set(file.fieldname, file.path);
  }
  return { fields: { ...(req.body as Record<string, string>) }, files };
}

/** The `request` field of a multipart body, parsed as JSON. */
function requestField(fields: Record<string, string>): unknown {
  const raw = fields.request;
  if (raw === undefined) throw new ApiError(ERROR_CODES.INVALID_REQUEST, 'Expected a "request" field holding the JSON request in the multipart body');
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(ERROR_CODES.INVALID_JSON, 'Expected JSON in the "request" field');
  }
}

function describeLimit(error: MulterError, limits: UploadLimits): string {
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return `Expected each file to be at most ${limits.fileBytes} bytes but "${error.field}" is larger`;
    case 'LIMIT_FILE_COUNT':
      return `Expected at most ${limits.files} files`;
    case 'LIMIT_FIELD_VALUE':
      return `Expected each field to be at most ${limits.fieldBytes} bytes but "${error.field}" is larger`;
    default:
      return `The multipart body is over a limit (${error.message})`;
  }
}
