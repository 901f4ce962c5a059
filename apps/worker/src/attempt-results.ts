import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeneratedImage, ImageFormat, ImageLink } from '@a2i/protocol';
import { writeResults, type DescribeImage } from '@a2i/pipeline';

/**
 * Results written so that two runs of one job (a worker that lost its lock kept running while
 * another took the job over) cannot spoil each other's files:
 * 1. each attempt writes into a staging folder of its own (`<results>/.staging-<id>-<attempt>-<random>/<id>/`);
 * 2. the whole folder is renamed into place (`<results>/<id>`) in one step, replacing a folder
 *    an earlier attempt left without recording it (the caller checks, just before, that its
 *    attempt is still the job's current one);
 * 3. the caller records the success fenced to its attempt (JobStateStore.succeeded), and when
 *    that is refused removes the placed folder only if it is still its own (same inode) and no
 *    other attempt has succeeded with it.
 * A staging folder left by a dying worker is an entry of the results folder like any other:
 * the sweeper removes it after the result TTL.
 */
export interface PlacedResults {
  images: ImageLink[];
  /** `<results>/<id>` */
  dir: string;
  /** Inode of the folder this attempt placed: someone else's folder at the same path differs. */
  inode: number;
}

export async function placeAttemptResults(
  resultsDir: string,
  id: string,
  attempt: number,
  generated: GeneratedImage[],
  format: ImageFormat,
  /** Text chunks of each PNG (writeResults). */
  describe?: DescribeImage,
): Promise<PlacedResults> {
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
    return { images, dir, inode: (await stat(dir)).ino };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Removes the placed folder if it is still the one this attempt put there. */
export async function removePlacedResults(placed: PlacedResults): Promise<void> {
  const now = await stat(placed.dir).catch(() => null);
  if (now?.ino === placed.inode) await rm(placed.dir, { recursive: true, force: true });
}
