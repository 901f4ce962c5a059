/**
 * The batching bench's first part (batching.bench.ts): the batch-size curve of the pack's UNet and
 * VAE, and the same curve as a compute rate beside a large MatMul's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultBatchRows, mulberry32, type RuntimeConfig } from '@a2i/protocol';
import { sessionOptionsFor } from '@a2i/pipeline/onnx';
import { median, r1, r3 } from './bench-stats.js';

// ------------------------------------------------------------------ 1. the batch-size curve
/** One curve point: a UNet step and a VAE decode at `rows` model rows, medians. */
export interface CurvePoint {
  rows: number;
  unetStepMs: number;
  unetMsPerRow: number;
  vaeMs: number;
  vaeMsPerRow: number;
}

export async function batchCurve(pack: string, runtime: RuntimeConfig): Promise<CurvePoint[]> {
  const options = sessionOptionsFor(runtime);
  const manifest = JSON.parse(await readFile(join(pack, 'manifest.json'), 'utf8'));
  const unet = await ort.InferenceSession.create(join(pack, manifest.decoder.unet.file), options);
  const vae = await ort.InferenceSession.create(join(pack, manifest.decoder.vae.file), options);
  const [C, h, w] = manifest.decoder.latentShape as number[];
  const names = manifest.decoder.unet.inputs;
  const meta = (session: ort.InferenceSession, name: string) => session.inputMetadata.find((m) => m.name === name) as unknown as { shape: ReadonlyArray<number | string>; type: string };
  const itemOf = (session: ort.InferenceSession, name: string) => meta(session, name).shape.slice(1).map((d) => (typeof d === 'number' ? d : 1));
  const rand = mulberry32(3);
  const floats = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const time = async (run: () => Promise<unknown>, runs: number) => {
    await run();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await run();
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const curve: CurvePoint[] = [];
  // up to the most model rows the pack's default batch runs (its images, 2 rows each under
  // guidance: 64 on the demo pack, 16 on Stable unCLIP-H), and at least 16
  const [imageHeight, imageWidth] = manifest.decoder.imageSize as [number, number];
  const maxRows = Math.max(16, 2 * defaultBatchRows({ width: imageWidth, height: imageHeight }));
  for (const rows of [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64].filter((n) => n <= maxRows)) {
    const feeds: Record<string, ort.Tensor> = {
      [names.sample]: new ort.Tensor('float32', floats(rows * C! * h! * w!), [rows, C!, h!, w!]),
      [names.classLabels]: (() => { const item = itemOf(unet, names.classLabels); return new ort.Tensor('float32', floats(rows * item.reduce((a, b) => a * b, 1)), [rows, ...item]); })(),
      [names.timestep]: meta(unet, names.timestep).type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from({ length: rows }, (_, i) => BigInt(100 + i * 50)), [rows])
        : new ort.Tensor('float32', Float32Array.from({ length: rows }, (_, i) => 100 + i * 50), [rows]),
    };
    if (names.encoderHiddenStates) {
      const item = itemOf(unet, names.encoderHiddenStates);
      feeds[names.encoderHiddenStates] = new ort.Tensor('float32', floats(rows * item.reduce((a, b) => a * b, 1)), [rows, ...item]);
    }
    let unetMs: number;
    let vaeMs: number;
    try {
      unetMs = await time(() => unet.run(feeds), 15);
      const latent = { [manifest.decoder.vae.input]: new ort.Tensor('float32', floats(rows * C! * h! * w!), [rows, C!, h!, w!]) };
      vaeMs = await time(() => vae.run(latent), 7);
    } catch (error) {
      // a device that cannot hold this many rows (a GPU's memory): the curve ends below it
      console.log(`curve: ${rows} rows failed, the curve stops at ${curve.at(-1)?.rows ?? 0} rows: ${(error as Error).message}`);
      break;
    }
    curve.push({ rows, unetStepMs: r3(unetMs), unetMsPerRow: r3(unetMs / rows), vaeMs: r3(vaeMs), vaeMsPerRow: r3(vaeMs / rows) });
    console.log(`curve: ${rows} rows: UNet step ${unetMs.toFixed(2)} ms (${(unetMs / rows).toFixed(3)} ms/row), VAE ${vaeMs.toFixed(2)} ms (${(vaeMs / rows).toFixed(3)} ms/row)`);
  }
  await Promise.all([unet.release(), vae.release()]);
  return curve;
}

// ------------------------------------------------------------------ 1b. the curve as a compute rate
/**
 * What the curve is worth in arithmetic: the UNet's FLOPs per row (models/recipes/unet_flops.py,
 * the demo UNet read from the pack) over its step time, next to a large MatMul's rate on the same
 * session options (the most a core, or a device, gets out of these kernels). A UNet row that
 * already runs near that rate alone has little left for batching to win. Needs /usr/bin/python3
 * with python3-torch and python3-onnx and the demo pack's architecture; else skipped, with why.
 */
const RECIPE_PYTHON = '/usr/bin/python3';
const UNET_FLOPS = resolve(import.meta.dirname, '../../models/recipes/unet_flops.py');
export interface ComputeRate {
  unetFlopsPerRow: number;
  matmul: { m: number; k: number; ms: number; gflops: number };
  unet: Array<{ rows: number; gflops: number }>;
}
export async function computeRate(pack: string, runtime: RuntimeConfig, curve: CurvePoint[]): Promise<ComputeRate | { skipped: string }> {
  if (!existsSync(RECIPE_PYTHON)) return { skipped: `${RECIPE_PYTHON} is missing (apt-get install python3-torch python3-onnx)` };
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-compute-rate-'));
  try {
    const matmulFile = join(tmp, 'matmul.onnx');
    const k = 1024;
    const run = spawnSync(RECIPE_PYTHON, [UNET_FLOPS, '--pack', pack, '--matmul-out', matmulFile, '--k', String(k)], { cwd: dirname(UNET_FLOPS), encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) return { skipped: `unet_flops.py failed (not the demo UNet, or no python3-torch / python3-onnx): ${(run.stderr || run.error?.message || '').trim().split('\n').at(-1)}` };
    const { flopsPerRow } = JSON.parse(run.stdout) as { flopsPerRow: number };
    const session = await ort.InferenceSession.create(matmulFile, sessionOptionsFor(runtime));
    const m = 2048;
    const rand = mulberry32(5);
    const x = new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => rand() * 2 - 1), [m, k]);
    await session.run({ x });
    const ms: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      await session.run({ x });
      ms.push(performance.now() - t);
    }
    await session.release();
    const matmulMs = median(ms);
    const gflops = (flops: number, milliseconds: number) => r1(flops / milliseconds / 1e6);
    const rate: ComputeRate = {
      unetFlopsPerRow: flopsPerRow,
      matmul: { m, k, ms: r3(matmulMs), gflops: gflops(2 * m * k * k, matmulMs) },
      unet: curve.map((point) => ({ rows: point.rows, gflops: gflops(flopsPerRow * point.rows, point.unetStepMs) })),
    };
    console.log(`compute rate: a UNet row is ${(flopsPerRow / 1e6).toFixed(1)} MFLOP; UNet ${rate.unet.map((u) => `${u.rows} rows ${u.gflops}`).join(', ')} GFLOP/s; a ${m}x${k}x${k} MatMul ${rate.matmul.gflops} GFLOP/s`);
    return rate;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
