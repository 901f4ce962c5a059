import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { CollectionInfo } from './collection-types.js';

/**
 * Where items' media (thumbnails) live on disk, under the server's media dir
 * (A2I_COLLECTIONS_MEDIA_DIR). One folder per collection incarnation:
 *
 *   <mediaDir>/<owner tag>/<name>/<createdAt ms>/<sha256(item id)[:32]>.webp
 *
 * so a collection dropped and created again under the same name never shares files with
 * its predecessor, and an item given again (upsert) overwrites its own file. The item's
 * `media.uri` is that path relative to the media dir; `resolveMediaPath` refuses any uri
 * that would leave it.
 */
export function collectionMediaFolder(info: Pick<CollectionInfo, 'name' | 'owner' | 'createdAt'>): string {
  const ownerTag = info.owner === null ? 'shared' : createHash('sha256').update(info.owner).digest('hex').slice(0, 16);
  return join(ownerTag, info.name, String(Date.parse(info.createdAt)));
}

export function itemMediaPath(info: Pick<CollectionInfo, 'name' | 'owner' | 'createdAt'>, itemId: string, extension = 'webp'): string {
  const file = createHash('sha256').update(itemId).digest('hex').slice(0, 32);
  return join(collectionMediaFolder(info), `${file}.${extension}`);
}

/** The absolute path of a media uri, or null when it is not a path inside `mediaDir`. */
export function resolveMediaPath(mediaDir: string, uri: string): string | null {
  if (uri.length === 0 || isAbsolute(uri) || uri.includes('\0')) return null;
  const root = resolve(mediaDir);
  const path = resolve(root, uri);
  const inside = relative(root, path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return null;
  return path;
}
