/**
 * Continuous batching (issue #15), measured side by side in one run:
 *
 *   npm run bench -- --only batching            (or: npx tsx test/bench/batching.bench.ts [options])
 *     --jobs 60          jobs per open-loop cell
 *     --loads 50,90,150,backlog  arrival rates, % of the one-at-a-time capacity; `backlog`: every
 *                        job posted at once, the queue never empty (throughput at saturation)
 *     --rows 1,8,32      A2I_MAX_BATCH_ROWS of the worker in each cell (1: today's worker, FIFO);
 *                        32/12: and A2I_SHARED_CALL_ROWS 12 (each shared UNet call at most 12
 *                        model rows, the jobs with the fewest steps left first), 32/0: no cap;
 *                        32: the server's default (12 on the CPU, no cap on a GPU); 32x1, 32/12x2:
 *                        and A2I_PIPELINE_INSTANCES 1 or 2 (32: the server's default, 2 on a
 *                        2-core CPU); 1x2: two one-at-a-time jobs at once on two instances
 *                        (A2I_WORKER_CONCURRENCY 2, nothing shared); 1@2: A2I_ORT_THREADS 2 for
 *                        that cell (the one-at-a-time worker on every core)
 *     --ort-threads 1,2  every --rows cell once per count, as its @T where it has none (default:
 *                        none, the server's own default); the in-process parts use the
 *                        environment's A2I_ORT_THREADS, as the server would
 *     --lone-runs 15     lone-job latency runs of each kind
 *     --seed 7           the workload's seed
 *     --mix issue        `issue`: the mix (below); `single`: the same but every job one
 *                        image without guidance (1 model row alone), where the batch curve has
 *                        the most room (the "1.3x from batch 1 to 4" is that curve)
 *     --json PATH
 *
 * 1. The batch-size curve (batch-curve.ts): one UNet step (and one VAE decode) of the pack at 1
 *    to 64 model rows (at most twice the pack's default batch, at least 16; it stops below a size
 *    the device cannot run), medians; ms per row tells where a step stops getting cheaper per
 *    row. With the demo pack and /usr/bin/python3 (python3-torch, python3-onnx), the same curve as a compute rate
 *    (GFLOP/s; the UNet's FLOPs counted by models/recipes/unet_flops.py) next to a large
 *    MatMul's: how much faster a row could still get at all.
 * 2. A lone job on an idle pipeline, shared (batching on) and unshared (today), alternating
 *    in-process: the medians and their ratio (target <= 1.05x).
 * 3. The share of a shared denoising step spent outside session.run, with 4 guided one-image
 *    jobs in the batch (8 model rows): 1 - run time / step period (target < 5 %). Then 24 of
 *    the mix's jobs one at a time, and batched in-process (up to 32 images in flight, no server):
 *    the pipeline's ceiling for the mix, the batched run's model rows per UNet call and its share
 *    of time in session.run.
 * 4. Open-loop arrivals through the real server (an api and one worker process on a fresh Redis
 *    prefix): a seeded mixed workload (10..100 steps, 1..4 images, every scheduler, guidance
 *    1..7 (1: no CFG), prior on in 1 job of 4, noise level 0 or 100), Poisson arrivals at the
 *    given % of the one-at-a-time capacity (1 / the mean in-process time of the mix's jobs run
 *    alone), each A2I_MAX_BATCH_ROWS in turn on the same arrival times: completed jobs/min and
 *    p50/p95/p99 from POST to job:succeeded, for short (<= 25 steps) and long jobs.
 *
 * Nothing here assumes the CPU: the sessions and the worker take A2I_ORT_PROVIDER /
 * A2I_ORT_DEVICE_ID / A2I_ORT_THREADS from the environment like the server (on a GPU worker:
 * `A2I_ORT_PROVIDER=cuda A2I_PACK_DIR=<pack> npm run bench -- --only batching --rows 1,8,16,32`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadServerConfig, mulberry32, pipelineLimitsOf, redisAnswers, type GenerationJob, type PipelineInput } from '@a2i/protocol';
import { PipelinePool, pipelineSpecOf } from '@a2i/pipeline';
import { OnnxPipeline } from '@a2i/pipeline/onnx';
import type { SharedCallRecord } from '@a2i/unclip';
import { positiveInt } from './bench-args.js';
import { batchCurve, computeRate } from './batch-curve.js';
import { openLoop, parseWorkerShapes, shapeName, withThreads, unetRowSteps, type MixedRequest, type WorkerShape } from './batching-open-loop.js';
import { median, percentile, r1, r3 } from './bench-stats.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '60' },
    loads: { type: 'string', default: '50,90,150,backlog' },
    rows: { type: 'string', default: '1,8,32' },
    'ort-threads': { type: 'string', default: '' },
    'lone-runs': { type: 'string', default: '15' },
    seed: { type: 'string', default: '7' },
    mix: { type: 'string', default: 'issue' },
    json: { type: 'string' },
  },
});
const JOBS = positiveInt('jobs', args.jobs);
/** Open-loop arrival rates in % of the one-at-a-time capacity, or 'backlog': every job at once. */
const LOADS: Array<number | 'backlog'> = args.loads.split(',').map((x) => (x === 'backlog' ? 'backlog' : positiveInt('loads', x)));
/** The server cells: --rows, each once per --ort-threads count. */
const ROWS = withThreads(parseWorkerShapes(args.rows), args['ort-threads'] === '' ? [] : args['ort-threads'].split(',').map((x) => positiveInt('ort-threads', x)));
const LONE_RUNS = positiveInt('lone-runs', args['lone-runs']);
const SEED = positiveInt('seed', args.seed);
if (args.mix !== 'issue' && args.mix !== 'single') throw new Error(`Expected --mix issue or single but received ${args.mix}`);
const MIX: 'issue' | 'single' = args.mix;
const SHORT_STEPS = 25;

const config = loadServerConfig(process.env);
const PACK = config.dirs.pack;
const REDIS_URL = config.redis.url;

// ------------------------------------------------------------------ the workload
const SCHEDULERS: ReadonlyArray<MixedRequest['scheduler']> = ['ddim', 'dpmsolver++', 'euler', 'pndm', 'ddpm'];
function workload(count: number, seed: number): MixedRequest[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const single = MIX === 'single';
  // every draw is made for both mixes (the workload and the arrivals are the same for every cell
  // of a run, and `single` has the issue mix's steps, schedulers and seeds)
  return Array.from({ length: count }, (_, i) => {
    const steps = 10 + Math.floor(rand() * 91);
    const numImages = 1 + Math.floor(rand() * 4);
    const scheduler = pick(SCHEDULERS);
    const guidance = pick([1, 3, 5, 7]);
    const prior: 'on' | 'off' = rand() < 0.25 ? 'on' : 'off';
    const noiseLevel = pick([0, 100]);
    return { steps, numImages: single ? 1 : numImages, scheduler, guidance: single ? 1 : guidance, prior, noiseLevel, seed: i + 1 };
  });
}

// ------------------------------------------------------------------ 2 and 3. in-process: lone job and the share outside run
const SOUND_FILE = join(PACK, 'samples/sea-bell.wav');
function pipelineJob(id: string, r: Omit<MixedRequest, 'prior'> & { usePrior: boolean }, input: PipelineInput[]): GenerationJob {
  return {
    id,
    createdAt: 0,
    inputs: input,
    options: { prompt: '', seed: r.seed, steps: r.steps, guidance: r.guidance, usePrior: r.usePrior, noiseLevel: r.noiseLevel, numImages: r.numImages, format: 'png', previewEvery: 5, priority: 'normal', scheduler: r.scheduler },
  };
}
const noHooks = () => ({ signal: new AbortController().signal, onProgress: () => undefined, onPreview: () => undefined });

async function inProcess(mix: MixedRequest[], flopsPerRow: number | null) {
  const limits = pipelineLimitsOf(config);
  const [alone, shared] = [await OnnxPipeline.open({ packDir: PACK, limits, runtime: config.runtime }), await OnnxPipeline.open({ packDir: PACK, limits, runtime: config.runtime, shareModelCalls: true })];
  const input: PipelineInput[] = [{ modality: 'audio', weight: 1, file: SOUND_FILE }];
  try {
    // 2. a lone job (25 DDIM steps, guidance 3, one image), alternating
    const lone = pipelineJob('lone', { steps: 25, numImages: 1, scheduler: 'ddim', guidance: 3, noiseLevel: 0, seed: 1, usePrior: false }, input);
    const times = { alone: [] as number[], shared: [] as number[] };
    for (let i = 0; i < LONE_RUNS + 2; i++) {
      for (const [name, pipeline] of [['alone', alone], ['shared', shared]] as const) {
        const t = performance.now();
        await pipeline.generate(lone, noHooks());
        if (i >= 2) times[name].push(performance.now() - t);
      }
    }
    const loneJob = { todayMs: r1(median(times.alone)), batchingMs: r1(median(times.shared)), ratio: r3(median(times.shared) / median(times.alone)) };
    console.log(`lone job: today ${loneJob.todayMs} ms, batching worker ${loneJob.batchingMs} ms: ${loneJob.ratio}x`);

    // 3. four guided one-image jobs of 40 steps at once: 8 model rows a step
    const records: SharedCallRecord[] = [];
    shared.observeSharedCalls((stage, record) => stage === 'decode' && records.push(record));
    const outside: number[] = [];
    for (let run = 0; run < 5; run++) {
      records.length = 0;
      await Promise.all([0, 1, 2, 3].map((k) => shared.generate(pipelineJob(`b${k}`, { steps: 40, numImages: 1, scheduler: SCHEDULERS[k]!, guidance: 3, noiseLevel: 0, seed: k + 1, usePrior: false }, input), noHooks())));
      const full = records.filter((r) => r.seatRows.reduce((a, b) => a + b, 0) === 8);
      for (let i = 1; i < full.length; i++) {
        const prev = full[i - 1]!;
        const period = full[i]!.startedAt - prev.startedAt;
        if (period < 4 * prev.totalMs + 50) outside.push(1 - prev.runMs / period);
      }
    }
    shared.observeSharedCalls(null);
    const outsideShare = { steps: outside.length, median: r3(median(outside)), p90: r3(percentile(outside, 90)) };
    console.log(`share of an 8-row step outside session.run: median ${(100 * outsideShare.median).toFixed(1)} % over ${outside.length} steps`);

    // the one-at-a-time capacity of the mix: each job's time alone, in-process
    const sample = mix.slice(0, Math.min(mix.length, 24));
    let total = 0;
    for (const [i, r] of sample.entries()) {
      const t = performance.now();
      await alone.generate(pipelineJob(`c${i}`, { ...r, usePrior: r.prior === 'on' }, input), noHooks());
      total += performance.now() - t;
    }
    const meanJobMs = total / sample.length;
    console.log(`the mix one at a time: ${meanJobMs.toFixed(0)} ms a job on average (${sample.length} jobs): capacity ${(60_000 / meanJobMs).toFixed(1)} jobs/min`);

    // the pipeline's own ceiling: the same jobs on the shared pipeline, up to 32 images in flight,
    // a new one started as soon as one ends (no server, no queue): what batching can give this mix;
    // its UNet calls recorded: model rows per call, and the share of the run spent in session.run
    const unetCalls: Array<{ rows: number; runMs: number }> = [];
    shared.observeSharedCalls((stage, record) => stage === 'decode' && unetCalls.push({ rows: record.seatRows.reduce((a, b) => a + b, 0), runMs: record.runMs }));
    const batchedMs = await pumpJobs(sample, 32, (r) => r.numImages, (r, i) => shared.generate(pipelineJob(`s${i}`, { ...r, usePrior: r.prior === 'on' }, input), noHooks()));
    shared.observeSharedCalls(null);
    const inProcessBatching = r3(total / batchedMs);
    console.log(`the mix batched in-process (32 images in flight): ${batchedMs.toFixed(0)} ms for the ${sample.length} jobs, ${inProcessBatching}x the one-at-a-time time`);
    const callRows = unetCalls.reduce((sum, c) => sum + c.rows, 0);
    const batchedUnet = { calls: unetCalls.length, meanRows: r1(callRows / unetCalls.length), runShare: r3(unetCalls.reduce((sum, c) => sum + c.runMs, 0) / batchedMs) };
    console.log(`  its UNet calls: ${batchedUnet.calls}, ${batchedUnet.meanRows} model rows each on average, ${(100 * batchedUnet.runShare).toFixed(1)} % of the time in session.run`);
    // the mix's UNet arithmetic per second of the whole job, alone and batched: a lower bound of
    // the UNet's own rate in each
    const rowSteps = sample.reduce((sum, r) => sum + unetRowSteps(r), 0);
    const mixRate = flopsPerRow === null ? null : { aloneGflops: r1((rowSteps * flopsPerRow) / total / 1e6), batchedGflops: r1((rowSteps * flopsPerRow) / batchedMs / 1e6) };
    if (mixRate) console.log(`  the mix's UNet arithmetic per second of the jobs: ${mixRate.aloneGflops} GFLOP/s one at a time, ${mixRate.batchedGflops} batched`);
    const instances = await onInstances(sample, input, total);
    return { loneJob, outsideShare, meanJobMs: r1(meanJobMs), capacityPerMin: r1(60_000 / meanJobMs), inProcessBatching, batchedUnet, mixRate, instances };
  } finally {
    await Promise.all([alone.close(), shared.close()]);
  }
}

/**
 * Runs `sample`'s jobs with at most `room` of their `size` in flight, a new one started as soon as
 * one ends (no server, no queue). @returns the milliseconds until the last ends.
 */
async function pumpJobs(sample: MixedRequest[], room: number, size: (r: MixedRequest) => number, run: (r: MixedRequest, i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolveAll, rejectAll) => {
    let next = 0;
    let held = 0;
    let left = sample.length;
    const pump = () => {
      while (next < sample.length && held < room) {
        const i = next++;
        const r = sample[i]!;
        held += size(r);
        run(r, i).then(() => {
          held -= size(r);
          if (--left === 0) resolveAll();
          else pump();
        }, rejectAll);
      }
    };
    pump();
  });
  return performance.now() - started;
}

/**
 * The server's pipeline instances (A2I_PIPELINE_INSTANCES, when more than one), in-process: the
 * same jobs batched over them (32 images in flight, the server's row cap), and one at a time on
 * each of them side by side (as many jobs at once as instances, nothing shared: where the gain
 * would be without batching), against `aloneMs`, the jobs one at a time on one instance.
 */
async function onInstances(sample: MixedRequest[], input: PipelineInput[], aloneMs: number) {
  const count = config.worker.pipelineInstances;
  if (count < 2) return null;
  const spec = pipelineSpecOf(config);
  const speedUp = async (share: boolean) => {
    const pool = await PipelinePool.start({ ...spec, shareModelCalls: share }, count);
    try {
      await pool.warmUp();
      const ms = await pumpJobs(sample, share ? 32 : count, (r) => (share ? r.numImages : 1), (r, i) => pool.generate(pipelineJob(`p${i}`, { ...r, usePrior: r.prior === 'on' }, input), noHooks()));
      return r3(aloneMs / ms);
    } finally {
      await pool.close();
    }
  };
  const result = { count, batched: await speedUp(true), sideBySide: await speedUp(false) };
  console.log(`the mix on ${count} pipeline instances in-process: batched ${result.batched}x, one job at a time on each ${result.sideBySide}x the one-at-a-time time on one`);
  return result;
}

// ------------------------------------------------------------------ main
const report: Record<string, unknown> = { pack: PACK, provider: config.runtime.executionProvider, ortThreads: config.runtime.intraOpThreads, jobsPerCell: JOBS, seed: SEED, mix: MIX };
try {
  const curve = await batchCurve(PACK, config.runtime);
  report.curve = curve;
  const rate = await computeRate(PACK, config.runtime, curve);
  report.computeRate = rate;
  if ('skipped' in rate) console.log(`compute rate: skipped: ${rate.skipped}`);
  const mix = workload(JOBS, SEED);
  const local = await inProcess(mix, 'skipped' in rate ? null : rate.unetFlopsPerRow);
  Object.assign(report, local);
  if (!(await redisAnswers(REDIS_URL))) {
    report.skipped = `open-loop part: no Redis answers at ${REDIS_URL}`;
  } else {
    const cells = await openLoop({
      mix,
      capacityPerSec: local.capacityPerMin / 60,
      flopsPerRow: 'skipped' in rate ? null : rate.unetFlopsPerRow,
      rows: ROWS,
      loads: LOADS,
      seed: SEED,
      pack: PACK,
      redisUrl: REDIS_URL,
      shortSteps: SHORT_STEPS,
    });
    report.openLoop = cells;
    const at = (shape: WorkerShape, load: number | 'backlog') => cells.find((c) => shapeName(c) === shapeName(shape) && c.loadPercent === load);
    // the reference: the first one-at-a-time cell (rows 1, one instance: today's worker), whatever its threads
    const fifo = ROWS.find((s) => s.rows === 1 && s.instances === null && s.callRows === null);
    const rates = LOADS.filter((load): load is number => load !== 'backlog');
    const top = Math.max(...rates);
    const summary: Array<{ metric: string; value: number | string | null; unit: string }> = [
      { metric: 'lone job, batching / today (target <= 1.05)', value: local.loneJob.ratio, unit: 'x' },
      { metric: 'share of an 8-row step outside session.run (target < 5 %)', value: r1(100 * local.outsideShare.median), unit: '%' },
      { metric: 'the mix batched in-process (32 images in flight) / one at a time: the pipeline\'s ceiling', value: local.inProcessBatching, unit: 'x' },
      { metric: 'share of that batched run spent in the UNet\'s session.run', value: r1(100 * local.batchedUnet.runShare), unit: '%' },
    ];
    if (local.instances) {
      summary.push(
        { metric: `the mix batched in-process on ${local.instances.count} pipeline instances (A2I_PIPELINE_INSTANCES) / one at a time on one`, value: local.instances.batched, unit: 'x' },
        { metric: `the mix one job at a time on each of ${local.instances.count} instances side by side (nothing shared) / one at a time on one`, value: local.instances.sideBySide, unit: 'x' },
      );
    }
    if (!('skipped' in rate) && rate.unet.length > 0) {
      const best = rate.unet.reduce((a, b) => (b.gflops > a.gflops ? b : a));
      summary.push(
        { metric: `UNet compute rate at 1 row / at its best (${best.rows} rows)`, value: `${rate.unet[0]!.gflops} / ${best.gflops}`, unit: 'GFLOP/s' },
        { metric: `a ${rate.matmul.m}x${rate.matmul.k}x${rate.matmul.k} MatMul, same session options`, value: rate.matmul.gflops, unit: 'GFLOP/s' },
      );
      if (local.mixRate) summary.push({ metric: 'the mix\'s UNet arithmetic per second of its jobs, one at a time / batched in-process', value: `${local.mixRate.aloneGflops} / ${local.mixRate.batchedGflops}`, unit: 'GFLOP/s' });
    }
    for (const shape of fifo ? ROWS.filter((s) => s !== fifo) : []) {
      const vs = (load: number | 'backlog') => ({ cell: at(shape, load), base: at(fifo!, load) });
      const of = `rows ${shapeName(shape)} / rows ${shapeName(fifo!)}`;
      const saturation = vs('backlog');
      if (saturation.cell && saturation.base) {
        summary.push({ metric: `throughput at saturation (a backlog, steady part), ${of} (target >= 1.3)`, value: r3(saturation.cell.steadyJobsPerMin / saturation.base.steadyJobsPerMin), unit: 'x' });
        if (saturation.cell.steadyUnetGflops && saturation.base.steadyUnetGflops) summary.push({ metric: `the mix's UNet arithmetic per second at saturation through the server, ${of}`, value: `${saturation.cell.steadyUnetGflops} / ${saturation.base.steadyUnetGflops}`, unit: 'GFLOP/s' });
      }
      const atTop = vs(top);
      if (atTop.cell && atTop.base) summary.push({ metric: `throughput at ${top} % load (ramp and drain included), ${of}`, value: r3(atTop.cell.jobsPerMin / atTop.base.jobsPerMin), unit: 'x' });
      const at90 = vs(90);
      if (at90.cell && at90.base) summary.push({ metric: `short jobs' p99 at 90 %, ${of} (target <= 0.5)`, value: r3(at90.cell.short.p99 / at90.base.short.p99), unit: 'x' });
    }
    report.summary = summary;
  }
} catch (error) {
  report.error = String((error as Error).stack ?? error);
  console.error(error);
  process.exitCode = 1;
}
if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report.summary ?? report, null, 2));
