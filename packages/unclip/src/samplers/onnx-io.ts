import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { UnclipError } from '../unclip-error.js';

/** Refuses a session that lacks an input or output the manifest names. */
export function checkSessionNames(session: InferenceSession, inputs: readonly string[], output: string, what: string): void {
  for (const name of inputs) {
    if (!session.inputNames.includes(name)) {
      throw new UnclipError('MODEL_SIGNATURE_MISMATCH', `The ${what} model has no input "${name}" (it has ${session.inputNames.join(', ')})`);
    }
  }
  if (!session.outputNames.includes(output)) {
    throw new UnclipError('MODEL_SIGNATURE_MISMATCH', `The ${what} model has no output "${output}" (it has ${session.outputNames.join(', ')})`);
  }
}

export type TimestepType = 'int64' | 'float32';

/** The timestep input's element type, from the session's input metadata (int64 or float32). */
export function timestepType(session: InferenceSession, inputName: string, what: string): TimestepType {
  const meta = session.inputMetadata.find((m) => m.name === inputName);
  const type = meta && meta.isTensor ? meta.type : undefined;
  if (type === 'int64' || type === 'float32') return type;
  throw new UnclipError(
    'MODEL_SIGNATURE_MISMATCH',
    `Expected the ${what} timestep input "${inputName}" to be int64 or float32 but it is ${String(type ?? 'not a tensor')}`,
  );
}

/** The timestep t for every row [rows], in the model's element type. */
export function timestepTensor(type: TimestepType, t: number, rows: number, what: string): Tensor {
  if (type === 'float32') return new Tensor('float32', new Float32Array(rows).fill(t), [rows]);
  if (!Number.isInteger(t)) {
    throw new UnclipError(
      'TIMESTEP_NOT_INTEGER',
      `The ${what} model takes int64 timesteps but the scheduler gave ${t}; use a spacing with integer timesteps ("leading" or "trailing") or another scheduler`,
    );
  }
  return new Tensor('int64', new BigInt64Array(rows).fill(BigInt(t)), [rows]);
}

/**
 * The timestep tensor of every scheduled t, made once before the loop (a step then only looks
 * it up: tensor construction is a measurable share of a 0.2 ms prior step).
 */
export function timestepTensors(type: TimestepType, timesteps: readonly number[], rows: number, what: string): Map<number, Tensor> {
  const tensors = new Map<number, Tensor>();
  for (const t of timesteps) if (!tensors.has(t)) tensors.set(t, timestepTensor(type, t, rows, what));
  return tensors;
}

/**
 * A float32 tensor over `data`, the same Tensor object again while `data` is the same buffer
 * (the denoise loop refills its guided batch in place) and the dims do not change.
 */
export function reusableFloatTensor(): (data: Float32Array, dims: readonly number[]) => Tensor {
  let last: Tensor | null = null;
  let lastData: Float32Array | null = null;
  return (data, dims) => {
    if (last && lastData === data && last.dims.length === dims.length && last.dims.every((d, i) => d === dims[i])) return last;
    lastData = data;
    last = new Tensor('float32', data, dims);
    return last;
  };
}

export function floatTensor(data: Float32Array, dims: readonly number[]): Tensor {
  return new Tensor('float32', data, dims);
}

/**
 * Runs the session and returns its named float32 output, checking its size and that every value
 * is finite: a NaN or an infinity (a float16 graph that overflowed, say) would otherwise go on
 * through the sampler into a black or garbled image.
 */
export async function runFloat(
  session: InferenceSession,
  feeds: Record<string, Tensor>,
  output: string,
  expectedLength: number,
  what: string,
): Promise<Float32Array> {
  const results = await session.run(feeds, [output]);
  const tensor = results[output];
  if (!tensor || tensor.type !== 'float32') {
    throw new UnclipError('MODEL_OUTPUT_INVALID', `The ${what} model's output "${output}" is ${tensor ? tensor.type : 'missing'}, not float32`);
  }
  const data = tensor.data as Float32Array;
  if (data.length !== expectedLength) {
    throw new UnclipError(
      'MODEL_OUTPUT_INVALID',
      `Expected ${expectedLength} values from the ${what} model's output "${output}" but received ${data.length} (dims ${tensor.dims.join('x')})`,
    );
  }
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new UnclipError(
      'MODEL_OUTPUT_INVALID',
      `The ${what} model's output "${output}" has a non-finite value (${data[bad]} at index ${bad}): in a float16 graph, an overflow; export that graph in float32 (models/README.md, "float16 compute")`,
    );
  }
  return data;
}

/** Index of the first NaN or infinity in `data`, -1 when there is none. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

// ---- The feeds of a denoiser call (was denoiser-call.ts): sample, timestep and constant feeds per step ----

/** The names and timestep type a denoising model (the prior, the UNet) was prepared with. */
export interface DenoiserSignature {
  readonly inputs: { readonly sample: string; readonly timestep: string };
  readonly output: string;
  readonly timestepType: TimestepType;
}

export interface DenoiserRun {
  /** The scheduled timesteps and the rows of one call: their tensors are made once, up front. */
  timesteps: readonly number[];
  rowsPerCall: number;
  /** One row's shape: the sample is fed as [rows, ...itemShape]. */
  itemShape: readonly number[];
  /** The feeds that stay the same for the whole run (condition, class labels...), made at the first call. */
  constantFeeds: (rows: number) => Record<string, Tensor>;
  /** Names the model in messages. */
  what: string;
}

/**
 * `runModel` for `denoise`: each step feeds the sample and the timestep next to the run's
 * constant feeds, and returns the model's float32 output, checked to be one value per input value.
 */
export function denoiserCall(
  session: InferenceSession,
  model: DenoiserSignature,
  run: DenoiserRun,
): (modelInput: Float32Array, timestep: number) => Promise<Float32Array> {
  const itemLength = run.itemShape.reduce((a, b) => a * b, 1);
  const timestepFeeds = timestepTensors(model.timestepType, run.timesteps, run.rowsPerCall, run.what);
  const sampleTensor = reusableFloatTensor();
  let constant: Record<string, Tensor> | undefined;
  return (modelInput, t) => {
    const rows = modelInput.length / itemLength;
    constant ??= run.constantFeeds(rows);
    const feeds: Record<string, Tensor> = {
      [model.inputs.sample]: sampleTensor(modelInput, [rows, ...run.itemShape]),
      [model.inputs.timestep]: timestepFeeds.get(t) ?? timestepTensor(model.timestepType, t, rows, run.what),
      ...constant,
    };
    return runFloat(session, feeds, model.output, rows * itemLength, run.what);
  };
}
