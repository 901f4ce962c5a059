import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkFiles } from './check-files.js';
import { checkSpaces } from './check-spaces.js';
import { compareSignature, graphSignatures } from './graph-signatures.js';
import { readManifest, referencedFiles } from './load-pack.js';
import type { PackProblem } from './pack-error.js';
import type { PackManifest } from './manifest-schema.js';
import { resolvePackSettings } from './pack-settings.js';
import { checkSessionOptions, providerOf, sessionFailureMessage } from './session-providers.js';

export interface CheckPackOptions {
  /** Hash every file listed in `files` (default true; seconds per GB). */
  verifyChecksums?: boolean;
  /** Open every ONNX file with onnxruntime-node and compare its signature (default true). */
  openSessions?: boolean;
  /** Options for those sessions (default: 1 thread, no memory arena: they are closed at once). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface PackReport {
  /** Absolute path of the pack folder. */
  dir: string;
  ok: boolean;
  problems: PackProblem[];
  /** The manifest, when it could be read and validated. */
  manifest?: PackManifest;
  /** What was looked at. */
  checked: { files: number; checksums: boolean; sessions: number };
}

/**
 * Checks a model pack against its manifest and reports every problem, each with a stable code
 * and the field or file it concerns (see PackProblemCode). Never throws for a bad pack.
 * Order: manifest (missing, JSON, format, schema, defaults) -> files and checksums -> spaces
 * -> ONNX signatures. A manifest that cannot be read stops the check there.
 */
export async function checkPack(dir: string, options: CheckPackOptions = {}): Promise<PackReport> {
  const absolute = resolve(dir);
  const verifyChecksums = options.verifyChecksums ?? true;
  const openSessions = options.openSessions ?? true;
  const checked = { files: 0, checksums: verifyChecksums, sessions: 0 };
  const read = await readManifest(absolute);
  if (!read.ok) return { dir: absolute, ok: false, problems: read.problems, checked };
  const { manifest } = read;

  const problems: PackProblem[] = [];
  const settings = resolvePackSettings(manifest);
  if (!settings.ok) problems.push(...settings.problems);
  const refs = referencedFiles(manifest, absolute);
  checked.files = new Set([...refs.map((r) => r.path), ...Object.keys(manifest.files)]).size;
  problems.push(...(await checkFiles(absolute, manifest, refs, verifyChecksums)));
  problems.push(...checkSpaces(manifest));

  if (openSessions) {
    const sessionOptions: ort.InferenceSession.SessionOptions = options.sessionOptions ?? checkSessionOptions('cpu');
    for (const signature of graphSignatures(manifest)) {
      const path = resolve(absolute, signature.file);
      if (!existsSync(path)) continue; // reported as PACK_FILE_MISSING
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(path, sessionOptions);
      } catch (error) {
        problems.push({ code: 'PACK_SESSION_FAILED', where: signature.file, message: `onnxruntime could not open ${signature.file} (${signature.part}): ${sessionFailureMessage(error, providerOf(sessionOptions))}` });
        continue;
      }
      checked.sessions++;
      try {
        problems.push(...compareSignature(session, signature));
      } finally {
        await session.release();
      }
    }
  }
  return { dir: absolute, ok: problems.length === 0, problems, manifest, checked };
}
