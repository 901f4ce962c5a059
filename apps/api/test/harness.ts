import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { createParser } from 'eventsource-parser';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadServerConfig, redisLayout, removeKeysWithPrefix, type RedisLayout, type ClientToServerEvents, type ServerConfig, type ServerToClientEvents } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { createApp, type ApiApp } from '../src/index.js';
export { waitFor } from '../../../test/support/wait-for.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { startWorkerProcess, type ServerProcess } from '../../../test/support/server-processes.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';
export { REDIS_URL } from '../../../test/support/redis-server.js';

/** An API key that may ask for priority "high" (A2I_PRIORITY_KEYS) in every test stack. */
export const PRIORITY_KEY = 'test-priority-key';
export const silent = pino({ level: 'silent' });

/** A config on a fresh Redis prefix and fresh temp dirs; `env` overrides A2I_* variables. */
export async function testConfig(env: Record<string, string> = {}): Promise<ServerConfig & { tmp: string }> {
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-test-'));
  const config = loadServerConfig({
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: `a2i-test-${randomBytes(6).toString('hex')}`,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_COLLECTIONS_URI: join(tmp, 'collections'),
    A2I_COLLECTIONS_MEDIA_DIR: join(tmp, 'collections-media'),
    A2I_LOG_LEVEL: 'silent',
    // per-client limits off (tests make many requests from one address); client-limits.test.ts turns them on
    A2I_RATE_GENERATIONS: 'off',
    A2I_RATE_EMBEDDINGS: 'off',
    A2I_RATE_CONNECTIONS: 'off',
    A2I_PRIORITY_KEYS: PRIORITY_KEY,
    // a controllable stand-in for the models unless a test asks for A2I_PIPELINE=onnx
    A2I_PIPELINE: 'synthetic',
    A2I_SYNTHETIC_STEP_MS: '5',
    A2I_PROGRESS_INTERVAL_MS: '0',
    A2I_HEARTBEAT_INTERVAL_MS: '500',
    A2I_LOCK_DURATION_MS: '5000',
    A2I_STALLED_INTERVAL_MS: '2000',
    ...env,
  });
  return { ...config, tmp };
}

/** Deletes every key under the prefix (queues, job states, heartbeats). */
export async function removePrefix(prefix: string): Promise<void> {
  await removeKeysWithPrefix(REDIS_URL, prefix);
}

/** Removes what a test config made: its Redis keys and its temporary folder. */
export async function removeTestState(config: ServerConfig & { tmp: string }): Promise<void> {
  await removePrefix(config.redis.prefix);
  await rm(config.tmp, { recursive: true, force: true });
}

/**
 * The environment of a worker process (test/support/server-processes.ts) on a test config's
 * Redis prefix and folders, quiet, that notices a lost worker fast: its lock runs out after
 * 2 s and the others look for stalled jobs every second.
 */
export function failoverWorkerEnv(config: ServerConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: config.redis.prefix,
    A2I_UPLOADS_DIR: config.dirs.uploads,
    A2I_RESULTS_DIR: config.dirs.results,
    A2I_LOG_LEVEL: 'silent',
    A2I_PROGRESS_INTERVAL_MS: '0',
    A2I_LOCK_DURATION_MS: '2000',
    A2I_STALLED_INTERVAL_MS: '1000',
    A2I_HEARTBEAT_INTERVAL_MS: '300',
    ...extra,
  };
}

/** A test's own handles on a stack's Redis: the key layout, a plain client and the generation queue. */
export interface QueueProbe {
  layout: RedisLayout;
  redis: Redis;
  queue: Queue;
  /** The ingest queue (POST /v1/collections/:name/items). */
  ingest: Queue;
  close(): Promise<void>;
}

export function openQueueProbe(prefix: string): QueueProbe {
  const layout = redisLayout(prefix);
  const redis = new Redis(REDIS_URL);
  const queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
  const ingest = new Queue(layout.ingestQueue, { connection: queueConnection, prefix: layout.prefix });
  return {
    layout,
    redis,
    queue,
    ingest,
    async close() {
      await queue.close();
      await ingest.close();
      await queueConnection.quit();
      await redis.quit();
    },
  };
}

export interface Stack {
  config: ServerConfig & { tmp: string };
  apis: ApiApp[];
  urls: string[];
  workers: RunningWorker[];
  close(): Promise<void>;
}

/** Real api instance(s) on ephemeral ports + in-process worker(s) (pipeline in its thread). */
export async function startStack(options: { env?: Record<string, string>; apis?: number; workers?: number } = {}): Promise<Stack> {
  const config = await testConfig(options.env);
  const workers: RunningWorker[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    workers.push(await startWorker({ config: { ...config, worker: { ...config.worker, name: `test-worker-${i}` } }, logger: silent }));
  }
  const apis: ApiApp[] = [];
  const urls: string[] = [];
  for (let i = 0; i < (options.apis ?? 1); i++) {
    const api = await createApp({ config, logger: silent });
    urls.push(await api.listen(0, '127.0.0.1'));
    apis.push(api);
  }
  return {
    config,
    apis,
    urls,
    workers,
    async close() {
      for (const api of apis) await api.close();
      for (const worker of workers) await worker.close();
      await removeTestState(config);
    },
  };
}

/** The stack of a `describe` block (`useStack`): read in tests, once `beforeAll` has run. */
export interface StackInUse {
  readonly stack: Stack;
  /** The first api instance's base URL. */
  readonly url: string;
  /** The test's own handles on the stack's Redis (layout, a plain client, the generation queue). */
  readonly probe: QueueProbe;
}

/** Starts a stack (and its probe) before the block's tests and closes both after them. */
export function useStack(options: Parameters<typeof startStack>[0] = {}): StackInUse {
  let stack: Stack | undefined;
  let probe: QueueProbe | undefined;
  beforeAll(async () => {
    stack = await startStack(options);
    probe = openQueueProbe(stack.config.redis.prefix);
  });
  afterAll(async () => {
    await probe?.close();
    await stack?.close();
  });
  const started = () => {
    if (!stack || !probe) throw new Error('Expected the stack to be started (useStack registers beforeAll)');
    return { stack, probe };
  };
  return {
    get stack() {
      return started().stack;
    },
    get url() {
      return started().stack.urls[0]!;
    },
    get probe() {
      return started().probe;
    },
  };
}

/** An in-process api whose workers are separate processes that a test can kill (`useApiWithWorkerProcesses`). */
export interface ApiWithWorkerProcesses {
  readonly config: ServerConfig & { tmp: string };
  readonly url: string;
  /** Starts a worker process named `name` on the api's Redis and folders (failoverWorkerEnv plus `env`). */
  spawnWorker(name: string, pipeline: string, env?: Record<string, string>): ServerProcess;
}

/** Starts the api before the block's tests; after them stops every worker process, the api and its state. */
export function useApiWithWorkerProcesses(): ApiWithWorkerProcesses {
  let config: (ServerConfig & { tmp: string }) | undefined;
  let api: ApiApp | undefined;
  let url = '';
  const children: ServerProcess[] = [];
  beforeAll(async () => {
    config = await testConfig();
    api = await createApp({ config, logger: silent });
    url = await api.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await api?.close();
    if (config) await removeTestState(config);
  });
  const started = () => {
    if (!config) throw new Error('Expected the api to be started (useApiWithWorkerProcesses registers beforeAll)');
    return config;
  };
  return {
    get config() {
      return started();
    },
    get url() {
      started();
      return url;
    },
    spawnWorker(name, pipeline, env = {}) {
      const child = startWorkerProcess(failoverWorkerEnv(started(), { ...env, A2I_WORKER_NAME: name }), pipeline, 'inherit');
      children.push(child);
      return child;
    },
  };
}

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connectSocket(url: string, auth: Record<string, string | boolean> = {}): TestSocket {
  return io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
}

export interface RecordedEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** Records every job event on a socket, in order. */
export function recordSocketEvents(socket: TestSocket): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  socket.onAny((type: string, payload: Record<string, unknown>) => events.push({ type, payload }));
  return events;
}

/** Reads an SSE stream until it ends (the server ends it after a terminal event). */
export async function readSse(url: string, headers: Record<string, string> = {}): Promise<RecordedEvent[]> {
  const response = await fetch(url, { headers });
  if (!response.ok || !response.body) throw new Error(`SSE answered ${response.status}: ${await response.text()}`);
  const events: RecordedEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push({ type: event.event ?? 'message', payload: JSON.parse(event.data) }) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  return events;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A response body as JSON, typed loosely for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(response: Response): Promise<any> {
  return response.json();
}

/** A JSON request (or none) with any method; the answer's status and parsed body. */
export async function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A multipart body: the `request` JSON field and one file part per entry. */
export function multipart(request: unknown, files: Record<string, { bytes: Buffer; type: string }>): FormData {
  const form = new FormData();
  form.set('request', JSON.stringify(request));
  for (const [part, file] of Object.entries(files)) form.set(part, new Blob([file.bytes], { type: file.type }), part);
  return form;
}

/** The two keys of `withTwoKeyApp`, as the headers that present them (one as a bearer token, one as x-api-key). */
export interface TwoKeys {
  url: string;
  one: Record<string, string>;
  two: Record<string, string>;
}

/**
 * A second api instance on the stack's Redis and storage with A2I_API_KEYS = key-one,key-two,
 * for the tests of what belongs to which key; closed after `use`.
 */
export async function withTwoKeyApp(stack: Stack, use: (keys: TwoKeys) => Promise<void>): Promise<void> {
  const keyed: ApiApp = await createApp({ config: { ...stack.config, apiKeys: ['key-one', 'key-two'] }, logger: silent });
  const url = await keyed.listen(0, '127.0.0.1');
  try {
    await use({ url, one: { authorization: 'Bearer key-one' }, two: { 'x-api-key': 'key-two' } });
  } finally {
    await keyed.close({ graceMs: 0 });
  }
}
