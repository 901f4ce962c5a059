/**
 * Server benchmark: what the server adds around one generation, and how many it completes.
 *
 *   npx tsx test/bench/server.bench.ts [--runs 30] [--jobs 12] [--steps N] [--json PATH]
 *
 * 1. End-to-end latency of one job over HTTP (multipart POST -> socket.io events ->
 *    job:succeeded -> the image: fetched by a GET of its link, or inside job:succeeded when
 *    the socket asks for inlineImages), one job at a time, against the same generation
 *    in-process (loadPipeline + generate + the previews the request asks for + PNG encode),
 *    the three run in turn in one loop so that all meet the same machine: medians and their
 *    ratios (the server's overhead factor), and the medians of the HTTP job's phases (POST,
 *    worker, event delivery, GET). The server runs with its default settings (progress
 *    events throttled to A2I_PROGRESS_INTERVAL_MS, 200 ms).
 * 2. Jobs per minute with 1 and then 2 worker processes: `--jobs` submitted at once,
 *    timed from the first POST to the last job:succeeded (default settings too).
 * 3. Worker-progress -> client-event latency, p50 / p99: for every job:progress a socket.io
 *    client receives, its arrival time minus the event's `at` (stamped by the worker when it
 *    publishes to Redis; integer milliseconds, same clock: one machine). Measured with the
 *    workers restarted with A2I_PROGRESS_INTERVAL_MS=0 (every step is an event: the worst
 *    case for the event path), one job at a time (idle) and `--jobs` at once on 2 workers.
 *
 * The api and the workers are separate processes (`tsx apps/api/src/main.ts`,
 * `tsx apps/worker/src/main.ts`), as `npm start` runs them, on a real Redis (A2I_REDIS_URL,
 * default 127.0.0.1:6379) under a fresh key prefix that is deleted at the end. The pipeline
 * is the one the worker defaults to (test/support/default-pipeline.ts: the ONNX pipeline on
 * the demo pack; until that pack is built, the synthetic STAND-IN, which sleeps
 * A2I_SYNTHETIC_STEP_MS per step instead of running models: the report says which).
 * Skipped, with a note in the JSON, when no Redis answers or an explicitly chosen pack is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { generationRequestSchema, loadServerConfig, parseOrThrow, redisAnswers, removeKeysWithPrefix, requestLimitsOf, resolveGenerationRequest, type PackDescription } from '@a2i/protocol';
import { encodeImage, encodePreview, loadPipeline, pipelineSpecOf } from '@a2i/pipeline';
import { defaultPipeline } from '../support/default-pipeline.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { freePort } from '../support/redis-server.js';
import { positiveInt } from './bench-args.js';

const ROOT = resolve(import.meta.dirname, '../..');
const API_MAIN = join(ROOT, 'apps/api/src/main.ts');
const WORKER_MAIN = join(ROOT, 'apps/worker/src/main.ts');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    jobs: { type: 'string', default: '12' },
    steps: { type: 'string' },
    json: { type: 'string' },
  },
});

const RUNS = positiveInt('runs', args.runs);
const JOBS = positiveInt('jobs', args.jobs);
const STEPS = args.steps === undefined ? undefined : positiveInt('steps', args.steps);

// ------------------------------------------------------------------ statistics
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile (p in 0..100). */
function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const median = (xs: number[]) => {
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
function latencySummary(samples: number[]) {
  return { samples: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: samples.length ? Math.max(...samples) : Number.NaN };
}

// ------------------------------------------------------------------ processes

class ProcessGroup {
  private readonly children: Array<{ name: string; child: ChildProcess; log: string }> = [];
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
  ) {}

  start(name: string, main: string, extraEnv: NodeJS.ProcessEnv = {}): void {
    const log = join(this.logDir, `${name}.log`);
    const out = createWriteStream(log);
    const child = spawn(process.execPath, ['--import', 'tsx', main], { cwd: ROOT, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    this.children.push({ name, child, log });
  }

  /** Throws (with the log's tail) when a child has died. */
  async assertAlive(): Promise<void> {
    for (const { name, child, log } of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
        throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}):\n${tail}`);
      }
    }
  }

  /** Stops the children whose names pass `which` (all by default) and forgets them. */
  async stop(which: (name: string) => boolean = () => true): Promise<void> {
    const stopping = this.children.filter(({ name }) => which(name));
    for (const entry of stopping) this.children.splice(this.children.indexOf(entry), 1);
    await Promise.all(
      stopping.map(
        ({ child }) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}

function waitReady(url: string, workers: number, group: ProcessGroup, timeoutMs = 120_000): Promise<void> {
  return waitForReadyServer(url, { workers, timeoutMs, assertAlive: () => group.assertAlive() });
}

// ------------------------------------------------------------------ one job over HTTP
interface JobResult {
  endToEndMs: number;
  progressLatenciesMs: number[];
  /** Where the time went (epoch milliseconds, one clock: one machine). */
  phases: {
    /** The POST: upload, validation, admission, enqueue, the 202. */
    postMs: number;
    /** From the 202 to the worker's job:succeeded stamp: pickup, generation, results written. */
    workerMs: number;
    /** From the worker's stamp to the client's job:succeeded (Redis pub/sub, api, socket.io). */
    deliveryMs: number;
    /** GET of the image (0 with inlineImages). */
    getMs: number;
  };
}

function requestBody(steps: number | undefined) {
  return { inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], seed: 7, numImages: 1, format: 'png', previewEvery: 5, ...(steps ? { steps } : {}) };
}

/**
 * One job as a client runs it. `inlineImages`: the socket asks for the images inside
 * job:succeeded (no GET); otherwise the image is fetched from its link.
 */
async function runJobOverHttp(url: string, wav: Uint8Array, steps: number | undefined, inlineImages = false): Promise<JobResult> {
  const started = performance.now();
  const startedAt = Date.now();
  const form = new FormData();
  form.set('request', JSON.stringify(requestBody(steps)));
  form.set('sound', new Blob([wav], { type: 'audio/wav' }), 'sound.wav');
  const response = await fetch(`${url}/v1/generations`, { method: 'POST', body: form });
  const created = (await response.json()) as { id: string; token: string; error?: { code: string; message: string } };
  if (response.status !== 202) throw new Error(`POST /v1/generations answered ${response.status}: ${JSON.stringify(created)}`);
  const acceptedAt = Date.now();
  const progressLatenciesMs: number[] = [];
  let succeededAt = 0;
  let receivedAt = 0;
  type Image = { url: string; data?: Uint8Array };
  const images = await new Promise<Image[]>((done, fail) => {
    const socket = io(url, { auth: { jobId: created.id, token: created.token, inlineImages }, transports: ['websocket'], reconnection: false, forceNew: true });
    const finish = (error: Error | null, value?: Image[]) => {
      socket.close();
      if (error) fail(error);
      else done(value!);
    };
    socket.on('connect_error', (error) => finish(error));
    socket.on('job:progress', (event: { at: number }) => progressLatenciesMs.push(Date.now() - event.at));
    socket.on('job:succeeded', (event: { at: number; images: Image[] }) => {
      receivedAt = Date.now();
      succeededAt = event.at;
      finish(null, event.images);
    });
    socket.on('job:failed', (event: { code: string; message: string }) => finish(new Error(`job failed: ${event.code} ${event.message}`)));
    socket.on('job:canceled', () => finish(new Error('job canceled')));
  });
  if (inlineImages) {
    if (!images[0]!.data?.length) throw new Error('Expected the image inside job:succeeded (inlineImages)');
  } else {
    const image = await fetch(`${url}${images[0]!.url}`, { headers: { 'x-job-token': created.token } });
    if (!image.ok) throw new Error(`GET ${images[0]!.url} answered ${image.status}`);
    await image.arrayBuffer();
  }
  const phases = { postMs: acceptedAt - startedAt, workerMs: succeededAt - acceptedAt, deliveryMs: receivedAt - succeededAt, getMs: Date.now() - receivedAt };
  return { endToEndMs: performance.now() - started, progressLatenciesMs, phases };
}

async function throughput(url: string, wav: Uint8Array, steps: number | undefined, jobs: number) {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: jobs }, () => runJobOverHttp(url, wav, steps)));
  const seconds = (performance.now() - started) / 1000;
  return {
    jobs,
    seconds: round(seconds, 2),
    jobsPerMinute: round((jobs / seconds) * 60),
    progressLatenciesMs: results.flatMap((r) => r.progressLatenciesMs),
  };
}

// ------------------------------------------------------------------ the same generation in-process
/** The pipeline loaded in this process, and one generation on it timed as the worker does it. */
async function inProcessRunner(config: ReturnType<typeof loadServerConfig>, wavPath: string, steps: number | undefined) {
  const pipeline = await loadPipeline(pipelineSpecOf(config));
  const description: PackDescription = pipeline.describe();
  const request = parseOrThrow(generationRequestSchema, requestBody(steps));
  const limits = requestLimitsOf(config);
  const once = async () => {
    const started = performance.now();
    const job = resolveGenerationRequest(request, description, limits, {
      id: 'bench',
      createdAt: Date.now(),
      files: { byPart: new Map([['sound', wavPath]]) },
      randomSeed: () => 7,
    });
    // the previews the request asks for are encoded as the worker encodes them
    const previews: Array<Promise<Buffer>> = [];
    const output = await pipeline.generate(job, {
      signal: new AbortController().signal,
      onProgress: () => undefined,
      onPreview: (p) => previews.push(encodePreview(p.rgb, p.width, p.height)),
    });
    await Promise.all(previews);
    for (const image of output.images) await encodeImage(image.rgb, image.width, image.height, job.options.format);
    return { ms: performance.now() - started, steps: job.options.steps };
  };
  return { description, once, close: async () => pipeline.close?.() };
}

// ------------------------------------------------------------------ main
async function main() {
  const choice = defaultPipeline();
  const config = loadServerConfig({ ...process.env, A2I_PIPELINE: choice.pipeline });
  const synthetic = choice.synthetic;
  const pipelineLabel = choice.label;
  const report: Record<string, unknown> = { bench: 'server', pipeline: config.pipeline, pipelineLabel, node: process.version };
  const write = async () => {
    if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  };
  if (!(await redisAnswers(config.redis.url))) {
    report.skipped = `no Redis answers at ${config.redis.url} (start one: redis-server, or npm start starts it)`;
    console.log(`server bench: SKIPPED: ${report.skipped}`);
    return write();
  }
  if (!synthetic && !existsSync(join(config.dirs.pack, 'manifest.json'))) {
    report.skipped = `the model pack ${config.dirs.pack} has no manifest.json (build it: bash models/recipes/build_demo_pack.sh)`;
    console.log(`server bench: SKIPPED: ${report.skipped}`);
    return write();
  }

  const tmp = await mkdtemp(join(tmpdir(), 'a2i-server-bench-'));
  const prefix = `a2i-bench-${randomBytes(6).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    A2I_PIPELINE: choice.pipeline,
    A2I_HOST: '127.0.0.1',
    A2I_PORT: String(port),
    A2I_REDIS_PREFIX: prefix,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_HEARTBEAT_INTERVAL_MS: '500',
    A2I_MAX_QUEUE_DEPTH: String(Math.max(100, JOBS * 2)),
    // one bench client on one address makes more jobs and connections than a person would
    A2I_RATE_GENERATIONS: 'off',
    A2I_RATE_CONNECTIONS: 'off',
    A2I_LOG_LEVEL: 'warn',
  };
  await mkdir(join(tmp, 'logs'));
  const group = new ProcessGroup(env, join(tmp, 'logs'));
  const wav = sampleSoundWav({ seconds: 2 });
  const wavPath = join(tmp, 'sound.wav');
  await writeFile(wavPath, wav);
  try {
    console.log(`server bench: pipeline ${pipelineLabel}`);
    // Part 1, side by side: the pipeline in this process and the server (api + 1 worker),
    // one job at a time, alternating which goes first, so that both meet the same machine.
    // Whichever is not running is idle (the worker waits on Redis).
    const local = await inProcessRunner(config, wavPath, STEPS);
    group.start('worker-1', WORKER_MAIN);
    group.start('api', API_MAIN);
    await waitReady(url, 1, group);
    const localMs: number[] = [];
    // the client as the README shows it (GET the image from job:succeeded's link), and one that
    // asks for the image inside job:succeeded (inlineImages)
    const http: { get: JobResult[]; inline: JobResult[] } = { get: [], inline: [] };
    let localSteps = 0;
    try {
      await local.once(); // warm-up: sessions, JIT
      await runJobOverHttp(url, wav, STEPS); // warm-up: sessions, sockets, JIT
      const runs = [
        async () => {
          const run = await local.once();
          localMs.push(run.ms);
          localSteps = run.steps;
        },
        async () => void http.get.push(await runJobOverHttp(url, wav, STEPS, false)),
        async () => void http.inline.push(await runJobOverHttp(url, wav, STEPS, true)),
      ];
      for (let i = 0; i < RUNS; i++) {
        for (let k = 0; k < runs.length; k++) await runs[(i + k) % runs.length]!();
      }
    } finally {
      await local.close();
    }
    const summarize = (results: JobResult[]) => {
      const ms = results.map((r) => r.endToEndMs);
      const phase = (name: keyof JobResult['phases']) => median(results.map((r) => r.phases[name]));
      const phases = { postMs: phase('postMs'), workerMs: phase('workerMs'), deliveryMs: phase('deliveryMs'), getMs: phase('getMs') };
      return { ms, median: median(ms), overhead: median(ms) / median(localMs), phases };
    };
    const viaGet = summarize(http.get);
    const viaInline = summarize(http.inline);
    console.log(`  in-process: median ${median(localMs).toFixed(1)} ms over ${RUNS} runs (${localSteps} steps, pack ${local.description.name})`);
    for (const [label, r] of [['GET image', viaGet], ['inline image', viaInline]] as const) {
      console.log(
        `  over HTTP, ${label}: median ${r.median.toFixed(1)} ms = ${r.overhead.toFixed(3)}x (medians: POST ${r.phases.postMs} ms, worker ${r.phases.workerMs} ms, event delivery ${r.phases.deliveryMs} ms, GET ${r.phases.getMs} ms)`,
      );
    }
    const oneWorker = await throughput(url, wav, STEPS, JOBS);
    console.log(`  1 worker:   ${oneWorker.jobs} jobs in ${oneWorker.seconds} s = ${oneWorker.jobsPerMinute} jobs/min`);

    // two workers on the same cores: each gets half of them for onnxruntime's threads (as
    // README "Configuration" advises), instead of both oversubscribing every core
    await group.stop((name) => name.startsWith('worker'));
    const halfTheCores = { A2I_ORT_THREADS: String(Math.max(1, Math.floor(availableParallelism() / 2))) };
    group.start('worker-1-of-2', WORKER_MAIN, halfTheCores);
    group.start('worker-2-of-2', WORKER_MAIN, halfTheCores);
    await waitReady(url, 2, group);
    await runJobOverHttp(url, wav, STEPS);
    const twoWorkers = await throughput(url, wav, STEPS, JOBS);
    console.log(`  2 workers:  ${twoWorkers.jobs} jobs in ${twoWorkers.seconds} s = ${twoWorkers.jobsPerMinute} jobs/min`);

    // part 3: every step an event (A2I_PROGRESS_INTERVAL_MS=0), idle then loaded
    await group.stop((name) => name.startsWith('worker'));
    const everyStep = { A2I_PROGRESS_INTERVAL_MS: '0' };
    group.start('worker-1-every-step', WORKER_MAIN, everyStep);
    await waitReady(url, 1, group);
    await runJobOverHttp(url, wav, STEPS);
    const idleRuns: JobResult[] = [];
    for (let i = 0; i < RUNS; i++) idleRuns.push(await runJobOverHttp(url, wav, STEPS));
    await group.stop((name) => name.startsWith('worker'));
    group.start('worker-1-every-step', WORKER_MAIN, { ...everyStep, ...halfTheCores });
    group.start('worker-2-every-step', WORKER_MAIN, { ...everyStep, ...halfTheCores });
    await waitReady(url, 2, group);
    const busy = await throughput(url, wav, STEPS, JOBS);
    const idle = latencySummary(idleRuns.flatMap((r) => r.progressLatenciesMs));
    const loaded = latencySummary(busy.progressLatenciesMs);
    console.log(`  progress -> client: idle p50 ${idle.p50Ms} ms, p99 ${idle.p99Ms} ms (${idle.samples} events); 2 workers busy p50 ${loaded.p50Ms} ms, p99 ${loaded.p99Ms} ms (${loaded.samples} events)`);

    Object.assign(report, {
      settings: { runs: RUNS, jobs: JOBS, steps: localSteps, pack: local.description.name, progressIntervalMs: { endToEndAndThroughput: config.worker.progressIntervalMs, progressLatency: 0 }, input: '2 s 16 kHz mono WAV', previewEvery: 5 },
      endToEnd: {
        inProcessMsMedian: round(median(localMs)),
        inProcessMs: localMs.map((x) => round(x)),
        getImage: { httpMsMedian: round(viaGet.median), overheadRatio: round(viaGet.overhead, 3), phaseMediansMs: viaGet.phases, httpMs: viaGet.ms.map((x) => round(x)) },
        inlineImage: { httpMsMedian: round(viaInline.median), overheadRatio: round(viaInline.overhead, 3), phaseMediansMs: viaInline.phases, httpMs: viaInline.ms.map((x) => round(x)) },
      },
      throughput: { workers1: { ...oneWorker, progressLatenciesMs: undefined }, workers2: { ...twoWorkers, progressLatenciesMs: undefined } },
      progressLatency: { idle, twoWorkersBusy: loaded, resolutionMs: 1 },
      summary: [
        { metric: 'same generation in-process, median', value: round(median(localMs)), unit: 'ms' },
        { metric: 'one job over HTTP, GET image, median', value: round(viaGet.median), unit: 'ms' },
        { metric: 'server overhead ratio, GET image (HTTP / in-process)', value: round(viaGet.overhead, 3), unit: 'x' },
        { metric: 'one job over HTTP, image inline, median', value: round(viaInline.median), unit: 'ms' },
        { metric: 'server overhead ratio, image inline (HTTP / in-process)', value: round(viaInline.overhead, 3), unit: 'x' },
        { metric: 'throughput, 1 worker', value: oneWorker.jobsPerMinute, unit: 'jobs/min' },
        { metric: 'throughput, 2 workers', value: twoWorkers.jobsPerMinute, unit: 'jobs/min' },
        { metric: 'progress -> client event p50 (idle)', value: idle.p50Ms, unit: 'ms' },
        { metric: 'progress -> client event p99 (idle)', value: idle.p99Ms, unit: 'ms' },
        { metric: 'progress -> client event p50 (2 workers busy)', value: loaded.p50Ms, unit: 'ms' },
        { metric: 'progress -> client event p99 (2 workers busy)', value: loaded.p99Ms, unit: 'ms' },
      ],
    });
    await write();
  } finally {
    await group.stop();
    await removeKeysWithPrefix(config.redis.url, prefix).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
