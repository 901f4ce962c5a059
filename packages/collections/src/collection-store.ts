import { createHash, randomBytes } from 'node:crypto';
import * as lancedb from '@lancedb/lancedb';
import type { Connection, Table } from '@lancedb/lancedb';
import { CollectionError, expected, storageFailure } from './collection-error.js';
import { CollectionRegistry, registryKey, type RegistryRow } from './collection-registry.js';
import { MAX_DESCRIPTION_LENGTH, checkCollectionName, checkItemId, checkOwner, checkSpace, isPlainObject } from './guards.js';
import {
  BASE_COLUMNS,
  META_PREFIX,
  checkFieldTypesAgainst,
  itemTableSchema,
  itemsToArrow,
  metadataFieldTypes,
  newMetadataFields,
  prepareItems,
  readMedia,
  readMetadata,
  type CollectionItem,
} from './item-columns.js';
import { searchWhereClause, sqlString } from './metadata-filter.js';
import type {
  CollectionInfo,
  CollectionStore,
  CreateCollectionInput,
  EnsureIndexResult,
  SearchHit,
  OpenCollection,
  SearchOptions,
  StoredItem,
  UpsertResult,
} from './collection-types.js';
import { resolveStoreOptions, type CollectionStoreOptions, type ResolvedStoreOptions } from './store-options.js';
import { unitVector } from './unit-vector.js';
import { buildVectorIndex } from './vector-index.js';

const TABLE_METADATA_KEY = 'a2i.collection';
const HAS_IDS_CHUNK = 500;

/** Opens (creating when absent) the collection store at `uri`. */
export async function openCollectionStore(options: CollectionStoreOptions): Promise<CollectionStore> {
  const resolved = resolveStoreOptions(options);
  let db: Connection;
  try {
    db = await lancedb.connect(resolved.uri, {
      readConsistencyInterval: resolved.readConsistencySeconds,
      storageOptions: resolved.storageOptions,
    });
  } catch (error) {
    throw storageFailure(`connecting to ${resolved.uri.startsWith('s3://') ? resolved.uri : 'the collection directory'}`, error);
  }
  const registry = await CollectionRegistry.open(db);
  return new LanceCollectionStore(db, registry, resolved);
}

function toInfo(row: RegistryRow): CollectionInfo {
  return { name: row.name, owner: row.owner, description: row.description, space: { pack: row.pack, dim: row.dim }, createdAt: row.createdAt };
}

/** `options` when it is an options object (a caller outside TypeScript may send anything). */
function checkedSearchOptions<T>(options: T): T {
  if (!isPlainObject(options)) throw expected('INVALID_K', 'an options object { vector, k, space }', 'search options', options);
  return options;
}

function notFound(name: string, owner: string | null): CollectionError {
  return new CollectionError('COLLECTION_NOT_FOUND', `Expected an existing collection for collection name but received ${JSON.stringify(name)}${owner === null ? '' : ' (for this owner)'}`);
}

class LanceCollectionStore implements CollectionStore {
  /** Item table handles by table name; a table name is never reused, so entries never go stale. */
  private readonly tables = new Map<string, Promise<Table>>();

  constructor(
    private readonly db: Connection,
    private readonly registry: CollectionRegistry,
    private readonly options: ResolvedStoreOptions,
  ) {}

  // ---- collections --------------------------------------------------------------

  async create(input: CreateCollectionInput): Promise<CollectionInfo> {
    if (!isPlainObject(input)) throw expected('INVALID_NAME', 'an object { name, owner?, description?, space }', 'create input', input);
    const name = checkCollectionName(input.name);
    const owner = checkOwner(input.owner);
    const space = checkSpace(input.space, 'space');
    const description = input.description ?? null;
    if (description !== null && (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)) {
      throw expected('INVALID_NAME', `a string of at most ${MAX_DESCRIPTION_LENGTH} characters`, 'description', description);
    }
    // 1. Refuse early when the name is taken (the insert below is what decides under a race).
    if ((await this.guard('reading the registry', () => this.registry.find(owner, name))) !== null) throw this.exists(name);
    // 2. Make the item table of this incarnation under a fresh name.
    const ownerTag = owner === null ? 'shared' : createHash('sha256').update(owner).digest('hex').slice(0, 16);
    const tableName = `c_${ownerTag}_${name}_${randomBytes(6).toString('hex')}`;
    const row: RegistryRow = { key: registryKey(owner, name), name, owner, description, pack: space.pack, dim: space.dim, createdAt: new Date().toISOString(), tableName };
    const tableMetadata = new Map([[TABLE_METADATA_KEY, JSON.stringify({ name, owner, pack: space.pack, dim: space.dim, createdAt: row.createdAt })]]);
    await this.guard('creating the item table', () => this.db.createEmptyTable(tableName, itemTableSchema(space.dim, tableMetadata), { mode: 'create' }));
    // 3. Register it: insert-if-absent on the key; the loser of a race drops its table.
    const inserted = await this.guard('registering the collection', () => this.registry.insertIfAbsent(row)).catch(async (error: unknown) => {
      await this.dropTableQuietly(tableName);
      throw error;
    });
    if (!inserted) {
      await this.dropTableQuietly(tableName);
      throw this.exists(name);
    }
    this.options.logger.info({ collection: name, owner, space, tableName }, 'collection created');
    return toInfo(row);
  }

  async list(owner?: string | null): Promise<CollectionInfo[]> {
    const o = checkOwner(owner);
    const rows = await this.guard('listing collections', () => this.registry.list(o));
    return rows.map(toInfo);
  }

  async get(name: string, owner?: string | null): Promise<CollectionInfo> {
    return toInfo(await this.resolve(name, owner));
  }

  async drop(name: string, owner?: string | null): Promise<void> {
    const row = await this.resolve(name, owner);
    // 1. The registry row goes first: from this commit on the collection does not exist.
    await this.guard('removing the collection from the registry', () => this.registry.remove(row));
    // 2. Then its data. A writer still busy with this table fails or writes into a
    //    table nobody points at; upsert notices and drops it again (see upsert).
    await this.dropTableQuietly(row.tableName);
    this.options.logger.info({ collection: row.name, owner: row.owner, tableName: row.tableName }, 'collection dropped');
  }

  // ---- items --------------------------------------------------------------------

  async upsert(name: string, items: readonly CollectionItem[], owner?: string | null): Promise<UpsertResult> {
    const row = await this.resolve(name, owner);
    const prepared = prepareItems(items, row.dim);
    const result: UpsertResult = { inserted: 0, updated: 0, commits: 0, newFields: [] };
    if (prepared.items.length === 0) return result;
    const table = await this.table(row);
    try {
      // 1. Metadata fields: new ones become nullable columns; a type clash is refused.
      let schema = await table.schema();
      const added = checkFieldTypesAgainst(prepared.fieldTypes, metadataFieldTypes(schema));
      if (added.size > 0) {
        try {
          await table.addColumns(newMetadataFields(added));
        } catch (error) {
          // Another writer may have added the same column meanwhile: accept it if the types agree.
          const again = metadataFieldTypes(await table.schema());
          checkFieldTypesAgainst(prepared.fieldTypes, again);
          if ([...added.keys()].some((f) => !again.has(f))) throw error;
        }
        result.newFields = [...added.keys()];
        schema = await table.schema();
      }
      // 2. mergeInsert on id, one commit per batch: an id given again replaces the row.
      for (let start = 0; start < prepared.items.length; start += this.options.upsertBatchRows) {
        const batch = prepared.items.slice(start, start + this.options.upsertBatchRows);
        const merge = await table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(itemsToArrow(batch, schema, row.dim));
        result.inserted += merge.numInsertedRows;
        result.updated += merge.numUpdatedRows;
        result.commits += 1;
        if (merge.numAttempts > 1) this.options.logger.debug?.({ collection: row.name, attempts: merge.numAttempts }, 'mergeInsert retried after a concurrent commit');
      }
    } catch (error) {
      await this.afterFailedWrite(row);
      throw error instanceof CollectionError ? error : storageFailure(`upserting into collection ${row.name}`, error);
    }
    // 3. Dropped meanwhile? Then these rows went to an orphan table: remove it, say so.
    await this.afterWrite(row);
    return result;
  }

  async getItem(name: string, id: string, owner?: string | null): Promise<StoredItem | null> {
    const itemId = checkItemId(id, 'id');
    const row = await this.resolve(name, owner);
    const table = await this.table(row);
    return this.guard('reading an item', async () => {
      const rows = await table.query().where(`id = ${sqlString(itemId)}`).limit(1).toArray();
      if (rows.length === 0) return null;
      const r = rows[0] as Record<string, unknown>;
      const fieldTypes = metadataFieldTypes(await table.schema());
      const vector = r.vector as { toArray(): Float32Array };
      return { id: String(r.id), vector: Float32Array.from(vector.toArray()), modality: String(r.modality), metadata: readMetadata(r, fieldTypes), media: readMedia(r) };
    });
  }

  async deleteItem(name: string, id: string, owner?: string | null): Promise<boolean> {
    const itemId = checkItemId(id, 'id');
    const row = await this.resolve(name, owner);
    const table = await this.table(row);
    const where = `id = ${sqlString(itemId)}`;
    return this.guard('deleting an item', async () => {
      const before = await table.countRows(where);
      if (before === 0) return false;
      await table.delete(where);
      return true;
    });
  }

  async count(name: string, owner?: string | null): Promise<number> {
    const row = await this.resolve(name, owner);
    const table = await this.table(row);
    return this.guard('counting items', () => table.countRows());
  }

  async hasIds(name: string, ids: readonly string[], owner?: string | null): Promise<Set<string>> {
    if (!Array.isArray(ids)) throw expected('INVALID_ITEM', 'an array of ids', 'ids', ids);
    const wanted = ids.map((id, i) => checkItemId(id, `ids[${i}]`));
    const row = await this.resolve(name, owner);
    const table = await this.table(row);
    const found = new Set<string>();
    const unique = [...new Set(wanted)];
    await this.guard('looking up ids', async () => {
      for (let start = 0; start < unique.length; start += HAS_IDS_CHUNK) {
        const chunk = unique.slice(start, start + HAS_IDS_CHUNK);
        const rows = await table.query().where(`id IN (${chunk.map(sqlString).join(', ')})`).select(['id']).toArray();
        for (const r of rows) found.add(String((r as { id: string }).id));
      }
    });
    return found;
  }

  // ---- search -------------------------------------------------------------------

  async search(name: string, options: SearchOptions): Promise<SearchHit[]> {
    return this.searchRow(await this.resolve(name, checkedSearchOptions(options).owner), options);
  }

  async open(name: string, owner?: string | null): Promise<OpenCollection> {
    const row = await this.resolve(name, owner);
    return { info: toInfo(row), search: (options) => this.searchRow(row, checkedSearchOptions(options)) };
  }

  private async searchRow(row: RegistryRow, options: Omit<SearchOptions, 'owner'>): Promise<SearchHit[]> {
    // 1. The query must come from the collection's space: pack and dim both.
    const space = checkSpace(options.space, 'space');
    if (space.pack !== row.pack || space.dim !== row.dim) {
      throw new CollectionError('SPACE_MISMATCH', `Expected space ${row.pack}/${row.dim} (collection ${row.name}) for space but received ${space.pack}/${space.dim}`);
    }
    const k = options.k;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > this.options.maxK) {
      throw expected('INVALID_K', `an integer in 1..${this.options.maxK}`, 'k', k);
    }
    const query = unitVector(options.vector, row.dim, 'vector');
    const table = await this.table(row);
    return this.guard('searching', async () => {
      // 2. Filter: metadata conditions (typed by the table's columns) and modality.
      const schema = await table.schema();
      const fieldTypes = metadataFieldTypes(schema);
      const where = searchWhereClause(options.filter, options.modality, fieldTypes);
      // 3. Cosine distance d = 1 - cos; LanceDB uses the ANN index when one exists
      //    (rows added since it was built are scanned flat and merged in).
      let q = table.vectorSearch(query).distanceType('cosine').limit(k).select([...BASE_COLUMNS, ...[...fieldTypes.keys()].map((f) => META_PREFIX + f), '_distance']);
      if (where !== null) q = q.where(where);
      q = options.exact === true ? q.bypassVectorIndex() : q.nprobes(this.options.ann.nprobes).refineFactor(this.options.ann.refineFactor);
      const rows = await q.toArray();
      return rows.map((raw) => {
        const r = raw as Record<string, unknown>;
        return { id: String(r.id), score: 1 - Number(r._distance), modality: String(r.modality), metadata: readMetadata(r, fieldTypes), media: readMedia(r) };
      });
    });
  }

  // ---- index --------------------------------------------------------------------

  /**
   * Keeps the ANN index in line with the table; run it off the request path (after an
   * ingest, from a worker). Below `indexThreshold` rows nothing is built and search is
   * an exact scan. Otherwise an IVF index (ann.indexType: IVF_RQ by default, or IVF_PQ) on cosine distance:
   * - none yet                       -> created
   * - rows added since, fewer than indexed -> updated (optimize: new rows are added to
   *                                        the existing partitions, files compacted)
   * - more rows added than indexed   -> rebuilt (retrained on the larger table)
   */
  async ensureIndex(name: string, owner?: string | null): Promise<EnsureIndexResult> {
    const row = await this.resolve(name, owner);
    const table = await this.table(row);
    const started = performance.now();
    return this.guard('maintaining the index', async () => {
      const rows = await table.countRows();
      const existing = (await table.listIndices()).find((ix) => ix.columns.includes('vector'));
      const done = async (action: EnsureIndexResult['action'], reason: string, params?: { numPartitions: number; numSubVectors?: number }): Promise<EnsureIndexResult> => {
        const indices = await table.listIndices();
        const ix = indices.find((i) => i.columns.includes('vector'));
        const stats = ix === undefined ? undefined : await table.indexStats(ix.name);
        const result: EnsureIndexResult = {
          action,
          reason,
          rows,
          indexedRows: stats?.numIndexedRows ?? 0,
          unindexedRows: stats?.numUnindexedRows ?? (ix === undefined ? rows : 0),
          index: ix === undefined ? null : { name: ix.name, type: ix.indexType, distance: 'cosine', ...params },
          ms: Math.round(performance.now() - started),
        };
        if (action !== 'none') this.options.logger.info({ collection: row.name, ...result }, 'collection index maintained');
        return result;
      };
      if (existing === undefined) {
        if (rows < this.options.indexThreshold) return done('none', `${rows} rows is below the index threshold ${this.options.indexThreshold}: exact search`);
        return done('created', 'no index yet', await buildVectorIndex(table, rows, row.dim, this.options.ann));
      }
      const stats = await table.indexStats(existing.name);
      const unindexed = stats?.numUnindexedRows ?? 0;
      const indexed = stats?.numIndexedRows ?? 0;
      if (unindexed === 0) return done('none', 'index is up to date');
      if (unindexed > indexed) return done('rebuilt', `${unindexed} rows added since the index was trained on ${indexed}`, await buildVectorIndex(table, rows, row.dim, this.options.ann));
      await table.optimize();
      return done('updated', `${unindexed} new rows added to the index`);
    });
  }

  async dropOrphanTables(options: { olderThanMs?: number } = {}): Promise<string[]> {
    const olderThanMs = options.olderThanMs ?? 60 * 60 * 1000;
    return this.guard('sweeping orphan tables', async () => {
      const registered = await this.registry.tableNames();
      const dropped: string[] = [];
      for (const tableName of await this.db.tableNames()) {
        if (!tableName.startsWith('c_') || registered.has(tableName)) continue;
        // A create in progress makes its table before its registry row: leave young tables.
        const table = await this.db.openTable(tableName).catch(() => null);
        const versions = table === null ? [] : await table.listVersions().catch(() => []);
        table?.close();
        const first = versions[0]?.timestamp.getTime() ?? 0;
        if (Date.now() - first < olderThanMs) continue;
        await this.dropTableQuietly(tableName);
        dropped.push(tableName);
      }
      if (dropped.length > 0) this.options.logger.warn({ dropped }, 'dropped orphan item tables');
      return dropped;
    });
  }

  close(): void {
    for (const pending of this.tables.values()) pending.then((t) => t.close(), () => {});
    this.tables.clear();
    this.registry.close();
    this.db.close();
  }

  // ---- helpers ------------------------------------------------------------------

  private async resolve(name: unknown, owner: unknown): Promise<RegistryRow> {
    const n = checkCollectionName(name);
    const o = checkOwner(owner);
    const row = await this.guard('reading the registry', () => this.registry.find(o, n));
    if (row === null) throw notFound(n, o);
    return row;
  }

  private table(row: RegistryRow): Promise<Table> {
    let pending = this.tables.get(row.tableName);
    if (pending === undefined) {
      pending = this.db.openTable(row.tableName).catch((error: unknown) => {
        this.tables.delete(row.tableName);
        throw storageFailure(`opening collection ${row.name}`, error);
      });
      this.tables.set(row.tableName, pending);
    }
    return pending;
  }

  /** After a write: when the collection was dropped (or dropped and re-created) meanwhile, remove the orphan. */
  private async afterWrite(row: RegistryRow): Promise<void> {
    const current = await this.guard('reading the registry', () => this.registry.find(row.owner, row.name));
    if (current?.tableName === row.tableName) return;
    await this.dropTableQuietly(row.tableName);
    throw notFound(row.name, row.owner);
  }

  private async afterFailedWrite(row: RegistryRow): Promise<void> {
    const current = await this.registry.find(row.owner, row.name).catch(() => row);
    if (current?.tableName === row.tableName) return;
    await this.dropTableQuietly(row.tableName);
    throw notFound(row.name, row.owner);
  }

  private async dropTableQuietly(tableName: string): Promise<void> {
    const pending = this.tables.get(tableName);
    this.tables.delete(tableName);
    if (pending !== undefined) await pending.then((t) => t.close(), () => {});
    try {
      await this.db.dropTable(tableName);
    } catch (error) {
      // Already gone (a concurrent drop) is fine; anything else is left for dropOrphanTables.
      this.options.logger.debug?.({ tableName, error: error instanceof Error ? error.message : String(error) }, 'drop of item table skipped');
    }
  }

  private exists(name: string): CollectionError {
    return new CollectionError('COLLECTION_EXISTS', `Expected a new collection name for collection name but received ${JSON.stringify(name)} (it exists)`);
  }

  private async guard<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw storageFailure(action, error);
    }
  }
}
