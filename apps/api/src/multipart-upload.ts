import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';

export interface UploadLimits {
  fileBytes: number;
  files: number;
  fieldBytes: number;
}

export interface ReceivedMultipart {
  /** Text fields by name (the last one wins). */
  fields: Record<string, string>;
  /** File part name -> path on disk. */
  files: Map<string, string>;
  dir: string;
}

const TOO_LARGE = new Set(['LIMIT_FILE_SIZE', 'LIMIT_FILE_COUNT', 'LIMIT_FIELD_VALUE', 'LIMIT_FIELD_COUNT', 'LIMIT_PART_COUNT', 'LIMIT_FIELD_KEY']);

/**
 * Streams a multipart body to `<uploadsDir>/<jobId>/` with multer (busboy underneath): files
 * go to disk as they arrive, never whole in memory, and every limit is enforced while
 * streaming. Any failure removes the folder; limits answer 413 UPLOAD_TOO_LARGE.
 * Files are stored under generated names (`part-<n>`), never under the client's file name.
 */
export async function receiveMultipart(req: Request, res: Response, uploadsDir: string, jobId: string, limits: UploadLimits): Promise<ReceivedMultipart> {
  const dir = join(uploadsDir, jobId);
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
    await new Promise<void>((resolve, reject) => upload(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof MulterError && TOO_LARGE.has(error.code)) {
      throw new ApiError(ERROR_CODES.UPLOAD_TOO_LARGE, describeLimit(error, limits));
    }
    throw new ApiError(ERROR_CODES.INVALID_REQUEST, `Expected a well-formed multipart body but ${(error as Error).message}`);
  }
  const files = new Map<string, string>();
  for (const file of (req.files as Express.Multer.File[] | undefined) ?? []) {
    if (files.has(file.fieldname)) {
      await rm(dir, { recursive: true, force: true });
      throw new ApiError(ERROR_CODES.INVALID_REQUEST, `Expected one file per part name but "${file.fieldname}" appears twice`);
    }
    files.set(file.fieldname, file.path);
  }
  return { fields: { ...(req.body as Record<string, string>) }, files, dir };
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
