import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CodedError } from './errors.js';
import type { PipelineLimits } from './pipeline.js';
import type { RequestLimits } from './resolve-request.js';

/**
 * The server's whole configuration, from environment variables with safe defaults.
 * One table, read by api, worker and the `npm start` launcher alike:
 *
 *  variable                         default                  meaning
 *  A2I_HOST / A2I_PORT              127.0.0.1 / 8080         where the api listens (port 0: any free port)
 *  A2I_REDIS_URL                    redis://127.0.0.1:6379   the shared Redis
 *  A2I_REDIS_PREFIX                 a2i                      prefix of every key, queue and channel
 *  A2I_UPLOADS_DIR / A2I_RESULTS_DIR var/uploads / var/results  (relative to the working dir)
 *  A2I_PACK_DIR                     models/demo              model pack the worker loads
 *  A2I_PIPELINE                     onnx                     `onnx` (the pack in A2I_PACK_DIR), `synthetic` (a model-free
 *                                                            stand-in for tests) or the path of a module exporting createPipeline
 *  A2I_WEB_DIR                      apps/web/public          the static page the api serves at /
 *  A2I_ORT_PROVIDER                 cpu                      onnxruntime execution provider: cpu | cuda (worker; cuda needs the
 *                                                            CUDA build: ONNXRUNTIME_NODE_INSTALL=cuda12 at npm install)
 *  A2I_ORT_DEVICE_ID                0                        GPU index for cuda (worker)
 *  A2I_ORT_THREADS                  cores-1                  intra-op threads per session (0: onnxruntime's choice, one per
 *                                                            core). One core is left to the worker's own I/O and the api: with
 *                                                            every core given to onnxruntime, its spinning threads and the event
 *                                                            path slow each other (HTTP / in-process 1.39x vs 1.03x, npm run bench)
 *  A2I_ORT_INTER_OP_THREADS         0                        inter-op threads (0: onnxruntime's choice)
 *  A2I_ORT_MEMORY_ARENA             true                     ORT's CPU memory arena (faster; keeps peak memory reserved)
 *  A2I_PACK_VERIFY_CHECKSUMS        true                     hash every pack file at worker start (seconds per GB)
 *  A2I_MAX_UPLOAD_BYTES             26214400 (25 MiB)        per file
 *  A2I_MAX_UPLOAD_FILES             8                        per request
 *  A2I_MAX_FIELD_BYTES              1048576                  per multipart field (the `request` JSON)
 *  A2I_INLINE_IMAGE_BYTES           16777216                 per job: images sent inside job:succeeded to socket.io clients that ask (inlineImages)
 *  A2I_MAX_JSON_BYTES               1048576                  JSON bodies
 *  A2I_MAX_AUDIO_SECONDS            60                       longer audio is refused by the decoder
 *  A2I_MAX_PIXELS                   40000000                 larger images are refused before decoding
 *  A2I_MAX_STEPS / A2I_MAX_IMAGES   200 / 4                  capped again by the pack's limits
 *  A2I_MAX_INPUTS / A2I_MAX_TEXT_CHARS 8 / 1000
 *  A2I_MAX_QUEUE_DEPTH              100                      waiting jobs; beyond it POST answers 503
 *  A2I_QUEUE_RETRY_AFTER_SECONDS    30                       Retry-After of that 503
 *  A2I_RESULT_TTL_SECONDS           3600                     results (files and state) expire after this
 *  A2I_JOB_STATE_TTL_SECONDS        86400                    an unfinished job's state expires after this
 *  A2I_SWEEP_INTERVAL_SECONDS       60                       how often expired results are deleted
 *  A2I_API_KEYS                     (none)                   comma list; when set, creating a job needs one
 *  A2I_WORKER_NAME                  <hostname>:<pid>
 *  A2I_WORKER_CONCURRENCY           1                        jobs at once per worker (one per device)
 *  A2I_LOCK_DURATION_MS             30000                    BullMQ job lock
 *  A2I_STALLED_INTERVAL_MS          15000                    how often workers look for stalled jobs
 *  A2I_MAX_STALLED_COUNT            2                        stalls (lost workers) before a job fails
 *  A2I_JOB_ATTEMPTS                 2                        attempts for server faults (never for bad input)
 *  A2I_PROGRESS_INTERVAL_MS         200                      at most one progress event per this
 *  A2I_HEARTBEAT_INTERVAL_MS        5000                     worker heartbeat (readiness)
 *  A2I_EMBED_TIMEOUT_MS             30000                    POST /v1/embeddings gives up after this
 *  A2I_SYNTHETIC_STEP_MS            20                       synthetic pipeline: sleep per step
 *  A2I_LOG_LEVEL                    info                     pino level (silent to mute)
 */

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

/** All cores but one, at least one (see A2I_ORT_THREADS above). */
export function defaultIntraOpThreads(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

const envSchema = z.object({
  A2I_HOST: z.string().min(1).default('127.0.0.1'),
  A2I_PORT: int(0, 65535).default(8080),
  A2I_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  A2I_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.' or '-'").default('a2i'),
  A2I_UPLOADS_DIR: z.string().min(1).default('var/uploads'),
  A2I_RESULTS_DIR: z.string().min(1).default('var/results'),
  A2I_PACK_DIR: z.string().min(1).default('models/demo'),
  A2I_PIPELINE: z.string().min(1).default('onnx'),
  A2I_WEB_DIR: z.string().min(1).default('apps/web/public'),
  A2I_ORT_PROVIDER: z.enum(['cpu', 'cuda'], 'cpu or cuda').default('cpu'),
  A2I_ORT_DEVICE_ID: int(0, 64).default(0),
  A2I_ORT_THREADS: int(0, 1024).default(defaultIntraOpThreads()),
  A2I_ORT_INTER_OP_THREADS: int(0, 1024).default(0),
  A2I_ORT_MEMORY_ARENA: flag.default(true),
  A2I_PACK_VERIFY_CHECKSUMS: flag.default(true),
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
  A2I_MAX_QUEUE_DEPTH: int(1).default(100),
  A2I_QUEUE_RETRY_AFTER_SECONDS: int(1).default(30),
  A2I_RESULT_TTL_SECONDS: int(1).default(3600),
  A2I_JOB_STATE_TTL_SECONDS: int(1).default(86_400),
  A2I_SWEEP_INTERVAL_SECONDS: int(1).default(60),
  A2I_API_KEYS: list.default([]),
  A2I_WORKER_NAME: z.string().min(1).optional(),
  A2I_WORKER_CONCURRENCY: int(1, 64).default(1),
  A2I_LOCK_DURATION_MS: int(500).default(30_000),
  A2I_STALLED_INTERVAL_MS: int(200).default(15_000),
  A2I_MAX_STALLED_COUNT: int(0, 100).default(2),
  A2I_JOB_ATTEMPTS: int(1, 20).default(2),
  A2I_PROGRESS_INTERVAL_MS: int(0).default(200),
  A2I_HEARTBEAT_INTERVAL_MS: int(100).default(5000),
  A2I_EMBED_TIMEOUT_MS: int(100).default(30_000),
  A2I_SYNTHETIC_STEP_MS: int(0, 10_000).default(20),
  A2I_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function loadServerConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()) {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('A2I_') && value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `Expected ${issue.message.replace(/^Invalid input: expected /, '')} for ${name} but received ${JSON.stringify(env[name])}`;
    });
    throw new ConfigError(problems.join('; '));
  }
  const e = parsed.data;
  if (e.A2I_STALLED_INTERVAL_MS > e.A2I_LOCK_DURATION_MS) {
    throw new ConfigError(
      `Expected A2I_STALLED_INTERVAL_MS (${e.A2I_STALLED_INTERVAL_MS}) to be at most A2I_LOCK_DURATION_MS (${e.A2I_LOCK_DURATION_MS})`,
    );
  }
  return {
    http: { host: e.A2I_HOST, port: e.A2I_PORT },
    redis: { url: e.A2I_REDIS_URL, prefix: e.A2I_REDIS_PREFIX },
    dirs: { uploads: resolve(cwd, e.A2I_UPLOADS_DIR), results: resolve(cwd, e.A2I_RESULTS_DIR), pack: resolve(cwd, e.A2I_PACK_DIR), web: resolve(cwd, e.A2I_WEB_DIR) },
    pipeline: e.A2I_PIPELINE,
    /** How the ONNX pipeline runs its sessions (plain data: it crosses into the pipeline thread). */
    runtime: {
      executionProvider: e.A2I_ORT_PROVIDER,
      deviceId: e.A2I_ORT_DEVICE_ID,
      intraOpThreads: e.A2I_ORT_THREADS,
      interOpThreads: e.A2I_ORT_INTER_OP_THREADS,
      memoryArena: e.A2I_ORT_MEMORY_ARENA,
      verifyChecksums: e.A2I_PACK_VERIFY_CHECKSUMS,
    },
    limits: {
      uploadBytes: e.A2I_MAX_UPLOAD_BYTES,
      uploadFiles: e.A2I_MAX_UPLOAD_FILES,
      fieldBytes: e.A2I_MAX_FIELD_BYTES,
      inlineImageBytes: e.A2I_INLINE_IMAGE_BYTES,
      jsonBytes: e.A2I_MAX_JSON_BYTES,
      audioSeconds: e.A2I_MAX_AUDIO_SECONDS,
      pixels: e.A2I_MAX_PIXELS,
      steps: e.A2I_MAX_STEPS,
      images: e.A2I_MAX_IMAGES,
      inputs: e.A2I_MAX_INPUTS,
      textChars: e.A2I_MAX_TEXT_CHARS,
      queueDepth: e.A2I_MAX_QUEUE_DEPTH,
    },
    queueRetryAfterSeconds: e.A2I_QUEUE_RETRY_AFTER_SECONDS,
    resultTtlSeconds: e.A2I_RESULT_TTL_SECONDS,
    jobStateTtlSeconds: e.A2I_JOB_STATE_TTL_SECONDS,
    sweepIntervalSeconds: e.A2I_SWEEP_INTERVAL_SECONDS,
    apiKeys: e.A2I_API_KEYS,
    worker: {
      name: e.A2I_WORKER_NAME ?? `${hostname()}:${process.pid}`,
      concurrency: e.A2I_WORKER_CONCURRENCY,
      lockDurationMs: e.A2I_LOCK_DURATION_MS,
      stalledIntervalMs: e.A2I_STALLED_INTERVAL_MS,
      maxStalledCount: e.A2I_MAX_STALLED_COUNT,
      attempts: e.A2I_JOB_ATTEMPTS,
      progressIntervalMs: e.A2I_PROGRESS_INTERVAL_MS,
      heartbeatIntervalMs: e.A2I_HEARTBEAT_INTERVAL_MS,
      syntheticStepMs: e.A2I_SYNTHETIC_STEP_MS,
    },
    embedTimeoutMs: e.A2I_EMBED_TIMEOUT_MS,
    logLevel: e.A2I_LOG_LEVEL,
  };
}

export type ServerConfig = ReturnType<typeof loadServerConfig>;
export type RuntimeConfig = ServerConfig['runtime'];

/** The limits the pipeline enforces while decoding inputs, from the configuration. */
export function pipelineLimitsOf(config: ServerConfig): PipelineLimits {
  return { maxAudioSeconds: config.limits.audioSeconds, maxPixels: config.limits.pixels, maxUploadBytes: config.limits.uploadBytes };
}

/** The limits a request is resolved against (resolveGenerationRequest), from the configuration. */
export function requestLimitsOf(config: ServerConfig): RequestLimits {
  return { maxSteps: config.limits.steps, maxImages: config.limits.images, maxInputs: config.limits.inputs, maxTextChars: config.limits.textChars };
}
