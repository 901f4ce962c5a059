import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CollectionError, describeValue } from './collection-error.js';
import { checkPositiveInteger, isPlainObject } from './guards.js';

/** Minimal structured logger (pino's signature: object first, then message). */
export interface CollectionLogger {
  debug?(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** S3 (or S3-compatible: MinIO, R2, ...) settings, mapped to LanceDB storage options. */
export interface S3StorageOptions {
  /** e.g. http://127.0.0.1:9000 for MinIO; omit for AWS. -> `endpoint` */
  endpoint?: string;
  /** -> `region` (required by most S3-compatible stores) */
  region?: string;
  /** -> `aws_access_key_id`; when absent LanceDB reads AWS_ACCESS_KEY_ID / instance credentials */
  accessKeyId?: string;
  /** -> `aws_secret_access_key` */
  secretAccessKey?: string;
  /** -> `aws_session_token` */
  sessionToken?: string;
  /** -> `allow_http` (plain-HTTP endpoints such as a local MinIO) */
  allowHttp?: boolean;
}

/** LanceDB 0.31 vector index kinds ensureIndex can build (README "Search"). */
export const ANN_INDEX_TYPES = ['ivf_rq', 'ivf_pq'] as const;
export type AnnIndexType = (typeof ANN_INDEX_TYPES)[number];

export interface AnnOptions {
  /**
   * `ivf_rq` (default): IVF + RaBitQ, 1 bit per dimension; trains in seconds (2 s at
   * 100k x 1024 against 234 s for `ivf_pq`), and with refineFactor re-ranking it matches or
   * beats PQ's recall. `ivf_pq`: IVF + product quantisation (dimsPerSubVector).
   */
  indexType?: AnnIndexType;
  /** IVF partitions = ceil(rows / rowsPerPartition). Default 4096. */
  rowsPerPartition?: number;
  /** Partitions probed per query. Default 20. */
  nprobes?: number;
  /** ivf_pq only: dimensions per PQ sub-vector (must divide dim). Default 8 for dim <= 256, else 16. */
  dimsPerSubVector?: number;
  /** Candidates re-ranked with the full vectors = k * refineFactor. Default 100. */
  refineFactor?: number;
}

export interface CollectionStoreOptions {
  /** A directory path, a file: URI, or s3://bucket/prefix. The server's default is var/collections. */
  uri: string;
  logger?: CollectionLogger;
  /** Only for s3:// URIs. */
  s3?: S3StorageOptions;
  /** Raw LanceDB storage options, passed through as given (they win over `s3`). */
  storageOptions?: Record<string, string>;
  /** Largest k a search may ask for. Default 100. */
  maxK?: number;
  /** ensureIndex builds an ANN index from this many rows on; below it search is exact. Default 10,000. */
  indexThreshold?: number;
  ann?: AnnOptions;
  /** Rows per mergeInsert commit in upsert. Default 5,000. */
  upsertBatchRows?: number;
  /**
   * Seconds between checks for other processes' commits on reads. Default 0: every read
   * sees the latest commit (two api processes agree). Larger values save a manifest
   * lookup per read on object stores at the cost of staleness.
   */
  readConsistencySeconds?: number;
}

export interface ResolvedStoreOptions {
  uri: string;
  storageOptions: Record<string, string>;
  logger: CollectionLogger;
  maxK: number;
  indexThreshold: number;
  ann: Required<Omit<AnnOptions, 'dimsPerSubVector'>> & { dimsPerSubVector?: number };
  upsertBatchRows: number;
  readConsistencySeconds: number;
}

export const STORE_DEFAULTS = {
  maxK: 100,
  indexThreshold: 10_000,
  ann: { indexType: 'ivf_rq', rowsPerPartition: 4096, nprobes: 20, refineFactor: 100 },
  upsertBatchRows: 5_000,
  readConsistencySeconds: 0,
} as const;

const KNOWN_OPTIONS = new Set(['uri', 'logger', 's3', 'storageOptions', 'maxK', 'indexThreshold', 'ann', 'upsertBatchRows', 'readConsistencySeconds']);
const KNOWN_S3 = new Set(['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'allowHttp']);
const KNOWN_ANN = new Set(['indexType', 'rowsPerPartition', 'nprobes', 'refineFactor', 'dimsPerSubVector']);

const silentLogger: CollectionLogger = { info() {}, warn() {}, error() {} };

function invalid(what: string, name: string, value: unknown): CollectionError {
  return new CollectionError('INVALID_OPTION', `Expected ${what} for ${name} but received ${describeValue(value)}`);
}

function checkKnownKeys(value: Record<string, unknown>, known: Set<string>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw invalid(`one of ${[...known].join(', ')}`, `option name in ${prefix}`, key);
  }
}

/** Validates every option at once, with defaults spread in; fails by option name. */
export function resolveStoreOptions(options: unknown): ResolvedStoreOptions {
  if (!isPlainObject(options)) throw invalid('an options object', 'openCollectionStore options', options);
  checkKnownKeys(options, KNOWN_OPTIONS, 'openCollectionStore options');
  const uri = resolveUri(options.uri);
  const isS3 = uri.startsWith('s3://');

  const storageOptions: Record<string, string> = {};
  if (options.s3 !== undefined) {
    if (!isS3) throw invalid('no s3 options for a non-s3:// uri', 's3', options.s3);
    if (!isPlainObject(options.s3)) throw invalid('an object', 's3', options.s3);
    checkKnownKeys(options.s3, KNOWN_S3, 's3');
    const s3 = options.s3;
    const strings: [keyof S3StorageOptions, string][] = [
      ['endpoint', 'endpoint'],
      ['region', 'region'],
      ['accessKeyId', 'aws_access_key_id'],
      ['secretAccessKey', 'aws_secret_access_key'],
      ['sessionToken', 'aws_session_token'],
    ];
    for (const [key, lanceKey] of strings) {
      const v = s3[key];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v.length === 0) throw invalid('a non-empty string', `s3.${key}`, key.includes('ecret') || key.includes('oken') ? '(hidden)' : v);
      storageOptions[lanceKey] = v;
    }
    if (s3.allowHttp !== undefined) {
      if (typeof s3.allowHttp !== 'boolean') throw invalid('a boolean', 's3.allowHttp', s3.allowHttp);
      storageOptions.allow_http = String(s3.allowHttp);
    }
  }
  if (options.storageOptions !== undefined) {
    if (!isPlainObject(options.storageOptions)) throw invalid('an object of strings', 'storageOptions', options.storageOptions);
    for (const [k, v] of Object.entries(options.storageOptions)) {
      if (typeof v !== 'string') throw invalid('a string', `storageOptions.${k}`, v);
      storageOptions[k] = v;
    }
  }

  let logger = silentLogger;
  if (options.logger !== undefined) {
    const l = options.logger as Partial<CollectionLogger> | null;
    if (l === null || typeof l !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
      throw invalid('a logger with info, warn and error methods', 'logger', l);
    }
    logger = l as CollectionLogger;
  }

  const ann: ResolvedStoreOptions['ann'] = { ...STORE_DEFAULTS.ann };
  if (options.ann !== undefined) {
    if (!isPlainObject(options.ann)) throw invalid('an object', 'ann', options.ann);
    checkKnownKeys(options.ann, KNOWN_ANN, 'ann');
    if (options.ann.indexType !== undefined) {
      if (!(ANN_INDEX_TYPES as readonly unknown[]).includes(options.ann.indexType)) throw invalid(`one of ${ANN_INDEX_TYPES.join(', ')}`, 'ann.indexType', options.ann.indexType);
      ann.indexType = options.ann.indexType as AnnIndexType;
    }
    if (options.ann.rowsPerPartition !== undefined) ann.rowsPerPartition = checkPositiveInteger(options.ann.rowsPerPartition, 'ann.rowsPerPartition');
    if (options.ann.nprobes !== undefined) ann.nprobes = checkPositiveInteger(options.ann.nprobes, 'ann.nprobes', 100_000);
    if (options.ann.dimsPerSubVector !== undefined) {
      if (ann.indexType !== 'ivf_pq') throw invalid("no dimsPerSubVector unless ann.indexType is 'ivf_pq'", 'ann.dimsPerSubVector', options.ann.dimsPerSubVector);
      ann.dimsPerSubVector = checkPositiveInteger(options.ann.dimsPerSubVector, 'ann.dimsPerSubVector', 1024);
    }
    if (options.ann.refineFactor !== undefined) ann.refineFactor = checkPositiveInteger(options.ann.refineFactor, 'ann.refineFactor', 1000);
  }

  let readConsistencySeconds: number = STORE_DEFAULTS.readConsistencySeconds;
  if (options.readConsistencySeconds !== undefined) {
    const v = options.readConsistencySeconds;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid('a number of seconds >= 0', 'readConsistencySeconds', v);
    readConsistencySeconds = v;
  }

  return {
    uri,
    storageOptions,
    logger,
    maxK: options.maxK === undefined ? STORE_DEFAULTS.maxK : checkPositiveInteger(options.maxK, 'maxK', 10_000),
    indexThreshold: options.indexThreshold === undefined ? STORE_DEFAULTS.indexThreshold : checkPositiveInteger(options.indexThreshold, 'indexThreshold'),
    ann,
    upsertBatchRows: options.upsertBatchRows === undefined ? STORE_DEFAULTS.upsertBatchRows : checkPositiveInteger(options.upsertBatchRows, 'upsertBatchRows', 1_000_000),
    readConsistencySeconds,
  };
}

/** Directory path or file: URI -> absolute path; s3://bucket/prefix kept as is; anything else refused. */
function resolveUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.trim().length === 0) throw invalid('a directory path, file: URI or s3://bucket/prefix', 'uri', uri);
  if (uri.startsWith('s3://')) {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,62}(\/.*)?$/.test(uri)) throw invalid('s3://bucket/prefix with a valid bucket name', 'uri', uri);
    return uri.replace(/\/+$/, '');
  }
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      throw invalid('a valid file: URI', 'uri', uri);
    }
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(uri)) throw invalid('a directory path, file: URI or s3://bucket/prefix', 'uri', uri);
  return path.resolve(uri);
}
