import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed tiny pack (fixtures/make_tiny_pack.py): a complete pack of fixed-arithmetic graphs. */
export const TINY_PACK = fileURLToPath(new URL('./fixtures/tiny-pack', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/**
 * A copy of the tiny pack in a fresh temp folder, its manifest changed by `edit` (written in
 * TypeScript: no Python at test time). Returns the folder and a cleanup.
 */
export function tinyPackCopy(edit: (manifest: Json, dir: string) => void = () => {}): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'a2i-pack-'));
  cpSync(TINY_PACK, dir, { recursive: true });
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Json;
  edit(manifest, dir);
  writeFileSync(path, JSON.stringify(manifest, null, 1));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
