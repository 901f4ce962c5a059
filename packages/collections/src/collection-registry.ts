import type { Connection, Table } from '@lancedb/lancedb';
import { arrow } from './arrow.js';
import { storageFailure } from './collection-error.js';
import { PRIMARY_KEY_METADATA } from './item-columns.js';
import { sqlString } from './metadata-filter.js';

/**
 * The collection registry: one small LanceDB table, `_collections`, beside the item
 * tables, one row per collection:
 *
 *   key          Utf8, primary key: JSON.stringify([owner, name]) (owner null = shared)
 *   name, owner, description, pack, dim, created_at (ISO 8601)
 *   table_name   the item table of this incarnation: c_<owner hash>_<name>_<random>
 *
 * Why a table and not each item table's schema metadata:
 * - list() is one scan of one small table instead of opening every item table (several
 *   object-store requests each on S3), and owner scoping is a `where`;
 * - create is one atomic insert-if-absent (mergeInsert on the primary key): two
 *   processes creating the same name race to one winner, the other gets
 *   COLLECTION_EXISTS (measured: with the unenforced primary key set, the loser's commit
 *   conflicts, is retried and inserts 0 rows; without it both inserted);
 * - drop deletes the row first (one commit: the collection disappears at once), then
 *   the item table. The name never maps to a half-deleted table, and a re-created
 *   collection gets a new table name, so a writer still busy with the dropped
 *   incarnation can never touch the new one.
 * Each item table also carries {name, owner, pack, dim, createdAt} in its schema
 * metadata (`a2i.collection`) so a table found alone can be identified.
 */
export const REGISTRY_TABLE = '_collections';

export interface RegistryRow {
  key: string;
  name: string;
  owner: string | null;
  description: string | null;
  pack: string;
  dim: number;
  createdAt: string;
  tableName: string;
}

function registrySchema(): import('apache-arrow').Schema {
  const utf8 = () => new arrow.Utf8();
  return new arrow.Schema([
    new arrow.Field('key', utf8(), false, new Map([[PRIMARY_KEY_METADATA, '1']])),
    new arrow.Field('name', utf8(), false),
    new arrow.Field('owner', utf8(), true),
    new arrow.Field('description', utf8(), true),
    new arrow.Field('pack', utf8(), false),
    new arrow.Field('dim', new arrow.Int32(), false),
    new arrow.Field('created_at', utf8(), false),
    new arrow.Field('table_name', utf8(), false),
  ]);
}

export function registryKey(owner: string | null, name: string): string {
  return JSON.stringify([owner, name]);
}

export class CollectionRegistry {
  private constructor(private readonly table: Table) {}

  static async open(db: Connection): Promise<CollectionRegistry> {
    try {
      const table = await db.createEmptyTable(REGISTRY_TABLE, registrySchema(), { mode: 'create', existOk: true });
      return new CollectionRegistry(table);
    } catch (error) {
      throw storageFailure('opening the collection registry', error);
    }
  }

  /** Inserts `row` unless its key exists; true when this call inserted it. */
  async insertIfAbsent(row: RegistryRow): Promise<boolean> {
    const schema = registrySchema();
    const column = (values: (string | number | null)[], type: import('apache-arrow').DataType) => arrow.vectorFromArray(values, type).data[0]!;
    const children = [
      column([row.key], new arrow.Utf8()),
      column([row.name], new arrow.Utf8()),
      column([row.owner], new arrow.Utf8()),
      column([row.description], new arrow.Utf8()),
      column([row.pack], new arrow.Utf8()),
      column([row.dim], new arrow.Int32()),
      column([row.createdAt], new arrow.Utf8()),
      column([row.tableName], new arrow.Utf8()),
    ];
    const data = new arrow.Table([new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: 1, nullCount: 0, children }))]);
    const result = await this.table.mergeInsert('key').whenNotMatchedInsertAll().execute(data);
    return result.numInsertedRows === 1;
  }

  async find(owner: string | null, name: string): Promise<RegistryRow | null> {
    const rows = await this.table.query().where(`key = ${sqlString(registryKey(owner, name))}`).limit(1).toArray();
    return rows.length === 0 ? null : toRow(rows[0]);
  }

  async list(owner: string | null): Promise<RegistryRow[]> {
    const where = owner === null ? 'owner IS NULL' : `owner = ${sqlString(owner)}`;
    const rows = await this.table.query().where(where).toArray();
    return rows.map(toRow).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every registered item table name (for sweeping orphans). */
  async tableNames(): Promise<Set<string>> {
    const rows = await this.table.query().select(['table_name']).toArray();
    return new Set(rows.map((r) => String((r as { table_name: string }).table_name)));
  }

  /** Deletes the row of this incarnation (key and table name both match). */
  async remove(row: RegistryRow): Promise<void> {
    await this.table.delete(`key = ${sqlString(row.key)} AND table_name = ${sqlString(row.tableName)}`);
  }

  close(): void {
    this.table.close();
  }
}

function toRow(raw: unknown): RegistryRow {
  const r = raw as Record<string, unknown>;
  return {
    key: String(r.key),
    name: String(r.name),
    owner: r.owner === null || r.owner === undefined ? null : String(r.owner),
    description: r.description === null || r.description === undefined ? null : String(r.description),
    pack: String(r.pack),
    dim: Number(r.dim),
    createdAt: String(r.created_at),
    tableName: String(r.table_name),
  };
}
