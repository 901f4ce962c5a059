import { open, type FileHandle } from 'node:fs/promises';

/**
 * An upload read in parts: its size, its first bytes, its last bytes, or (for the formats that
 * need a scan) all of it. Works on a path (the API's multer uploads folder: only what is asked
 * for is read) or on bytes already in memory.
 */
export interface UploadFile {
  size: number;
  /** The path on disk, when the upload came as one (ffprobe reads it there). */
  path: string | undefined;
  /** The first `length` bytes (fewer when the file is shorter). */
  readHead(length: number): Promise<Uint8Array>;
  /** The last `length` bytes (fewer when the file is shorter). */
  readTail(length: number): Promise<Uint8Array>;
  readAll(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openUpload(file: string | Uint8Array): Promise<UploadFile> {
  if (file instanceof Uint8Array) {
    return {
      size: file.length,
      path: undefined,
      readHead: async (length) => file.subarray(0, length),
      readTail: async (length) => file.subarray(Math.max(0, file.length - length)),
      readAll: async () => file,
      close: async () => {},
    };
  }
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`Expected a file path or a Uint8Array for file but received ${file === '' ? 'an empty string' : typeof file}`);
  }
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    return {
      size,
      path: file,
      readHead: (length) => readRange(handle, 0, Math.min(length, size)),
      readTail: (length) => readRange(handle, Math.max(0, size - length), Math.min(length, size)),
      readAll: () => readRange(handle, 0, size),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function readRange(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
