import { rm } from 'node:fs/promises';
import { relative, resolve, isAbsolute } from 'node:path';

/**
 * Removes a finished job's upload folder, but only one inside the uploads root: the path
 * comes from job data, and job data is input.
 */
export async function removeUploadDir(uploadsRoot: string, uploadDir: string | undefined): Promise<void> {
  if (uploadDir === undefined) return;
  const inside = relative(resolve(uploadsRoot), resolve(uploadDir));
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return;
  await rm(uploadDir, { recursive: true, force: true });
}
