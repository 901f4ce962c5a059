import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { PackError, type PackProblem } from './pack-error.js';
import { PACK_FORMAT, packManifestSchema, type PackManifest } from './manifest-schema.js';
import { resolvePackSettings, type PackSettings } from './pack-settings.js';

export const MANIFEST_FILE = 'manifest.json';

/** A file a manifest section names, with where it is named and where it is on disk. */
export interface PackFileRef {
  /** Manifest field naming it, e.g. "encoders.audio.file". */
  where: string;
  /** Pack-relative path as written in the manifest. */
  path: string;
  absolute: string;
}

export interface LoadedPack {
  /** Absolute path of the pack folder. */
  dir: string;
  manifest: PackManifest;
  /** Defaults and limits resolved from `defaults`, `limits` and the decoder / prior sections. */
  settings: PackSettings;
  /** Every file a section names (ONNX models, tokenizer files). */
  files: PackFileRef[];
  /** Absolute path of a pack-relative path (validated by the schema to stay inside the pack). */
  resolve(path: string): string;
}

export type ManifestResult = { ok: true; manifest: PackManifest } | { ok: false; problems: PackProblem[] };

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? 'manifest' : path.map(String).join('.');
}

function describeReceived(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** zod issues -> PACK_MANIFEST_INVALID problems naming each field. */
export function manifestProblems(error: z.ZodError, raw: unknown): PackProblem[] {
  return error.issues.map((issue) => {
    const where = issuePath(issue.path);
    let value: unknown = raw;
    for (const key of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    // zod: "Invalid input: expected number, received undefined" -> "Expected number"
    const message = issue.message.replace(/^Invalid input: expected /, 'Expected ').replace(/, received \S+$/, '');
    return { code: 'PACK_MANIFEST_INVALID', where, message: `${where}: ${message} but received ${describeReceived(value)}` };
  });
}

/** Reads and validates `<dir>/manifest.json`; never throws for a bad pack (problems instead). */
export async function readManifest(dir: string): Promise<ManifestResult> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      problems: [{
        code: missing ? 'PACK_MANIFEST_MISSING' : 'PACK_MANIFEST_INVALID',
        where: MANIFEST_FILE,
        message: missing ? `No ${MANIFEST_FILE} in ${dir}: is this a model pack folder?` : `Could not read ${path}: ${(error as Error).message}`,
      }],
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [{ code: 'PACK_MANIFEST_INVALID', where: MANIFEST_FILE, message: `${MANIFEST_FILE} is not JSON: ${(error as Error).message}` }] };
  }
  const format = raw !== null && typeof raw === 'object' ? (raw as { format?: unknown }).format : undefined;
  if (format !== PACK_FORMAT) {
    return {
      ok: false,
      problems: [{ code: 'PACK_FORMAT_UNKNOWN', where: 'format', message: `Expected format "${PACK_FORMAT}" but received ${describeReceived(format)}` }],
    };
  }
  const parsed = packManifestSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: manifestProblems(parsed.error, raw) };
  return { ok: true, manifest: parsed.data };
}

/** Every file the manifest's sections name, in a stable order. */
export function referencedFiles(manifest: PackManifest, dir: string): PackFileRef[] {
  const refs: PackFileRef[] = [];
  const add = (where: string, path: string) => refs.push({ where, path, absolute: resolve(dir, path) });
  const entries: Array<[string, { file?: string | undefined; preprocess: object } | undefined]> = Object.entries(manifest.encoders).map(([modality, encoder]) => [`encoders.${modality}`, encoder]);
  if (manifest.promptEncoder) entries.push(['promptEncoder', manifest.promptEncoder]);
  for (const [where, entry] of entries) {
    if (entry?.file !== undefined) add(`${where}.file`, entry.file);
    const tokenizer = (entry?.preprocess as { tokenizer?: Record<string, unknown> } | undefined)?.tokenizer;
    for (const key of ['vocab', 'merges'] as const) {
      if (typeof tokenizer?.[key] === 'string') add(`${where}.preprocess.tokenizer.${key}`, tokenizer[key]);
    }
  }
  if (manifest.decoder) {
    add('decoder.unet.file', manifest.decoder.unet.file);
    add('decoder.vae.file', manifest.decoder.vae.file);
  }
  if (manifest.prior) add('prior.file', manifest.prior.file);
  return refs;
}

/**
 * Loads a pack's manifest with absolute paths. Throws PackError (with every problem found)
 * when the manifest is missing, not JSON, of an unknown format or invalid. It does not read
 * the model files: `checkPack` does that.
 */
export async function loadPack(dir: string): Promise<LoadedPack> {
  const absolute = resolve(dir);
  const result = await readManifest(absolute);
  if (!result.ok) throw new PackError(absolute, result.problems);
  const { manifest } = result;
  const settings = resolvePackSettings(manifest);
  if (!settings.ok) throw new PackError(absolute, settings.problems);
  return {
    dir: absolute,
    manifest,
    settings: settings.settings,
    files: referencedFiles(manifest, absolute),
    resolve: (path: string) => resolve(absolute, path),
  };
}
