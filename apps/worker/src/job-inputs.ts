import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, ERROR_CODES } from '@a2i/protocol/errors';
import { fetchToFile, type ObjectStore } from '@a2i/storage';

/** A job's inputs with every `file` a local path the decoders can open, and how to let the copies go. */
export interface LocalInputs<T> {
  items: T[];
  /** Removes the local copies (none for a directory store); safe to call more than once. */
  release(): Promise<void>;
}

const NOTHING_TO_RELEASE = async () => undefined;

/**
 * The files a job's data names, where its decoders can read them (ffprobe and sharp take a
 * path): in a directory store a file is read where it is (the job data holds its path, as
 * before object storage); from object storage each object is streamed into a folder of this
 * run's own under `scratchDir` (`.fetch-<label>-<random>`), which `release()` removes (a dying
 * worker's folder is the sweeper's: an entry of the local uploads folder no job owns).
 * A location outside the uploads store is refused (INVALID_JOB: job data is input), a missing
 * object is UPLOAD_MISSING.
 */
export async function localInputs<T extends { file?: string | undefined }>(items: T[], uploads: ObjectStore, scratchDir: string, label: string): Promise<LocalInputs<T>> {
  if (uploads.kind === 'file' || !items.some((item) => item.file !== undefined)) return { items, release: NOTHING_TO_RELEASE };
  const folder = join(scratchDir, `.fetch-${label}-${randomBytes(4).toString('hex')}`);
  const release = () => rm(folder, { recursive: true, force: true });
  const fetched = new Map<string, string>();
  try {
    await mkdir(folder, { recursive: true });
    const localItems: T[] = [];
    for (const item of items) {
      if (item.file === undefined) {
        localItems.push(item);
        continue;
      }
      let path = fetched.get(item.file);
      if (path === undefined) {
        const key = uploads.keyOf(item.file);
        if (key === null) throw new CodedError(ERROR_CODES.INVALID_JOB, `Expected an upload under ${uploads.root} but the job names ${JSON.stringify(item.file)}`);
        path = join(folder, `${fetched.size}-${key.split('/').pop()}`);
        if (!(await fetchToFile(uploads, key, path))) throw new CodedError(ERROR_CODES.UPLOAD_MISSING, `The upload ${item.file} is no longer in storage`);
        fetched.set(item.file, path);
      }
      localItems.push({ ...item, file: path });
    }
    return { items: localItems, release };
  } catch (error) {
    await release();
    throw error;
  }
}
