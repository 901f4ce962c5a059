/**
 * Sampler benchmark: time per denoising step and the share of each step spent outside
 * `session.run` (the scheduler, guidance, noise and tensor copies; target < 5 %), as medians
 * over several runs.
 *
 *   npx tsx packages/unclip/bench/sampler.bench.ts [--pack models/demo] [--runs 5] [--steps 25]
 *       [--scheduler ddim] [--images 1] [--guidance 3] [--json PATH]
 *
 * With no pack (or --tiny) it runs the tiny test graphs of test/fixtures, which measures the
 * loop's own overhead against a near-zero model. Prompt hidden states are zeros: this times
 * the loop, it does not make meaningful images.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeLatents, prepareVae, sampleDecoder, samplePrior, type DecoderManifest, type PriorManifest, type SchedulerName } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    pack: { type: 'string', default: resolve(here, '../../../models/demo') },
    tiny: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    steps: { type: 'string', default: '25' },
    scheduler: { type: 'string', default: 'ddim' },
    images: { type: 'string', default: '1' },
    guidance: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});

interface Pack {
  source: string;
  decoder: DecoderManifest;
  prior: PriorManifest | null;
  unet: ort.InferenceSession;
  vae: ort.InferenceSession;
  priorSession: ort.InferenceSession | null;
}

async function loadPack(): Promise<Pack> {
  const manifestPath = join(args.pack, 'manifest.json');
  if (!args.tiny && existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { decoder: DecoderManifest; prior: PriorManifest | null };
    const open = (file: string | undefined): Promise<ort.InferenceSession> => ort.InferenceSession.create(join(args.pack, file!));
    return {
      source: args.pack,
      decoder: manifest.decoder,
      prior: manifest.prior,
      unet: await open(manifest.decoder.unet.file),
      vae: await open(manifest.decoder.vae.file),
      priorSession: manifest.prior ? await open(manifest.prior.file) : null,
    };
  }
  const fixtures = resolve(here, '../test/fixtures');
  const reference = JSON.parse(readFileSync(join(fixtures, 'sampler-reference.json'), 'utf8')) as {
    manifest: { decoder: Omit<DecoderManifest, 'scheduler'>; prior: Omit<PriorManifest, 'scheduler'> };
  };
  const scheduler = { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, predictionType: 'v_prediction', stepsOffset: 1, clipSample: false, setAlphaToOne: false } as const;
  return {
    source: 'tiny test graphs (packages/unclip/test/fixtures)',
    decoder: { ...reference.manifest.decoder, scheduler },
    prior: { ...reference.manifest.prior, scheduler: { betaSchedule: 'squaredcos_cap_v2', predictionType: 'sample', clipSample: false } },
    unet: await ort.InferenceSession.create(join(fixtures, 'unet-int64.onnx')),
    vae: await ort.InferenceSession.create(join(fixtures, 'vae-decoder.onnx')),
    priorSession: await ort.InferenceSession.create(join(fixtures, 'prior.onnx')),
  };
}

/** Wraps a session so that the time inside each run() is recorded. */
function timed(session: ort.InferenceSession, runTimes: number[]): ort.InferenceSession {
  return new Proxy(session, {
    get(target, prop) {
      if (prop === 'run') {
        return async (...a: unknown[]) => {
          const start = performance.now();
          const out = await (target.run as (...x: unknown[]) => Promise<unknown>)(...a);
          runTimes.push(performance.now() - start);
          return out;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function unitVector(dim: number, seed: number): Float32Array {
  const v = Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

async function benchDecoder(pack: Pack, runs: number, steps: number, images: number, guidance: number, scheduler: SchedulerName) {
  const D = pack.decoder.noiseAugmentation.mean.length;
  const [tokens, width] = (pack.decoder.promptConditioning?.shape ?? [77, 1]) as [number, number];
  const perRun: Array<{ stepMs: number; outsideShare: number; vaeMs: number; totalMs: number }> = [];
  const vaeModel = prepareVae(pack.vae, pack.decoder);
  for (let r = 0; r < runs + 1; r++) {
    const runTimes: number[] = [];
    const stepEnds: number[] = [];
    const start = performance.now();
    const result = await sampleDecoder({
      unet: timed(pack.unet, runTimes),
      vae: null,
      manifestDecoder: pack.decoder,
      imageEmbeddings: unitVector(D, r),
      promptHiddenStates: pack.decoder.promptConditioning
        ? { conditional: new Float32Array(tokens * width), unconditional: new Float32Array(tokens * width) }
        : undefined,
      noiseLevel: 0,
      seeds: Array.from({ length: images }, (_, i) => 1000 * r + i),
      steps, guidanceScale: guidance, scheduler,
      onProgress: () => stepEnds.push(performance.now()),
    });
    const loopEnd = performance.now();
    const vaeStart = performance.now();
    const batch = result.latents.length / pack.decoder.latentShape.reduce((a, b) => a * b, 1);
    await decodeLatents(vaeModel, result.latents, batch);
    const vaeMs = performance.now() - vaeStart;
    const stepDurations = stepEnds.map((t, i) => t - (i === 0 ? start : stepEnds[i - 1]!));
    const outside = stepDurations.map((d, i) => (d - runTimes[i]!) / d);
    if (r > 0) { // run 0 warms up
      perRun.push({ stepMs: median(stepDurations), outsideShare: median(outside), vaeMs, totalMs: loopEnd - start + vaeMs });
    }
  }
  return {
    stepMsMedian: median(perRun.map((p) => p.stepMs)),
    outsideRunShareMedian: median(perRun.map((p) => p.outsideShare)),
    vaeDecodeMsMedian: median(perRun.map((p) => p.vaeMs)),
    totalMsMedian: median(perRun.map((p) => p.totalMs)),
    runs: perRun,
  };
}

async function benchPrior(pack: Pack, runs: number, steps: number, images: number, guidance: number, scheduler: SchedulerName) {
  if (!pack.prior || !pack.priorSession) return null;
  const D = pack.decoder.noiseAugmentation.mean.length;
  const perRun: Array<{ stepMs: number; outsideShare: number }> = [];
  for (let r = 0; r < runs + 1; r++) {
    const runTimes: number[] = [];
    const stepEnds: number[] = [];
    const start = performance.now();
    await samplePrior({
      session: timed(pack.priorSession, runTimes), manifestPrior: pack.prior, condition: [unitVector(D, r)],
      seeds: Array.from({ length: images }, (_, i) => i), steps, guidanceScale: guidance, scheduler,
      onStep: () => stepEnds.push(performance.now()),
    });
    const stepDurations = stepEnds.map((t, i) => t - (i === 0 ? start : stepEnds[i - 1]!));
    if (r > 0) perRun.push({ stepMs: median(stepDurations), outsideShare: median(stepDurations.map((d, i) => (d - runTimes[i]!) / d)) });
  }
  return { stepMsMedian: median(perRun.map((p) => p.stepMs)), outsideRunShareMedian: median(perRun.map((p) => p.outsideShare)), runs: perRun };
}

/**
 * Side by side with the recipe's PyTorch sampler (models/recipes/bench_sampler.py, Debian's
 * PyTorch, the pack's trained checkpoints) on the same steps and guidance, batch 1 and 4.
 * Skipped, with the reason, where PyTorch or the checkpoints are absent.
 */
async function compareWithPyTorch(pack: Pack, runs: number, steps: number, guidance: number) {
  const python = '/usr/bin/python3';
  const script = resolve(here, '../../../models/recipes/bench_sampler.py');
  if (pack.source.startsWith('tiny test graphs') || !existsSync(script)) return { skipped: 'no demo pack or no recipe' };
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return { skipped: `${python} has no torch` };
  const rows = [];
  for (const images of [1, 4]) {
    const decoder = await benchDecoder(pack, runs, steps, images, guidance, 'ddim');
    const prior = await benchPrior(pack, runs, steps, images, 2, 'ddim');
    const child = spawnSync(python, [script, '--pack', pack.source, '--images', String(images), '--steps', String(steps), '--runs', String(runs), '--guidance', String(guidance)], { encoding: 'utf8' });
    const last = child.stdout.trim().split('\n').at(-1) ?? '{}';
    const torch = JSON.parse(last) as { skipped?: string; decoderMsMedian: number; priorStepMsMedian: number };
    if (torch.skipped) return { skipped: torch.skipped };
    const typescriptMs = decoder.stepMsMedian * steps + decoder.vaeDecodeMsMedian;
    rows.push({
      images,
      typescriptDecoderMs: typescriptMs,
      pytorchDecoderMs: torch.decoderMsMedian,
      ratio: typescriptMs / torch.decoderMsMedian,
      imagesPerSecond: { typescript: (1000 * images) / typescriptMs, pytorch: (1000 * images) / torch.decoderMsMedian },
      priorStepMs: { typescript: prior?.stepMsMedian ?? null, pytorch: torch.priorStepMsMedian },
      outsideRunShare: { decoder: decoder.outsideRunShareMedian, prior: prior?.outsideRunShareMedian ?? null },
    });
  }
  return { target: { ratio: 0.8 }, rows };
}

const pack = await loadPack();
const runs = Number(args.runs);
const steps = Number(args.steps);
const images = Number(args.images);
const guidance = Number(args.guidance);
const scheduler = args.scheduler as SchedulerName;
const report = {
  pack: pack.source,
  node: process.version,
  settings: { runs, steps, images, guidance, scheduler, warmupRuns: 1 },
  decoder: await benchDecoder(pack, runs, steps, images, guidance, scheduler),
  prior: await benchPrior(pack, runs, steps, images, guidance, scheduler),
  target: { outsideRunShare: 0.05 },
  pytorch: await compareWithPyTorch(pack, Number(args.runs), Number(args.steps), Number(args.guidance)),
};
console.log(`pack: ${report.pack}`);
console.log(`decoder: ${report.decoder.stepMsMedian.toFixed(3)} ms/step, outside session.run ${(100 * report.decoder.outsideRunShareMedian).toFixed(1)} % (target < 5 %), VAE ${report.decoder.vaeDecodeMsMedian.toFixed(2)} ms`);
if (report.prior) console.log(`prior: ${report.prior.stepMsMedian.toFixed(3)} ms/step, outside session.run ${(100 * report.prior.outsideRunShareMedian).toFixed(1)} %`);
if ('rows' in report.pytorch) {
  for (const r of report.pytorch.rows ?? []) {
    console.log(`batch ${r.images}: decoder ${r.typescriptDecoderMs.toFixed(1)} ms (${r.imagesPerSecond.typescript.toFixed(1)} images/s) vs PyTorch ${r.pytorchDecoderMs.toFixed(1)} ms (${r.imagesPerSecond.pytorch.toFixed(1)} images/s): ${r.ratio.toFixed(2)}x (target <= 0.8x); prior step ${r.priorStepMs.typescript?.toFixed(3)} vs ${r.priorStepMs.pytorch.toFixed(3)} ms`);
  }
} else {
  console.log(`PyTorch comparison skipped: ${report.pytorch.skipped}`);
}
if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
