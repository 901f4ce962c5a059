import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { reusableFloatTensor, runFloat, timestepTensor, timestepTensors, type TimestepType } from './onnx-io.js';

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
