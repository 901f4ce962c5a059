import { createGuards } from '@a2i/protocol/guards';
import { CollectionError, expected, type CollectionErrorCode } from './collection-error.js';

/** Collection names: lower-case, URL- and file-name-safe, at most 63 characters. */
export const COLLECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Metadata field names: SQL-identifier-like, so they can become column names safely. */
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Modality names as the model pack spells them (audio, vision, text, depth, thermal, imu, video, ...). */
export const MODALITY_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export const MAX_ID_LENGTH = 512;
export const MAX_OWNER_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 2000;
export const MAX_STRING_VALUE_LENGTH = 4096;

export function checkCollectionName(name: unknown, label = 'collection name'): string {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
    throw expected('INVALID_NAME', 'a name matching [a-z0-9][a-z0-9_-]{0,62}', label, name);
  }
  return name;
}

/** `undefined` and `null` both mean "no owner" (the shared namespace). */
export function checkOwner(owner: unknown): string | null {
  if (owner === undefined || owner === null) return null;
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw expected('INVALID_OWNER', `null or a non-empty string of at most ${MAX_OWNER_LENGTH} characters`, 'owner', owner);
  }
  return owner;
}

export function checkItemId(id: unknown, label: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw expected('INVALID_ITEM', `a non-empty string of at most ${MAX_ID_LENGTH} characters`, label, id);
  }
  return id;
}

/** The shared guards (@a2i/protocol/guards), throwing CollectionErrors. */
const guards = createGuards((code, message) => new CollectionError(code as CollectionErrorCode, message));

export function checkPositiveInteger(value: unknown, label: string, max = Number.MAX_SAFE_INTEGER): number {
  return guards.expectIntegerInRange(value, label, 1, max);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A collection's embedding space: the model pack's name and its dimension. */
export function checkSpace(space: unknown, label: string): { pack: string; dim: number } {
  if (!isPlainObject(space)) throw expected('INVALID_SPACE', 'an object { pack, dim }', label, space);
  if (typeof space.pack !== 'string' || space.pack.length === 0 || space.pack.length > 128) {
    throw expected('INVALID_SPACE', 'a non-empty pack name', `${label}.pack`, space.pack);
  }
  if (typeof space.dim !== 'number' || !Number.isInteger(space.dim) || space.dim < 1 || space.dim > 16_384) {
    throw expected('INVALID_SPACE', 'an integer dimension in 1..16384', `${label}.dim`, space.dim);
  }
  return { pack: space.pack, dim: space.dim };
}
