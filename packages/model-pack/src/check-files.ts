import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PackFileRef } from './load-pack.js';
import type { PackProblem } from './pack-error.js';
import type { PackManifest } from './manifest-schema.js';

/** sha256 of a file in lower-case hex, streamed (ONNX files of real packs are gigabytes). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Files against the manifest: every file a section names exists (PACK_FILE_MISSING) and has a
 * checksum in `files` (PACK_FILE_UNLISTED); every file `files` lists exists and, with
 * `verifyChecksums`, has that sha256 (PACK_CHECKSUM_MISMATCH).
 */
export async function checkFiles(dir: string, manifest: PackManifest, refs: readonly PackFileRef[], verifyChecksums: boolean): Promise<PackProblem[]> {
  const problems: PackProblem[] = [];
  const missing = new Set<string>();
  for (const ref of refs) {
    if (!(await isFile(ref.absolute))) {
      missing.add(ref.path);
      problems.push({ code: 'PACK_FILE_MISSING', where: ref.path, message: `${ref.path} (named by ${ref.where}) is not in the pack folder ${dir}` });
    }
    if (!(ref.path in manifest.files)) {
      problems.push({ code: 'PACK_FILE_UNLISTED', where: ref.where, message: `${ref.path} (named by ${ref.where}) has no sha256 in the manifest's files` });
    }
  }
  for (const [path, expected] of Object.entries(manifest.files)) {
    if (missing.has(path)) continue;
    const absolute = resolve(dir, path);
    if (!(await isFile(absolute))) {
      problems.push({ code: 'PACK_FILE_MISSING', where: path, message: `${path} (listed in files) is not in the pack folder ${dir}` });
      continue;
    }
    if (verifyChecksums) {
      const actual = await sha256File(absolute);
      if (actual !== expected) {
        problems.push({ code: 'PACK_CHECKSUM_MISMATCH', where: path, message: `${path} has sha256 ${actual} but the manifest's files says ${expected}: the file was changed or damaged` });
      }
    }
  }
  return problems;
}
