import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { redactRedisUrl } from './redis-target.js';
import { ConfigError, envSchema } from './server-env.js';
import { storageConfigOf } from './storage-config.js';
import type { PipelineLimits } from './pipeline.js';
import type { RequestLimits } from './resolve-request.js';
import { webhookConfigOf } from './webhook-config.js';
import type { VideoLimits } from './video-output.js';

/**
 * The server's whole configuration, from environment variables with safe defaults.
 * One table, read by api, worker and the `npm start` launcher alike:
 *
 *  variable                         default                  meaning
 *  A2I_HOST / A2I_PORT              127.0.0.1 / 8080         where the api listens (port 0: any free port)
 *  A2I_REDIS_URL                    redis://127.0.0.1:6379   the shared Redis: one node, redis+cluster://h1:p1,h2:p2 (a Redis
 *                                                            Cluster) or redis+sentinel://s1:p1,s2:p2/<master> (redis-target.ts)
 *  A2I_REDIS_PREFIX                 a2i                      prefix of every key, queue and channel
 *  A2I_REDIS_COMMAND_TIMEOUT_MS     2000                     the api's bound on a Redis command: past it (or at once while
 *                                                            Redis is away) a request answers 503 NOT_READY with Retry-After
 *  A2I_STORAGE                      file:var                 where uploads and results live: file:<dir> (relative to the working
 *                                                            dir) or s3://<bucket>[/<prefix>] (storage-config.ts, README "Storage")
 *  A2I_UPLOADS_DIR / A2I_RESULTS_DIR <dir>/uploads / <dir>/results  one folder each (relative to the working dir); with s3:
 *                                                            A2I_UPLOADS_DIR holds only bodies being received and inputs a
 *                                                            worker fetched (var/uploads), A2I_RESULTS_DIR is unused
 *  A2I_S3_ENDPOINT / A2I_S3_REGION  (AWS S3) / (AWS_REGION)  an S3-compatible service (MinIO, R2, GCS) and its signing region
 *  A2I_S3_FORCE_PATH_STYLE          on with an endpoint      bucket in the URL's path instead of its host name
 *  A2I_STORAGE_REDIRECT             off                      presigned: GET .../images/:n answers 307 to a presigned URL (s3 only)
 *  A2I_STORAGE_PRESIGN_SECONDS      300                      how long a presigned URL works
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
 *  A2I_MODALITIES                   (all the pack has)       comma list of input modalities a worker serves: only their encoders
 *                                                            are loaded, and the api refuses the others (UNSUPPORTED_MODALITY)
 *  A2I_WARM_UP                      true                     one short generation (each loaded encoder once) before a worker
 *                                                            counts as ready, so its first job runs at full speed
 *  A2I_MAX_UPLOAD_BYTES             26214400 (25 MiB)        per file
 *  A2I_MAX_UPLOAD_FILES             8                        per request
 *  A2I_MAX_FIELD_BYTES              1048576                  per multipart field (the `request` JSON)
 *  A2I_INLINE_IMAGE_BYTES           16777216                 per job: images sent inside job:succeeded to socket.io clients that ask (inlineImages),
 *                                                            or as b64_json by GET /v1/generations/:id?include=images
 *  A2I_MAX_JSON_BYTES               1048576                  JSON bodies
 *  A2I_MAX_AUDIO_SECONDS            60                       longer audio is refused by the decoder
 *  A2I_MAX_PIXELS                   40000000                 larger images are refused before decoding
 *  A2I_MAX_STEPS / A2I_MAX_IMAGES   200 / 4                  capped again by the pack's limits
 *  A2I_MAX_INPUTS / A2I_MAX_TEXT_CHARS 8 / 1000
 *  A2I_VIDEO_MAX_SECONDS            300                      longest recording a video follows (or morph), in seconds
 *  A2I_VIDEO_MAX_FRAMES             2400                     most frames of one video (300 s at 8 fps)
 *  A2I_VIDEO_MIN_FPS / _MAX_FPS     1 / 30                   the frame rates a video may ask for
 *  A2I_VIDEO_FRAMES_PER_PART        8                        frames per part job of a video (what a lost worker costs)
 *  A2I_LIVE_STREAMS_PER_CLIENT      2                        live sound streams one client (API key, else address) may hold
 *  A2I_LIVE_STREAMS_TOTAL           16                       live sound streams per api instance
 *  A2I_LIVE_CHUNK_BYTES             32000                    largest live:chunk (1 s of 16 kHz 16-bit mono)
 *  A2I_LIVE_CHUNKS_PER_SECOND       20                       chunks a stream may send per second (more are refused, counted)
 *  A2I_LIVE_IDLE_SECONDS            10                       a stream without a chunk for this long ends
 *  A2I_LIVE_STEPS                   10                       decoder steps of a live picture (a request may ask fewer or more)
 *  A2I_MAX_QUEUE_DEPTH              100                      waiting jobs; beyond it POST answers 503
 *  A2I_QUEUE_RETRY_AFTER_SECONDS    30                       Retry-After of that 503
 *  A2I_QUEUE_POSITION_INTERVAL_MS   500                      api: followed queued jobs' positions are read at most once per this
 *  A2I_SHUTDOWN_GRACE_MS            10000                    api: on SIGTERM, in-flight requests get this long before the process exits;
 *                                                            worker: running jobs get this long to finish, then go back to the queue
 *  A2I_RESULT_TTL_SECONDS           3600                     results (files and state) expire after this
 *  A2I_TOMBSTONE_TTL_SECONDS        604800 (7 days)          a finished job's tombstone (owner, final status) is kept this long
 *                                                            after it finished, so its owner gets 410 RESULT_EXPIRED, not 404,
 *                                                            once the results are gone (at least A2I_RESULT_TTL_SECONDS)
 *  A2I_JOB_STATE_TTL_SECONDS        86400                    an unfinished job's state expires after this
 *  A2I_SWEEP_INTERVAL_SECONDS       60                       how often expired results are deleted
 *  A2I_API_KEYS                     (none)                   comma list; when set, creating a job needs one
 *  A2I_WORKER_NAME                  <hostname>:<pid>
 *  A2I_WORKER_CONCURRENCY           1                        jobs at once per worker when it does not batch (A2I_MAX_BATCH_ROWS=1)
 *  A2I_MAX_BATCH_ROWS               by the pack (onnx), 1    continuous batching: the worker takes another generation while fewer
 *                                                            than this many images are in flight, and every job it holds shares one
 *                                                            model call per denoising step (1: one job at a time, no sharing).
 *                                                            Unset with the onnx pipeline: as many images as the pixels of 8 at
 *                                                            768x768, 1..32 (defaultBatchRows: 8 for Stable unCLIP-H, 32 for the demo)
 *  A2I_SHARED_CALL_ROWS             12 on cpu, else 0        batching: model rows (an image guided counts 2) per shared UNet call at
 *                                                            most; the jobs with the fewest steps left ride first, the others wait
 *                                                            for the next call (README "Short jobs in a full batch"); 0: no cap,
 *                                                            every job in every call. On a GPU set it to the knee of the bench's curve
 *  A2I_SHARED_CALL_WAIT_ROUNDS      2                        batching with A2I_SHARED_CALL_ROWS: a job left out of the calls of this
 *                                                            many rounds (a round: the calls all waiting rows need at the cap) rides
 *                                                            first (a long job is slowed, never starved)
 *  A2I_PIPELINE_INSTANCES           2 or 1 (see right)       pipeline instances of a worker, each in its own thread with its own
 *                                                            sessions (memory: the pack's sessions once each); its jobs go to the
 *                                                            one with the least work in hand, and two run two model calls at once.
 *                                                            Unset: 2 on a CPU of 2 cores or more whose sessions run on one thread
 *                                                            (A2I_ORT_THREADS 1: the default on 2 cores) while the worker batches,
 *                                                            else 1 (pipelineInstances; README "Two instances")
 *  A2I_LOCK_DURATION_MS             30000                    BullMQ job lock
 *  A2I_STALLED_INTERVAL_MS          15000                    how often workers look for stalled jobs
 *  A2I_MAX_STALLED_COUNT            2                        stalls a job survives: it fails with WORKER_LOST when its worker
 *                                                            is lost for the (A2I_MAX_STALLED_COUNT + 1)th time (0: at the first)
 *  A2I_JOB_ATTEMPTS                 2                        attempts for server faults (never for bad input)
 *  A2I_PROGRESS_INTERVAL_MS         200                      at most one progress event per this
 *  A2I_HEARTBEAT_INTERVAL_MS        5000                     worker heartbeat (readiness)
 *  A2I_HEARTBEAT_FILE               (none)                   worker: a file touched after each heartbeat Redis took (a container
 *                                                            health check reads its age: infra/worker.Dockerfile)
 *  A2I_WORKER_METRICS_PORT          (none: off)              worker: serve Prometheus metrics at http://HOST:PORT/metrics (batching:
 *                                                            model rows per shared call, its run time, rows and jobs in flight)
 *  A2I_WORKER_METRICS_HOST          127.0.0.1                where the worker's metrics listen (0.0.0.0 for a scraper off the machine)
 *  A2I_EMBED_TIMEOUT_MS             30000                    POST /v1/embeddings gives up after this
 *  A2I_SYNTHETIC_STEP_MS            20                       synthetic pipeline: sleep per step
 *  A2I_COLLECTIONS_URI              var/collections          the collections' LanceDB store: a directory or s3://bucket/prefix
 *  A2I_COLLECTIONS_S3_ENDPOINT / A2I_COLLECTIONS_S3_REGION (none)  S3-compatible endpoint and region (keys: the AWS environment)
 *  A2I_COLLECTIONS_S3_ALLOW_HTTP    false                    plain-HTTP S3 endpoint (a local MinIO)
 *  A2I_COLLECTIONS_MEDIA_DIR        var/collections-media    items' WebP thumbnails (GET .../items/:id/media)
 *  A2I_COLLECTIONS_THUMBNAILS       image,depth,thermal      modalities whose uploads keep a thumbnail (empty: none)
 *  A2I_COLLECTIONS_THUMBNAIL_PX     256                      a thumbnail's longest side
 *  A2I_COLLECTIONS_INDEX_THRESHOLD  10000                    rows from which workers build the ANN index (exact search below)
 *  A2I_COLLECTIONS_MAX_K            100                      largest k a search may ask for
 *  A2I_NEIGHBORS_MAX_K              16                       largest neighbors.k of a generation (retrieval-augmented)
 *  A2I_INGEST_MAX_ITEMS             64                       items per POST /v1/collections/:name/items
 *  A2I_CLASSIFY_MAX_LABELS          64                       labels per POST /v1/classify
 *  A2I_LABEL_CACHE_SIZE             4096                     label embeddings the api keeps (LRU, per pack + label)
 *  A2I_TRUST_PROXY                  off                      express's trust proxy: off, true, hops (a number) or a comma list of
 *                                                            proxy addresses/subnets (loopback, 10.0.0.0/8): where the client's
 *                                                            address (per-address limits) is read from X-Forwarded-For
 *  A2I_HEADERS_TIMEOUT_MS           10000                    a request's headers must arrive within this (else 408)
 *  A2I_REQUEST_TIMEOUT_MS           3600000                  a whole request (headers + body) must arrive within this (0: none)
 *  A2I_BODY_MIN_BYTES_PER_SECOND    8192                     a request body slower than this over any A2I_BODY_RATE_WINDOW_MS
 *  A2I_BODY_RATE_WINDOW_MS          15000                    is cut off: 408 UPLOAD_TOO_SLOW, its upload folder removed (0: off)
 *  A2I_UPLOADS_IN_FLIGHT_BYTES      268435456 (256 MiB)      multipart bodies being received at once (by Content-Length, else the
 *                                                            largest a request may be), per api instance: past it 503 UPLOADS_BUSY
 *  A2I_UPLOADS_DISK_BYTES           2147483648 (2 GiB)       the uploads folder (queued jobs' files + bodies in flight): 503 UPLOADS_BUSY
 *  A2I_RATE_GENERATIONS             30/60                    POST /v1/generations per client: <count>/<seconds>, or off; a client is
 *  A2I_RATE_EMBEDDINGS              60/60                    its API key (one of A2I_API_KEYS), else its address (IPv6: its /64);
 *  A2I_RATE_CONNECTIONS             60/60                    socket.io connections opened; shared by all api instances (Redis): 429
 *                                                            RATE_LIMITED + Retry-After
 *  A2I_SOCKETS_PER_ADDRESS          32                       open socket.io connections per address, per api instance
 *  A2I_SOCKETS_TOTAL                1000                     open socket.io connections per api instance
 *  A2I_CORS_ORIGINS                 (none: same origin)      comma list of origins (https://app.example) allowed to call the api from
 *                                                            a browser, HTTP and socket.io; `*` for any. Others: 403 ORIGIN_NOT_ALLOWED
 *  A2I_PRIORITY_KEYS                (none)                   comma list of API keys that may ask for priority "high" (others: 403
 *                                                            PRIORITY_NOT_ALLOWED); with A2I_API_KEYS set, a key must be in both
 *  A2I_SEED_DEMO_COLLECTION         true                     `npm start`: make the collection `demo` of the demo pack's samples
 *                                                            (through the api, once) when the workers serve the demo pack
 *  A2I_WEBHOOK_SECRET               (none: webhooks off)     whsec_<base64>: signs webhooks (Standard Webhooks)
 *  A2I_WEBHOOK_ALLOW                * (any public address)   hosts, *.domains, addresses, CIDRs webhooks may go to (webhook-allow-list.ts)
 *  A2I_WEBHOOK_TIMEOUT_MS / _ATTEMPTS / _BACKOFF_MS  10000 / 6 / 30000  per attempt; attempts; first retry's delay, doubling
 *  A2I_LOG_LEVEL                    info                     pino level (silent to mute)
 *  A2I_LOG_FORMAT                   auto                     pretty | json | auto (pretty when stdout is a terminal)
 */

export function loadServerConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()) {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('A2I_') && value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      // a Redis URL may carry a password: not in the message
      const received = name === 'A2I_REDIS_URL' ? redactRedisUrl(env[name] ?? '') : env[name];
      return `Expected ${issue.message.replace(/^Invalid input: expected /, '')} for ${name} but received ${JSON.stringify(received)}`;
    });
    throw new ConfigError(problems.join('; '));
  }
  const e = parsed.data;
  if (e.A2I_TOMBSTONE_TTL_SECONDS < e.A2I_RESULT_TTL_SECONDS) {
    throw new ConfigError(
      `Expected A2I_TOMBSTONE_TTL_SECONDS (${e.A2I_TOMBSTONE_TTL_SECONDS}) to be at least A2I_RESULT_TTL_SECONDS (${e.A2I_RESULT_TTL_SECONDS})`,
    );
  }
  if (e.A2I_STALLED_INTERVAL_MS > e.A2I_LOCK_DURATION_MS) {
    throw new ConfigError(
      `Expected A2I_STALLED_INTERVAL_MS (${e.A2I_STALLED_INTERVAL_MS}) to be at most A2I_LOCK_DURATION_MS (${e.A2I_LOCK_DURATION_MS})`,
    );
  }
  if (e.A2I_REQUEST_TIMEOUT_MS !== 0 && e.A2I_REQUEST_TIMEOUT_MS < e.A2I_HEADERS_TIMEOUT_MS) {
    throw new ConfigError(`Expected A2I_REQUEST_TIMEOUT_MS (${e.A2I_REQUEST_TIMEOUT_MS}) to be 0 or at least A2I_HEADERS_TIMEOUT_MS (${e.A2I_HEADERS_TIMEOUT_MS})`);
  }
  if (e.A2I_VIDEO_MIN_FPS > e.A2I_VIDEO_MAX_FPS) {
    throw new ConfigError(`Expected A2I_VIDEO_MIN_FPS (${e.A2I_VIDEO_MIN_FPS}) to be at most A2I_VIDEO_MAX_FPS (${e.A2I_VIDEO_MAX_FPS})`);
  }
  const stored = storageConfigOf(e, cwd);
  // A2I_MAX_BATCH_ROWS: null (the onnx pipeline, unset) is sized by the pack once loaded (defaultBatchRows)
  const maxBatchRows = e.A2I_MAX_BATCH_ROWS ?? (e.A2I_PIPELINE === 'onnx' ? null : 1);
  if (stored.error !== null) throw new ConfigError(stored.error);
  // one PutObject per upload: S3's limit for a single PUT is 5 GiB
  if (stored.storage.kind === 's3' && e.A2I_MAX_UPLOAD_BYTES > 5 * 1024 ** 3) {
    throw new ConfigError(`Expected A2I_MAX_UPLOAD_BYTES (${e.A2I_MAX_UPLOAD_BYTES}) to be at most 5 GiB with A2I_STORAGE=s3://... (one PUT per file)`);
  }
  return {
    http: { host: e.A2I_HOST, port: e.A2I_PORT },
    redis: { url: e.A2I_REDIS_URL, prefix: e.A2I_REDIS_PREFIX, commandTimeoutMs: e.A2I_REDIS_COMMAND_TIMEOUT_MS },
    dirs: { uploads: stored.uploadsDir, results: stored.resultsDir, pack: resolve(cwd, e.A2I_PACK_DIR), web: resolve(cwd, e.A2I_WEB_DIR) },
    /** Where uploads and results live (storage-config.ts): the two dirs above, or an S3 bucket. */
    storage: stored.storage,
    /** How GET .../images/:n hands an image over. */
    imageDelivery: stored.imageDelivery,
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
    /** Video outputs (video-output.ts, README "Sound to video"). */
    video: {
      maxSeconds: e.A2I_VIDEO_MAX_SECONDS,
      maxFrames: e.A2I_VIDEO_MAX_FRAMES,
      minFps: e.A2I_VIDEO_MIN_FPS,
      maxFps: e.A2I_VIDEO_MAX_FPS,
      framesPerPart: e.A2I_VIDEO_FRAMES_PER_PART,
    } satisfies VideoLimits,
    /** Live sound streams (live-sound.ts, README "Live sound"). */
    live: {
      streamsPerClient: e.A2I_LIVE_STREAMS_PER_CLIENT,
      streamsTotal: e.A2I_LIVE_STREAMS_TOTAL,
      chunkBytes: e.A2I_LIVE_CHUNK_BYTES,
      chunksPerSecond: e.A2I_LIVE_CHUNKS_PER_SECOND,
      idleSeconds: e.A2I_LIVE_IDLE_SECONDS,
      steps: e.A2I_LIVE_STEPS,
    },
    queueRetryAfterSeconds: e.A2I_QUEUE_RETRY_AFTER_SECONDS,
    /** Per api instance: how often the positions of queued jobs its clients follow are read (one batched read). */
    queuePositionIntervalMs: e.A2I_QUEUE_POSITION_INTERVAL_MS,
    /** SIGTERM: followers are told (server:shutdown) at once; requests in flight (api) and running jobs (worker: then handed back) get this long. */
    shutdownGraceMs: e.A2I_SHUTDOWN_GRACE_MS,
    resultTtlSeconds: e.A2I_RESULT_TTL_SECONDS,
    tombstoneTtlSeconds: e.A2I_TOMBSTONE_TTL_SECONDS,
    jobStateTtlSeconds: e.A2I_JOB_STATE_TTL_SECONDS,
    sweepIntervalSeconds: e.A2I_SWEEP_INTERVAL_SECONDS,
    apiKeys: e.A2I_API_KEYS,
    worker: {
      name: e.A2I_WORKER_NAME ?? `${hostname()}:${process.pid}`,
      concurrency: e.A2I_WORKER_CONCURRENCY,
      /**
       * Continuous batching (README "Continuous batching"): images in flight before the worker stops
       * taking generations; > 1 also shares model calls between its jobs. null (unset, the onnx
       * pipeline): sized by the pack's image size once the worker has loaded it (defaultBatchRows);
       * 1 with any other pipeline (nothing to batch).
       */
      maxBatchRows,
      /** Batching: how a shared UNet call is filled (A2I_SHARED_CALL_ROWS: a row cap, fewest steps left first; none: every job). */
      sharedCall: { maxRows: sharedCallRows(e.A2I_SHARED_CALL_ROWS, e.A2I_ORT_PROVIDER), maxWaitRounds: e.A2I_SHARED_CALL_WAIT_ROUNDS },
      /** Pipeline instances (threads, each with its own sessions) the worker's jobs are spread over. */
      pipelineInstances: pipelineInstances(e.A2I_PIPELINE_INSTANCES, {
        provider: e.A2I_ORT_PROVIDER,
        intraOpThreads: e.A2I_ORT_THREADS,
        // the onnx pipeline shares its model calls when it may hold several jobs (pipelineSpecOf)
        batching: e.A2I_PIPELINE === 'onnx' && maxBatchRows !== 1,
      }),
      lockDurationMs: e.A2I_LOCK_DURATION_MS,
      stalledIntervalMs: e.A2I_STALLED_INTERVAL_MS,
      maxStalledCount: e.A2I_MAX_STALLED_COUNT,
      attempts: e.A2I_JOB_ATTEMPTS,
      progressIntervalMs: e.A2I_PROGRESS_INTERVAL_MS,
      heartbeatIntervalMs: e.A2I_HEARTBEAT_INTERVAL_MS,
      /** A2I_HEARTBEAT_FILE (absolute, or relative to the working dir): touched after each heartbeat. */
      heartbeatFile: e.A2I_HEARTBEAT_FILE === undefined ? undefined : resolve(cwd, e.A2I_HEARTBEAT_FILE),
      /** A2I_WORKER_METRICS_HOST / _PORT: the worker's Prometheus endpoint; null: none. */
      metrics: e.A2I_WORKER_METRICS_PORT === undefined ? null : { host: e.A2I_WORKER_METRICS_HOST, port: e.A2I_WORKER_METRICS_PORT },
      syntheticStepMs: e.A2I_SYNTHETIC_STEP_MS,
      /** The input modalities this worker serves; null: all its pack has. */
      modalities: e.A2I_MODALITIES.length > 0 ? e.A2I_MODALITIES : null,
      /** A warm-up generation before the first heartbeat (the worker counts as ready after it). */
      warmUp: e.A2I_WARM_UP,
    },
    embedTimeoutMs: e.A2I_EMBED_TIMEOUT_MS,
    /** Collections, search and classification (README "Search"). */
    collections: {
      /** An absolute directory, or s3://bucket/prefix as given. */
      uri: e.A2I_COLLECTIONS_URI.startsWith('s3://') ? e.A2I_COLLECTIONS_URI : resolve(cwd, e.A2I_COLLECTIONS_URI),
      s3: {
        ...(e.A2I_COLLECTIONS_S3_ENDPOINT !== undefined ? { endpoint: e.A2I_COLLECTIONS_S3_ENDPOINT } : {}),
        ...(e.A2I_COLLECTIONS_S3_REGION !== undefined ? { region: e.A2I_COLLECTIONS_S3_REGION } : {}),
        allowHttp: e.A2I_COLLECTIONS_S3_ALLOW_HTTP,
      },
      mediaDir: resolve(cwd, e.A2I_COLLECTIONS_MEDIA_DIR),
      thumbnailModalities: e.A2I_COLLECTIONS_THUMBNAILS,
      thumbnailPx: e.A2I_COLLECTIONS_THUMBNAIL_PX,
      indexThreshold: e.A2I_COLLECTIONS_INDEX_THRESHOLD,
      maxK: e.A2I_COLLECTIONS_MAX_K,
      /** Largest neighbors.k of a generation; never above maxK (the store's limit). */
      maxNeighbors: Math.min(e.A2I_NEIGHBORS_MAX_K, e.A2I_COLLECTIONS_MAX_K),
      maxIngestItems: e.A2I_INGEST_MAX_ITEMS,
      maxLabels: e.A2I_CLASSIFY_MAX_LABELS,
      labelCacheSize: e.A2I_LABEL_CACHE_SIZE,
    },
    /** What one client may hold or ask for (README "Limits"); enforced by the api (apps/api/src/client-guards.ts). */
    clients: {
      trustProxy: e.A2I_TRUST_PROXY,
      headersTimeoutMs: e.A2I_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.A2I_REQUEST_TIMEOUT_MS,
      bodyMinBytesPerSecond: e.A2I_BODY_MIN_BYTES_PER_SECOND,
      bodyRateWindowMs: e.A2I_BODY_RATE_WINDOW_MS,
      uploadsInFlightBytes: e.A2I_UPLOADS_IN_FLIGHT_BYTES,
      uploadsDiskBytes: e.A2I_UPLOADS_DISK_BYTES,
      /** null: no limit. */
      rates: { generations: e.A2I_RATE_GENERATIONS, embeddings: e.A2I_RATE_EMBEDDINGS, connections: e.A2I_RATE_CONNECTIONS },
      socketsPerAddress: e.A2I_SOCKETS_PER_ADDRESS,
      socketsTotal: e.A2I_SOCKETS_TOTAL,
      /** Empty: same origin only; ['*']: any. */
      corsOrigins: e.A2I_CORS_ORIGINS,
      priorityKeys: e.A2I_PRIORITY_KEYS,
    },
    /** `npm start` only (apps/api/src/demo-collection.ts). */
    seedDemoCollection: e.A2I_SEED_DEMO_COLLECTION,
    /** Webhooks of generations (README "Webhooks"; webhook-config.ts). */
    webhooks: webhookConfigOf(e),
    logLevel: e.A2I_LOG_LEVEL,
    logFormat: e.A2I_LOG_FORMAT,
  };
}

export type ServerConfig = ReturnType<typeof loadServerConfig>;
export type RuntimeConfig = ServerConfig['runtime'];

/**
 * A2I_MAX_BATCH_ROWS with the onnx pipeline when unset, from the pack's image size: as many images
 * as the pixels of 8 at 768x768, between 1 and 32. A batch's activations grow with its rows times
 * their pixels, so the limit is a pixel budget: 8 images for Stable unCLIP-H (768x768; its memory
 * was not measured here, README "Sizing a batch on a GPU" says how), 32 for the 64x64 demo pack,
 * where 32 measured best on this CPU (README "Continuous batching").
 */
export function defaultBatchRows(imageSize: { width: number; height: number }): number {
  const rows = Math.floor((8 * 768 * 768) / (imageSize.width * imageSize.height));
  return Math.max(1, Math.min(32, rows));
}

/**
 * A2I_SHARED_CALL_ROWS: the set value (0: no cap, null), or unset: 12 model rows on the CPU, where
 * the demo UNet's ms per row is flat from 6-12 rows on in every CPU measured (README "Short jobs
 * in a full batch"; a large model's is flat from 1), and no cap on a GPU, whose knee is
 * the pack's and the card's (the bench's curve tells it).
 */
export function sharedCallRows(set: number | undefined, provider: string): number | null {
  if (set !== undefined) return set === 0 ? null : set;
  return provider === 'cpu' ? CPU_SHARED_CALL_ROWS : null;
}

/** The CPU's default row cap of a shared UNet call (sharedCallRows). */
export const CPU_SHARED_CALL_ROWS = 12;

/**
 * A2I_PIPELINE_INSTANCES: the set value, or unset: 2 where a second instance has a core to itself
 * and jobs to run, else 1. That is a CPU worker that batches (it holds several jobs, so it has
 * independent model calls to run at once) whose sessions run on one intra-op thread each
 * (A2I_ORT_THREADS 1, the default on 2 cores), on 2 cores or more. One thread per session spins
 * no pool, so two of them leave the event path its share where two intra-op threads did not
 * (A2I_ORT_THREADS). Measured on 2 cores only (README "Two instances"); on a larger CPU the split of
 * its cores between instances and threads is the operator's, with the bench.
 */
export function pipelineInstances(set: number | undefined, worker: { provider: string; intraOpThreads: number; batching: boolean }, cores: number = availableParallelism()): number {
  if (set !== undefined) return set;
  return worker.provider === 'cpu' && worker.batching && worker.intraOpThreads === 1 && cores >= 2 ? 2 : 1;
}

/** The limits the pipeline enforces while decoding inputs, from the configuration. */
export function pipelineLimitsOf(config: ServerConfig): PipelineLimits {
  return { maxAudioSeconds: config.limits.audioSeconds, maxPixels: config.limits.pixels, maxUploadBytes: config.limits.uploadBytes, maxVideoSeconds: config.video.maxSeconds };
}

/** The limits a request is resolved against (resolveGenerationRequest), from the configuration. */
export function requestLimitsOf(config: ServerConfig): RequestLimits {
  return { maxSteps: config.limits.steps, maxImages: config.limits.images, maxInputs: config.limits.inputs, maxTextChars: config.limits.textChars, maxNeighbors: config.collections.maxNeighbors, video: config.video };
}
