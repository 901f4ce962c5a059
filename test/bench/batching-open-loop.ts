/**
 * The batching bench's last part (batching.bench.ts): open-loop arrivals of the mix through the
 * real server, an api and one worker process on a fresh Redis prefix per cell, each cell an
 * A2I_MAX_BATCH_ROWS (with, when asked, an A2I_SHARED_CALL_ROWS, and an A2I_ORT_THREADS) on the
 * same arrival times.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { isGuided, mulberry32, removeKeysWithPrefix } from '@a2i/protocol';
import { positiveInt } from './bench-args.js';
import { percentile, r1 } from './bench-stats.js';
import { freePort } from '../support/redis-server.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startApiProcess, startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitForReadyServer } from '../support/server-ready.js';

/** One job of the mix, as the request's fields. */
export interface MixedRequest {
  steps: number;
  numImages: number;
  scheduler: 'ddim' | 'dpmsolver++' | 'euler' | 'pndm' | 'ddpm';
  guidance: number;
  prior: 'on' | 'off';
  noiseLevel: number;
  seed: number;
}

/** UNet model rows x steps of a request: a guided one (isGuided) runs 2 rows an image (PNDM's one extra call at its start not counted). */
export const unetRowSteps = (r: MixedRequest) => r.steps * r.numImages * (isGuided(r.guidance) ? 2 : 1);

/**
 * Completions per millisecond over the steady part of a run: from the 10th to the 90th percentile
 * completion, leaving out the start (the batch still filling) and the drain (the last jobs with
 * ever fewer companions), which a FIFO worker does not feel and a batching one does.
 */
function steadyRate(completedAt: number[]): number {
  const at = [...completedAt].sort((a, b) => a - b);
  const first = Math.floor(at.length * 0.1);
  const last = Math.ceil(at.length * 0.9) - 1;
  return last > first ? (last - first) / (at[last]! - at[first]!) : Number.NaN;
}

/** Poisson arrivals: exponential gaps at `perSecond`, in ms from the start. */
function arrivals(count: number, perSecond: number, seed: number): number[] {
  const rand = mulberry32(seed);
  let t = 0;
  return Array.from({ length: count }, () => {
    const at = t;
    t += (-Math.log(1 - rand()) / perSecond) * 1000;
    return at;
  });
}

/**
 * A worker of the bench: A2I_MAX_BATCH_ROWS, A2I_SHARED_CALL_ROWS (null: not set, the server's
 * default; 0: no cap), A2I_PIPELINE_INSTANCES and A2I_ORT_THREADS (null: not set, the server's
 * default).
 */
export interface WorkerShape {
  rows: number;
  callRows: number | null;
  instances: number | null;
  threads: number | null;
}

/**
 * `--rows 1,32,32/12,32/0,32x1,1x2,1@2`: rows, or rows/call rows (a cap on each shared UNet
 * call's model rows; 0: none); xN: N pipeline instances (rows 1 with N instances also takes N jobs
 * at once, A2I_WORKER_CONCURRENCY N: N one-at-a-time jobs side by side, nothing shared); @T:
 * A2I_ORT_THREADS T for this cell.
 */
export function parseWorkerShapes(arg: string): WorkerShape[] {
  return arg.split(',').map((cell) => {
    const match = /^(\d+)(?:\/(\d+))?(?:x(\d+))?(?:@(\d+))?$/.exec(cell);
    if (!match) throw new TypeError(`Expected --rows cells like 32, 32/12, 32/12x2 or 1@2 but received ${cell}`);
    const [, rows = '', callRows, instances, threads] = match;
    return {
      rows: positiveInt('rows', rows),
      // a cap of 0 is a worker without one
      callRows: callRows === undefined ? null : callRows === '0' ? 0 : positiveInt('rows', callRows),
      instances: instances === undefined ? null : positiveInt('rows', instances),
      threads: threads === undefined ? null : positiveInt('rows', threads),
    };
  });
}

/**
 * `--ort-threads 1,2`: every shape once per thread count, as its @T where it has none (a shape
 * with its own @T once).
 */
export function withThreads(shapes: WorkerShape[], threads: number[]): WorkerShape[] {
  if (threads.length === 0) return shapes;
  const all = threads.flatMap((t) => shapes.map((s) => (s.threads === null ? { ...s, threads: t } : s)));
  return all.filter((s, i) => all.findIndex((o) => shapeName(o) === shapeName(s)) === i);
}

/** `32`, `32/12`, `32/12x2`, `1@2`: the shape as --rows writes it. */
export const shapeName = (s: WorkerShape) =>
  `${s.rows}${s.callRows === null ? '' : `/${s.callRows}`}${s.instances === null ? '' : `x${s.instances}`}${s.threads === null ? '' : `@${s.threads}`}`;

/** The worker's environment for a shape. */
export function shapeEnv({ rows, callRows, instances, threads }: WorkerShape): Record<string, string> {
  return {
    A2I_MAX_BATCH_ROWS: String(rows),
    ...(callRows === null ? {} : { A2I_SHARED_CALL_ROWS: String(callRows) }),
    ...(instances === null ? {} : { A2I_PIPELINE_INSTANCES: String(instances) }),
    ...(instances !== null && rows === 1 ? { A2I_WORKER_CONCURRENCY: String(instances) } : {}),
    ...(threads === null ? {} : { A2I_ORT_THREADS: String(threads) }),
  };
}

export interface CellResult {
  rows: number;
  /** A2I_SHARED_CALL_ROWS of the worker, or null: not set. */
  callRows: number | null;
  /** A2I_PIPELINE_INSTANCES of the worker, or null: not set. */
  instances: number | null;
  /** A2I_ORT_THREADS of this cell's worker (its `@T`), or null: the server's default (and the bench's environment). */
  threads: number | null;
  loadPercent: number | 'backlog';
  jobs: number;
  succeeded: number;
  /** Jobs completed / the time from the first arrival to the last completion (ramp and drain included). */
  jobsPerMin: number;
  /** Jobs completed per minute between the 10th and the 90th percentile completion (the steady part of the run). */
  steadyJobsPerMin: number;
  /** The mix's UNet arithmetic per second at steadyJobsPerMin (GFLOP/s), when the UNet's FLOPs are known. */
  steadyUnetGflops: number | null;
  all: { p50: number; p95: number; p99: number };
  short: { count: number; p50: number; p95: number; p99: number };
  long: { count: number; p50: number; p95: number; p99: number };
  /** Short jobs' wait in the queue, POST to job:started (the rest of their time is the run). */
  shortQueued: { p50: number; p99: number };
}

export interface OpenLoopOptions {
  mix: MixedRequest[];
  /** The one-at-a-time capacity the loads are % of. */
  capacityPerSec: number;
  /** The UNet's FLOPs a model row, or null when unknown. */
  flopsPerRow: number | null;
  rows: WorkerShape[];
  loads: Array<number | 'backlog'>;
  seed: number;
  pack: string;
  redisUrl: string;
  /** Jobs of at most this many steps are short. */
  shortSteps: number;
}

/** Every worker shape at every load, in that order. */
export async function openLoop(o: OpenLoopOptions): Promise<CellResult[]> {
  const jobs = o.mix.length;
  const flopsPerJob = o.flopsPerRow === null ? null : (o.mix.reduce((sum, r) => sum + unetRowSteps(r), 0) / jobs) * o.flopsPerRow;
  const wav = sampleSoundWav({ seconds: 1 });
  const results: CellResult[] = [];
  for (const shape of o.rows) {
    const { rows, callRows, instances, threads } = shape;
    const label = `rows ${shapeName(shape)}`;
    const tmp = await mkdtemp(join(tmpdir(), 'a2i-batching-bench-'));
    const prefix = `a2i-bench-batching-${randomBytes(5).toString('hex')}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      A2I_REDIS_URL: o.redisUrl,
      A2I_REDIS_PREFIX: prefix,
      A2I_PORT: String(port),
      A2I_UPLOADS_DIR: join(tmp, 'uploads'),
      A2I_RESULTS_DIR: join(tmp, 'results'),
      A2I_PACK_DIR: o.pack,
      A2I_LOG_LEVEL: 'silent',
      ...shapeEnv(shape),
      A2I_MAX_QUEUE_DEPTH: String(jobs * 4),
      A2I_RATE_GENERATIONS: 'off',
      A2I_RATE_CONNECTIONS: 'off',
      A2I_SOCKETS_PER_ADDRESS: String(jobs * 4),
    };
    const processes: ServerProcess[] = [startApiProcess(env), startWorkerProcess(env, 'onnx')];
    try {
      await waitForReadyServer(url, { timeoutMs: 120_000 });
      for (const load of o.loads) {
        // a backlog: posted 5 ms apart, so the queue fills at once without a burst of parallel uploads
        const times = load === 'backlog' ? Array.from({ length: jobs }, (_, i) => i * 5) : arrivals(jobs, (o.capacityPerSec * load) / 100, o.seed * 1000 + load);
        const done: Array<{ steps: number; ms: number; at: number; queuedMs: number } | null> = new Array(jobs).fill(null);
        const sockets: Socket[] = [];
        const started = performance.now();
        const finished = new Promise<void>((resolveAll, rejectAll) => {
          let left = jobs;
          const timer = setTimeout(() => rejectAll(new Error(`${label}, load ${load} %: ${left} jobs did not finish within 10 min`)), 600_000);
          o.mix.forEach((r, i) => {
            setTimeout(async () => {
              const body = new FormData();
              body.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], ...r }));
              body.set('sound', new Blob([wav]), 'sound.wav');
              const posted = performance.now();
              const response = await fetch(`${url}/v1/generations`, { method: 'POST', body });
              const created = (await response.json()) as { id: string; token: string };
              if (response.status !== 202) return rejectAll(new Error(`POST answered ${response.status}: ${JSON.stringify(created)}`));
              const socket = io(url, { auth: { jobId: created.id, token: created.token }, transports: ['websocket'], reconnection: false, forceNew: true });
              sockets.push(socket);
              let queuedMs = Number.NaN;
              socket.on('job:started', () => (queuedMs = performance.now() - posted));
              const end = (ok: boolean) => {
                if (done[i]) return;
                done[i] = { steps: r.steps, ms: ok ? performance.now() - posted : Number.NaN, at: performance.now() - started, queuedMs };
                socket.disconnect();
                if (--left === 0) {
                  clearTimeout(timer);
                  resolveAll();
                }
              };
              socket.on('job:succeeded', () => end(true));
              socket.on('job:failed', () => end(false));
              socket.on('job:canceled', () => end(false));
            }, times[i]!);
          });
        });
        await finished;
        for (const socket of sockets) socket.disconnect();
        const ok = done.filter((d): d is NonNullable<typeof d> => d !== null && Number.isFinite(d.ms));
        const lastAt = Math.max(...ok.map((d) => d.at));
        const stats = (xs: number[]) => ({ count: xs.length, p50: r1(percentile(xs, 50)), p95: r1(percentile(xs, 95)), p99: r1(percentile(xs, 99)) });
        const all = stats(ok.map((d) => d.ms));
        const steadyPerMs = steadyRate(ok.map((d) => d.at));
        const shortQueued = stats(ok.filter((d) => d.steps <= o.shortSteps && Number.isFinite(d.queuedMs)).map((d) => d.queuedMs));
        const cell: CellResult = {
          rows,
          callRows,
          instances,
          threads,
          loadPercent: load,
          jobs,
          succeeded: ok.length,
          jobsPerMin: r1((ok.length / lastAt) * 60_000),
          steadyJobsPerMin: r1(steadyPerMs * 60_000),
          steadyUnetGflops: flopsPerJob === null ? null : r1((steadyPerMs * 1000 * flopsPerJob) / 1e9),
          all: { p50: all.p50, p95: all.p95, p99: all.p99 },
          short: stats(ok.filter((d) => d.steps <= o.shortSteps).map((d) => d.ms)),
          long: stats(ok.filter((d) => d.steps > o.shortSteps).map((d) => d.ms)),
          shortQueued: { p50: shortQueued.p50, p99: shortQueued.p99 },
        };
        results.push(cell);
        console.log(`${label}, load ${load === 'backlog' ? 'backlog' : `${load} %`}: ${cell.succeeded}/${jobs} ok, ${cell.jobsPerMin} jobs/min (steady ${cell.steadyJobsPerMin}${cell.steadyUnetGflops === null ? '' : `, UNet arithmetic ${cell.steadyUnetGflops} GFLOP/s`}); all p50/p95/p99 ${all.p50}/${all.p95}/${all.p99} ms; short ${cell.short.p50}/${cell.short.p95}/${cell.short.p99} (queued p50/p99 ${cell.shortQueued.p50}/${cell.shortQueued.p99}); long ${cell.long.p50}/${cell.long.p95}/${cell.long.p99}`);
      }
    } finally {
      for (const child of processes) await child.stop('SIGTERM', 10_000);
      await removeKeysWithPrefix(o.redisUrl, prefix).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return results;
}
