import { arrow } from './arrow.js';
import { CollectionError, expected } from './collection-error.js';
import { FIELD_NAME, MAX_STRING_VALUE_LENGTH, MODALITY_NAME, checkItemId, isPlainObject } from './guards.js';
import { metadataColumn, type MetadataFieldType } from './metadata-filter.js';
import { unitVector } from './unit-vector.js';

/**
 * Layout of one collection's item table (one LanceDB table per collection):
 *
 *   id          Utf8, not null, the unenforced primary key (so concurrent mergeInserts
 *               of the same new id conflict and retry instead of both inserting)
 *   vector      FixedSizeList<Float32>[dim], not null, unit length
 *   modality    Utf8, not null
 *   media_uri   Utf8, nullable      (a reference to the item's media, never the bytes)
 *   media_type  Utf8, nullable
 *   meta_<f>    Utf8 | Float64 | Int8 (boolean 0/1), nullable: one column per metadata field, added
 *               with addColumns the first time a field appears; NULL = absent.
 */
export type MetadataValue = string | number | boolean;
export interface ItemMedia {
  uri: string;
  mimeType?: string;
}
export interface CollectionItem {
  id: string;
  vector: Float32Array | readonly number[];
  modality: string;
  metadata?: Record<string, MetadataValue>;
  media?: ItemMedia;
}

export const PRIMARY_KEY_METADATA = 'lance-schema:unenforced-primary-key:position';
export const META_PREFIX = 'meta_';
export const BASE_COLUMNS = ['id', 'modality', 'media_uri', 'media_type'] as const;

export function itemTableSchema(dim: number, tableMetadata: Map<string, string>): import('apache-arrow').Schema {
  return new arrow.Schema(
    [
      new arrow.Field('id', new arrow.Utf8(), false, new Map([[PRIMARY_KEY_METADATA, '1']])),
      new arrow.Field('vector', new arrow.FixedSizeList(dim, new arrow.Field('item', new arrow.Float32(), true)), false),
      new arrow.Field('modality', new arrow.Utf8(), false),
      new arrow.Field('media_uri', new arrow.Utf8(), true),
      new arrow.Field('media_type', new arrow.Utf8(), true),
    ],
    tableMetadata,
  );
}

/**
 * Booleans are stored as Int8 0/1, not Arrow Bool: LanceDB 0.31's mergeInsert fails
 * ("Spill has sent an error") when an update batch's Bool column is all null, i.e. when
 * an item that had a boolean field is replaced by one without it.
 */
function arrowTypeOf(type: MetadataFieldType): import('apache-arrow').DataType {
  return type === 'string' ? new arrow.Utf8() : type === 'number' ? new arrow.Float64() : new arrow.Int8();
}

/** Metadata field types present in a table schema (from its meta_ columns). */
export function metadataFieldTypes(schema: import('apache-arrow').Schema): Map<string, MetadataFieldType> {
  const types = new Map<string, MetadataFieldType>();
  for (const field of schema.fields) {
    if (!field.name.startsWith(META_PREFIX)) continue;
    const t = field.type;
    const type: MetadataFieldType | undefined = arrow.DataType.isUtf8(t) ? 'string' : arrow.DataType.isFloat(t) ? 'number' : arrow.DataType.isInt(t) ? 'boolean' : undefined;
    if (type !== undefined) types.set(field.name.slice(META_PREFIX.length), type);
  }
  return types;
}

export function newMetadataFields(fields: ReadonlyMap<string, MetadataFieldType>): import('apache-arrow').Field[] {
  return [...fields].map(([name, type]) => new arrow.Field(metadataColumn(name), arrowTypeOf(type), true));
}

/** A validated, normalised item ready to be written. */
export interface PreparedItem {
  id: string;
  vector: Float32Array;
  modality: string;
  metadata: Map<string, MetadataValue>;
  mediaUri: string | null;
  mediaType: string | null;
}

/**
 * Validates items (in order; the first problem is reported with its index), normalises
 * the vectors and keeps the last occurrence of a repeated id (mergeInsert would insert
 * both copies of an id that appears twice in one batch).
 * Returns the items and the metadata field types they use.
 */
export function prepareItems(items: unknown, dim: number): { items: PreparedItem[]; fieldTypes: Map<string, MetadataFieldType> } {
  if (!Array.isArray(items)) throw expected('INVALID_ITEM', 'an array of items', 'items', items);
  const byId = new Map<string, PreparedItem>();
  const fieldTypes = new Map<string, MetadataFieldType>();
  items.forEach((raw: unknown, i) => {
    const label = `items[${i}]`;
    if (!isPlainObject(raw)) throw expected('INVALID_ITEM', 'an object', label, raw);
    const id = checkItemId(raw.id, `${label}.id`);
    if (typeof raw.modality !== 'string' || !MODALITY_NAME.test(raw.modality)) {
      throw expected('INVALID_ITEM', 'a modality name matching [a-z][a-z0-9_-]{0,31}', `${label}.modality`, raw.modality);
    }
    const vector = unitVector(raw.vector, dim, `${label}.vector`);
    const metadata = new Map<string, MetadataValue>();
    if (raw.metadata !== undefined) {
      if (!isPlainObject(raw.metadata)) throw expected('INVALID_METADATA', 'an object of field values', `${label}.metadata`, raw.metadata);
      for (const [field, value] of Object.entries(raw.metadata)) {
        const fieldLabel = `${label}.metadata.${field}`;
        if (!FIELD_NAME.test(field)) throw expected('INVALID_METADATA', 'a field name matching [A-Za-z_][A-Za-z0-9_]{0,63}', `${label}.metadata field`, field);
        const type = metadataTypeOf(value, fieldLabel);
        const known = fieldTypes.get(field);
        if (known !== undefined && known !== type) throw expected('INVALID_METADATA', `a ${known} (as in the other items of this batch)`, fieldLabel, value);
        fieldTypes.set(field, type);
        metadata.set(field, value as MetadataValue);
      }
    }
    let mediaUri: string | null = null;
    let mediaType: string | null = null;
    if (raw.media !== undefined) {
      const media = raw.media;
      if (!isPlainObject(media) || typeof media.uri !== 'string' || media.uri.length === 0 || media.uri.length > 2048) {
        throw expected('INVALID_ITEM', 'an object { uri: non-empty string, mimeType?: string }', `${label}.media`, media);
      }
      if (media.mimeType !== undefined && (typeof media.mimeType !== 'string' || media.mimeType.length > 255)) {
        throw expected('INVALID_ITEM', 'a string of at most 255 characters', `${label}.media.mimeType`, media.mimeType);
      }
      mediaUri = media.uri;
      mediaType = (media.mimeType as string | undefined) ?? null;
    }
    byId.delete(id); // keep the position of the last occurrence
    byId.set(id, { id, vector, modality: raw.modality, metadata, mediaUri, mediaType });
  });
  return { items: [...byId.values()], fieldTypes };
}

function metadataTypeOf(value: unknown, label: string): MetadataFieldType {
  if (typeof value === 'string') {
    if (value.length > MAX_STRING_VALUE_LENGTH) throw expected('INVALID_METADATA', `a string of at most ${MAX_STRING_VALUE_LENGTH} characters`, label, value);
    return 'string';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw expected('INVALID_METADATA', 'a finite number', label, value);
    return 'number';
  }
  if (typeof value === 'boolean') return 'boolean';
  throw expected('INVALID_METADATA', 'a string, number or boolean', label, value);
}

/** Refuses a batch whose metadata types disagree with the collection's existing columns. */
export function checkFieldTypesAgainst(batch: ReadonlyMap<string, MetadataFieldType>, existing: ReadonlyMap<string, MetadataFieldType>): Map<string, MetadataFieldType> {
  const added = new Map<string, MetadataFieldType>();
  for (const [field, type] of batch) {
    const known = existing.get(field);
    if (known === undefined) added.set(field, type);
    else if (known !== type) {
      throw new CollectionError('INVALID_METADATA', `Expected a ${known} (the collection's type for this field) for metadata field ${field} but received a ${type}`);
    }
  }
  return added;
}

/**
 * Builds an Arrow table with exactly the columns of `schema` (the table's current
 * schema), so a replaced item loses metadata fields it no longer has (NULL).
 */
export function itemsToArrow(items: readonly PreparedItem[], schema: import('apache-arrow').Schema, dim: number): import('apache-arrow').Table {
  const n = items.length;
  const children: import('apache-arrow').Data[] = [];
  for (const field of schema.fields) {
    children.push(columnData(field, items, n, dim));
  }
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}

function columnData(field: import('apache-arrow').Field, items: readonly PreparedItem[], n: number, dim: number): import('apache-arrow').Data {
  switch (field.name) {
    case 'id':
      return arrow.vectorFromArray(items.map((x) => x.id), new arrow.Utf8()).data[0]!;
    case 'modality':
      return arrow.vectorFromArray(items.map((x) => x.modality), new arrow.Utf8()).data[0]!;
    case 'media_uri':
      return arrow.vectorFromArray(items.map((x) => x.mediaUri), new arrow.Utf8()).data[0]!;
    case 'media_type':
      return arrow.vectorFromArray(items.map((x) => x.mediaType), new arrow.Utf8()).data[0]!;
    case 'vector': {
      // vector: [n, dim] packed row-major into one Float32Array
      const flat = new Float32Array(n * dim);
      items.forEach((x, i) => flat.set(x.vector, i * dim));
      const listType = field.type as import('apache-arrow').FixedSizeList;
      const child = arrow.makeData({ type: listType.children[0]!.type as import('apache-arrow').Float32, length: n * dim, nullCount: 0, data: flat });
      return arrow.makeData({ type: listType, length: n, nullCount: 0, child });
    }
    default: {
      if (!field.name.startsWith(META_PREFIX)) {
        throw new CollectionError('STORAGE_FAILURE', `Unexpected column ${field.name} in the item table`);
      }
      const key = field.name.slice(META_PREFIX.length);
      const values = items.map((x) => x.metadata.get(key) ?? null);
      if (arrow.DataType.isInt(field.type)) return arrow.vectorFromArray(values.map((v) => (v === null ? null : v ? 1 : 0)), new arrow.Int8()).data[0]!;
      return arrow.vectorFromArray(values, field.type).data[0]!;
    }
  }
}

/** The metadata of a stored row, from its meta_<field> columns. */
export function readMetadata(r: Record<string, unknown>, fieldTypes: ReadonlyMap<string, MetadataFieldType>): Record<string, MetadataValue> {
  const metadata: Record<string, MetadataValue> = {};
  for (const [field, type] of fieldTypes) {
    const value = r[META_PREFIX + field];
    if (value === null || value === undefined) continue;
    metadata[field] = type === 'boolean' ? Number(value) === 1 : type === 'number' ? Number(value) : String(value);
  }
  return metadata;
}

/** The media reference of a stored row, if it has one. */
export function readMedia(r: Record<string, unknown>): ItemMedia | null {
  if (r.media_uri === null || r.media_uri === undefined) return null;
  return r.media_type === null || r.media_type === undefined ? { uri: String(r.media_uri) } : { uri: String(r.media_uri), mimeType: String(r.media_type) };
}

