import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';

/**
 * Reference tensors a recipe wrote beside a pack (models/recipes/export_imagebind.py writes
 * `reference/onnx/index.json`): raw little-endian values in `.bin` files, with shape and dtype.
 */
export interface RawTensorRef {
  path: string;
  shape: number[];
  dtype: 'float32' | 'int64';
}

export interface OutputCheckCase {
  /** A label for the report, e.g. the modality. */
  modality: string;
  /** Pack-relative ONNX file. */
  file: string;
  inputs: Record<string, RawTensorRef>;
  /** The framework's outputs on `inputs`, by output name. */
  outputs: Record<string, RawTensorRef>;
  /** Rows one input gives (audio: its clips); also timed as a batch when > 1. */
  rowsPerInput?: number;
  /** Size on disk (with external data) and export time, as the recipe measured them. */
  bytes?: number;
  exportSeconds?: number;
  /** This case's bound, instead of the index's (a float16 compute graph against float32 PyTorch). */
  tolerance?: OutputTolerance;
}

/** |onnx - reference| <= absolute * (relativeToMaxAbs ? max(1, max |reference|) : 1). */
export interface OutputTolerance {
  absolute: number;
  relativeToMaxAbs?: boolean;
}

export interface OutputCheckIndex {
  tolerance: OutputTolerance;
  cases: OutputCheckCase[];
}

export interface OutputCheckResult {
  modality: string;
  file: string;
  bytes?: number;
  exportSeconds?: number;
  /** Largest |onnx - reference| over every output value. */
  maxAbsDiff: number;
  /** The bound it was held to. */
  bound: number;
  /** Largest |reference| value. */
  maxAbsReference: number;
  ok: boolean;
  /** Median wall time of session.run on the first input row alone (batch 1), ms. */
  batch1Ms: number;
  /** The same on the first `rowsPerInput` rows (one input), when that is more than 1. */
  perInput?: { rows: number; ms: number };
  /** Session creation time, ms. */
  loadMs: number;
}

async function readTensor(folder: string, ref: RawTensorRef): Promise<ort.Tensor> {
  const bytes = await readFile(join(folder, ref.path));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const data = ref.dtype === 'int64' ? new BigInt64Array(buffer) : new Float32Array(buffer);
  const expected = ref.shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`${ref.path} holds ${data.length} values but its shape [${ref.shape.join(', ')}] needs ${expected}`);
  return new ort.Tensor(ref.dtype, data, ref.shape);
}

/** The first `rows` rows of a tensor, copied. */
function firstRows(tensor: ort.Tensor, rows: number): ort.Tensor {
  const rowSize = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = (tensor.data as Float32Array | BigInt64Array).slice(0, rows * rowSize);
  return new ort.Tensor(tensor.type as 'float32' | 'int64', data, [rows, ...tensor.dims.slice(1)]);
}

/** Median wall time of `runs` session.run calls after one warm-up, ms. */
async function timeRuns(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<number> {
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  return median(times);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Runs every case's ONNX file in onnxruntime-node on the reference inputs and compares each
 * output with the reference (max abs difference against the index's tolerance), then times
 * batch 1 and one input's rows (one warm-up run, median of `timedRuns`).
 */
export async function verifyOutputs(
  packDir: string,
  indexPath: string,
  options: { sessionOptions?: ort.InferenceSession.SessionOptions; timedRuns?: number; onResult?: (r: OutputCheckResult) => void } = {},
): Promise<OutputCheckResult[]> {
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as OutputCheckIndex;
  const folder = dirname(resolve(indexPath));
  const results: OutputCheckResult[] = [];
  for (const c of index.cases) {
    const started = performance.now();
    const session = await ort.InferenceSession.create(join(packDir, c.file), options.sessionOptions ?? {});
    const loadMs = performance.now() - started;
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, ref] of Object.entries(c.inputs)) feeds[name] = await readTensor(folder, ref);
      const outputs = await session.run(feeds);
      let maxAbsDiff = 0;
      let maxAbsReference = 0;
      for (const [name, ref] of Object.entries(c.outputs)) {
        const want = (await readTensor(folder, ref)).data as Float32Array;
        const got = outputs[name]?.data as Float32Array | undefined;
        if (!got || got.length !== want.length) throw new Error(`${c.file}: output ${name} has ${got?.length ?? 0} values, the reference ${want.length}`);
        for (let i = 0; i < want.length; i++) {
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i]! - want[i]!));
          maxAbsReference = Math.max(maxAbsReference, Math.abs(want[i]!));
        }
      }
      const tolerance = c.tolerance ?? index.tolerance;
      const bound = tolerance.absolute * (tolerance.relativeToMaxAbs ? Math.max(1, maxAbsReference) : 1);
      const rowsOf = (rows: number) => Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, firstRows(t, rows)]));
      const runs = options.timedRuns ?? 3;
      const batch1Ms = await timeRuns(session, rowsOf(1), runs);
      const rows = Math.min(c.rowsPerInput ?? 1, ...Object.values(feeds).map((t) => t.dims[0]!));
      const result: OutputCheckResult = {
        modality: c.modality,
        file: c.file,
        maxAbsDiff,
        bound,
        maxAbsReference,
        ok: Number.isFinite(maxAbsDiff) && maxAbsDiff <= bound,
        batch1Ms,
        ...(rows > 1 ? { perInput: { rows, ms: await timeRuns(session, rowsOf(rows), runs) } } : {}),
        loadMs,
        ...(c.bytes !== undefined ? { bytes: c.bytes } : {}),
        ...(c.exportSeconds !== undefined ? { exportSeconds: c.exportSeconds } : {}),
      };
      options.onResult?.(result);
      results.push(result);
    } finally {
      await session.release();
    }
  }
  return results;
}
