import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMAT_MIME_TYPES, resultKey, type GeneratedImage, type ImageFormat, type ImageLink } from '@a2i/protocol';
import { writeResults, type DescribeImage } from '@a2i/pipeline';
import { putFile, type ObjectStore } from '@a2i/storage';

/**
 * Results written so that two runs of one job (a worker that lost its lock kept running while
 * another took the job over) cannot spoil each other's files. The caller checks, just before,
 * that its attempt is still the job's current one, then records the success fenced to its
 * attempt (JobStateStore.succeeded); when that is refused it calls `remove()`, which removes
 * only what this attempt placed.
 *
 * In a directory (FileStore), results keep the layout `<results>/<id>/<index>.<ext>`:
 * 1. each attempt writes into a staging folder of its own (`<results>/.staging-<id>-<attempt>-<random>/<id>/`);
 * 2. the whole folder is renamed into place (`<results>/<id>`) in one step, replacing a folder
 *    an earlier attempt left without recording it;
 * 3. `remove()` removes the placed folder only if it is still its own (same inode).
 * A staging folder left by a dying worker is an entry of the results folder like any other:
 * the sweeper removes it after the result TTL.
 *
 * In object storage (S3Store), which has no rename, each attempt writes under a folder of its
 * own, `<id>/<attempt>/<index>.<ext>` (resultKey), and the job's state says which attempt
 * succeeded (`attempt`): readers go by it, so two attempts' images are never mixed, and
 * `remove()` deletes this attempt's folder (another attempt's success names its own). The
 * images are encoded into a local temporary folder and streamed up one PUT each.
 */
export interface PlacedResults {
  images: ImageLink[];
  /** Removes what this attempt placed, and nothing another attempt placed. */
  remove(): Promise<void>;
}

export async function placeAttemptResults(
  results: ObjectStore,
  id: string,
  attempt: number,
  generated: GeneratedImage[],
  format: ImageFormat,
  /** Text chunks of each PNG (writeResults). */
  describe?: DescribeImage,
): Promise<PlacedResults> {
  return results.kind === 'file' ? placeInDirectory(results.root, id, attempt, generated, format, describe) : placeUnderAttempt(results, id, attempt, generated, format, describe);
}

async function placeInDirectory(resultsDir: string, id: string, attempt: number, generated: GeneratedImage[], format: ImageFormat, describe?: DescribeImage): Promise<PlacedResults> {
  const staging = join(resultsDir, `.staging-${id}-${attempt}-${randomBytes(4).toString('hex')}`);
  const dir = join(resultsDir, id);
  try {
    const images = await writeResults(staging, id, generated, format, describe);
    try {
      await rename(join(staging, id), dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // An earlier attempt's folder (never recorded): set it aside, take its place, then drop it.
      const aside = `${staging}-replaced`;
      await rename(dir, aside);
      await rename(join(staging, id), dir);
      await rm(aside, { recursive: true, force: true });
    }
    const inode = (await stat(dir)).ino;
    return {
      images,
      async remove() {
        const now = await stat(dir).catch(() => null);
        if (now?.ino === inode) await rm(dir, { recursive: true, force: true });
      },
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function placeUnderAttempt(results: ObjectStore, id: string, attempt: number, generated: GeneratedImage[], format: ImageFormat, describe?: DescribeImage): Promise<PlacedResults> {
  const staging = await mkdtemp(join(tmpdir(), 'a2i-results-'));
  const folder = `${id}/${attempt}/`;
  try {
    const images = await writeResults(staging, id, generated, format, describe);
    try {
      await Promise.all(images.map((image) => putFile(results, resultKey(id, image.index, format, attempt), join(staging, resultKey(id, image.index, format)), { contentType: FORMAT_MIME_TYPES[format] })));
    } catch (error) {
      await results.deletePrefix(folder).catch(() => undefined);
      throw error;
    }
    return { images, remove: () => results.deletePrefix(folder) };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
