import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { CodedError } from './errors.js';
import { modalitySchema } from './modalities.js';
import { parseRedisTarget, RedisUrlError } from './redis-target.js';
import { storageEnvShape } from './storage-config.js';
import { webhookEnvShape } from './webhook-config.js';

// The A2I_* variables as server-config.ts reads them: their types, ranges and defaults (the
// table of what each means is server-config.ts's header).

/** An A2I_* variable the server cannot run with (CONFIG_INVALID, the operator's to fix). */
export class ConfigError extends CodedError {
  override readonly name = 'ConfigError';
  declare readonly code: 'CONFIG_INVALID';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const flag = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'], 'true or false'))
  .transform((s) => ['true', '1', 'yes', 'on'].includes(s));

/** `<count>/<seconds>` (e.g. 30/60: 30 per minute) or `off`. */
const rate = z
  .string()
  .trim()
  .regex(/^(off|[1-9]\d*\/[1-9]\d*)$/i, '<count>/<seconds> or off')
  .transform((s): { points: number; seconds: number } | null => {
    if (s.toLowerCase() === 'off') return null;
    const [points, seconds] = s.split('/').map(Number) as [number, number];
    return { points, seconds };
  });

/** express's `trust proxy`: off / true, a hop count, or addresses, subnets and proxy-addr's names. */
const trustProxy = z
  .string()
  .trim()
  .regex(/^(true|false|on|off|yes|no|\d{1,2}|[0-9A-Za-z:.\/]+(\s*,\s*[0-9A-Za-z:.\/]+)*)$/i, 'off, true, a hop count or a comma list of addresses/subnets')
  .transform((s): boolean | number | string[] => {
    const word = s.toLowerCase();
    if (['true', 'on', 'yes'].includes(word)) return true;
    if (['false', 'off', 'no'].includes(word)) return false;
    if (/^\d+$/.test(s)) return Number(s) === 0 ? false : Number(s);
    return s.split(',').map((item) => item.trim());
  });

/** Origins as browsers send them (scheme://host[:port], no path), or `*`. */
const origins = list.pipe(z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'a comma list of origins (https://host[:port]) or *')));

/** What an A2I_REDIS_URL that does not parse was expected to be, or null when it parses. */
function redisUrlProblem(url: string): string | null {
  try {
    parseRedisTarget(url);
    return null;
  } catch (error) {
    if (error instanceof RedisUrlError) return error.expected;
    throw error;
  }
}

/** All cores but one, at least one (server-config.ts, A2I_ORT_THREADS: why). */
export function defaultIntraOpThreads(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export const envSchema = z.object({
  A2I_HOST: z.string().min(1).default('127.0.0.1'),
  A2I_PORT: int(0, 65535).default(8080),
  A2I_REDIS_URL: z
    .string()
    .refine((url) => redisUrlProblem(url) === null, { error: (issue) => redisUrlProblem(String(issue.input)) ?? 'a Redis URL' })
    .default('redis://127.0.0.1:6379'),
  A2I_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.' or '-'").default('a2i'),
  A2I_REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000).default(2000),
  ...storageEnvShape,
  A2I_UPLOADS_DIR: z.string().min(1).optional(),
  A2I_RESULTS_DIR: z.string().min(1).optional(),
  A2I_PACK_DIR: z.string().min(1).default('models/demo'),
  A2I_PIPELINE: z.string().min(1).default('onnx'),
  A2I_WEB_DIR: z.string().min(1).default('apps/web/public'),
  A2I_ORT_PROVIDER: z.enum(['cpu', 'cuda'], 'cpu or cuda').default('cpu'),
  A2I_ORT_DEVICE_ID: int(0, 64).default(0),
  A2I_ORT_THREADS: int(0, 1024).default(defaultIntraOpThreads()),
  A2I_ORT_INTER_OP_THREADS: int(0, 1024).default(0),
  A2I_ORT_MEMORY_ARENA: flag.default(true),
  A2I_PACK_VERIFY_CHECKSUMS: flag.default(true),
  A2I_MODALITIES: list.pipe(z.array(modalitySchema)).default([]),
  A2I_WARM_UP: flag.default(true),
  A2I_MAX_UPLOAD_BYTES: int(1).default(25 * 1024 * 1024),
  A2I_MAX_UPLOAD_FILES: int(1, 64).default(8),
  A2I_MAX_FIELD_BYTES: int(1).default(1024 * 1024),
  A2I_INLINE_IMAGE_BYTES: int(0).default(16 * 1024 * 1024),
  A2I_MAX_JSON_BYTES: int(1).default(1024 * 1024),
  A2I_MAX_AUDIO_SECONDS: int(1).default(60),
  A2I_MAX_PIXELS: int(1).default(40_000_000),
  A2I_MAX_STEPS: int(1).default(200),
  A2I_MAX_IMAGES: int(1).default(4),
  A2I_MAX_INPUTS: int(1).default(8),
  A2I_MAX_TEXT_CHARS: int(1).default(1000),
  A2I_VIDEO_MAX_SECONDS: int(1, 3600).default(300),
  A2I_VIDEO_MAX_FRAMES: int(1, 100_000).default(2400),
  A2I_VIDEO_MIN_FPS: int(1, 120).default(1),
  A2I_VIDEO_MAX_FPS: int(1, 120).default(30),
  A2I_VIDEO_FRAMES_PER_PART: int(1, 10_000).default(8),
  A2I_LIVE_STREAMS_PER_CLIENT: int(1, 1000).default(2),
  A2I_LIVE_STREAMS_TOTAL: int(1, 100_000).default(16),
  A2I_LIVE_CHUNK_BYTES: int(2, 60_000).default(32_000),
  A2I_LIVE_CHUNKS_PER_SECOND: int(1, 1000).default(20),
  A2I_LIVE_IDLE_SECONDS: int(1, 3600).default(10),
  A2I_LIVE_STEPS: int(1, 1000).default(10),
  A2I_MAX_QUEUE_DEPTH: int(1).default(100),
  A2I_QUEUE_RETRY_AFTER_SECONDS: int(1).default(30),
  A2I_QUEUE_POSITION_INTERVAL_MS: int(10, 60_000).default(500),
  A2I_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  A2I_RESULT_TTL_SECONDS: int(1).default(3600),
  A2I_TOMBSTONE_TTL_SECONDS: int(1).default(7 * 24 * 3600),
  A2I_JOB_STATE_TTL_SECONDS: int(1).default(86_400),
  A2I_SWEEP_INTERVAL_SECONDS: int(1).default(60),
  A2I_API_KEYS: list.default([]),
  A2I_WORKER_NAME: z.string().min(1).optional(),
  A2I_WORKER_CONCURRENCY: int(1, 64).default(1),
  A2I_MAX_BATCH_ROWS: int(1, 256).optional(),
  A2I_SHARED_CALL_ROWS: int(0, 4096).optional(),
  A2I_SHARED_CALL_WAIT_ROUNDS: int(1, 1000).default(2),
  A2I_PIPELINE_INSTANCES: int(1, 64).optional(),
  A2I_LOCK_DURATION_MS: int(500).default(30_000),
  A2I_STALLED_INTERVAL_MS: int(200).default(15_000),
  A2I_MAX_STALLED_COUNT: int(0, 100).default(2),
  A2I_JOB_ATTEMPTS: int(1, 20).default(2),
  A2I_PROGRESS_INTERVAL_MS: int(0).default(200),
  A2I_HEARTBEAT_INTERVAL_MS: int(100).default(5000),
  A2I_HEARTBEAT_FILE: z.string().min(1).optional(),
  A2I_WORKER_METRICS_PORT: int(0, 65535).optional(),
  A2I_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  A2I_EMBED_TIMEOUT_MS: int(100).default(30_000),
  A2I_SYNTHETIC_STEP_MS: int(0, 10_000).default(20),
  A2I_COLLECTIONS_URI: z.string().min(1).default('var/collections'),
  A2I_COLLECTIONS_S3_ENDPOINT: z.string().min(1).optional(),
  A2I_COLLECTIONS_S3_REGION: z.string().min(1).optional(),
  A2I_COLLECTIONS_S3_ALLOW_HTTP: flag.default(false),
  A2I_COLLECTIONS_MEDIA_DIR: z.string().min(1).default('var/collections-media'),
  A2I_COLLECTIONS_THUMBNAILS: list.default(['image', 'depth', 'thermal']),
  A2I_COLLECTIONS_THUMBNAIL_PX: int(16, 4096).default(256),
  A2I_COLLECTIONS_INDEX_THRESHOLD: int(1).default(10_000),
  A2I_COLLECTIONS_MAX_K: int(1, 10_000).default(100),
  A2I_NEIGHBORS_MAX_K: int(1, 1000).default(16),
  A2I_INGEST_MAX_ITEMS: int(1, 10_000).default(64),
  A2I_CLASSIFY_MAX_LABELS: int(1, 10_000).default(64),
  A2I_LABEL_CACHE_SIZE: int(0).default(4096),
  A2I_TRUST_PROXY: trustProxy.default(false),
  A2I_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  A2I_REQUEST_TIMEOUT_MS: int(0).default(3_600_000),
  A2I_BODY_MIN_BYTES_PER_SECOND: int(1).default(8192),
  A2I_BODY_RATE_WINDOW_MS: int(0).default(15_000),
  A2I_UPLOADS_IN_FLIGHT_BYTES: int(1).default(256 * 1024 * 1024),
  A2I_UPLOADS_DISK_BYTES: int(1).default(2 * 1024 * 1024 * 1024),
  A2I_RATE_GENERATIONS: rate.default({ points: 30, seconds: 60 }),
  A2I_RATE_EMBEDDINGS: rate.default({ points: 60, seconds: 60 }),
  A2I_RATE_CONNECTIONS: rate.default({ points: 60, seconds: 60 }),
  A2I_SOCKETS_PER_ADDRESS: int(1).default(32),
  A2I_SOCKETS_TOTAL: int(1).default(1000),
  A2I_CORS_ORIGINS: origins.default([]),
  A2I_PRIORITY_KEYS: list.default([]),
  A2I_SEED_DEMO_COLLECTION: flag.default(true),
  ...webhookEnvShape,
  A2I_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  A2I_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
});
