import * as ort from 'onnxruntime-node';
import { averageGroups, ImageBindError, postprocessRows } from '@a2i/imagebind';
import type { EncoderEntry } from '@a2i/model-pack';

/** One input's rows for an encoder (an image 1 row, audio its clips, a video its views). */
export interface EncoderRows {
  /** [rows, ...input.shape[1:]]: Float32Array for float32 inputs, BigInt64Array for int64. */
  data: Float32Array | BigInt64Array;
  rows: number;
}

export interface EncodedRows {
  /** One embedding [D] per input: rows postprocessed (L2-normalise, scale), then averaged. */
  embeddings: Float32Array[];
  /** Text: token hidden states [rows, T, W] of every row, when asked for. */
  hiddenStates?: Float32Array;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * One modality's ONNX session and its manifest entry. Like @a2i/imagebind's createEncoder
 * (same order: batched run, ImageBind's postprocess per row, then the mean of each input's
 * rows), but it owns the session it was given, so the pack's signature check reads that
 * session, and it can fetch the text encoder's token hidden states in the same run as the
 * pooled embedding (Stable unCLIP's prompt conditioning), which createEncoder does not.
 */
export class EncoderRunner {
  readonly dim: number;
  /** One row's shape: input.shape without the batch dimension. */
  readonly rowShape: readonly number[];
  private readonly rowSize: number;

  constructor(
    readonly modality: string,
    private readonly session: ort.InferenceSession,
    private readonly entry: EncoderEntry & { input: NonNullable<EncoderEntry['input']>; output: NonNullable<EncoderEntry['output']> },
  ) {
    this.rowShape = entry.input.shape.slice(1);
    this.rowSize = product(this.rowShape);
    this.dim = entry.output.shape[1]!;
  }

  get inputDtype(): 'float32' | 'int64' {
    return this.entry.input.dtype ?? 'float32';
  }

  /** Embeds each input; with `withHiddenStates`, also returns the hidden states of every row. */
  async run(inputs: readonly EncoderRows[], options: { withHiddenStates?: boolean } = {}): Promise<EncodedRows> {
    const Batch = this.inputDtype === 'int64' ? BigInt64Array : Float32Array;
    inputs.forEach((input, i) => {
      if (!(input.data instanceof Batch) || input.data.length !== input.rows * this.rowSize || input.rows < 1) {
        throw new ImageBindError(
          'ENCODER_INPUT_MISMATCH',
          `Expected ${input.rows} rows of [${this.rowShape.join(', ')}] (${Batch.name}) for ${this.modality} input ${i} but received ${input.data.length} values`,
        );
      }
    });
    const total = inputs.reduce((sum, input) => sum + input.rows, 0);
    const batch = new Batch(total * this.rowSize);
    let offset = 0;
    for (const input of inputs) {
      (batch as Float32Array).set(input.data as Float32Array, offset);
      offset += input.data.length;
    }
    const outputName = this.entry.output.name;
    const hiddenName = options.withHiddenStates ? this.entry.hiddenStates?.name : undefined;
    if (options.withHiddenStates && hiddenName === undefined) {
      throw new ImageBindError('INVALID_MANIFEST', `encoders.${this.modality} declares no hiddenStates to fetch`);
    }
    const fetches = hiddenName === undefined ? [outputName] : [outputName, hiddenName];
    const result = await this.session.run({ [this.entry.input.name]: new ort.Tensor(this.inputDtype, batch, [total, ...this.rowShape]) }, fetches);
    const out = result[outputName];
    if (!out || out.type !== 'float32' || out.dims.length !== 2 || out.dims[0] !== total || out.dims[1] !== this.dim) {
      throw new ImageBindError(
        'ENCODER_OUTPUT_MISMATCH',
        `Expected ${this.modality} output ${outputName} as float32 [${total}, ${this.dim}] but received ${out ? `${out.type} [${out.dims.join(', ')}]` : 'nothing'}`,
      );
    }
    // A copy: postprocessing changes it in place, and the tensor's buffer belongs to onnxruntime.
    const rows = Float32Array.from(out.data as Float32Array);
    for (let i = 0; i < rows.length; i++) {
      if (!Number.isFinite(rows[i]!)) {
        throw new ImageBindError('NON_FINITE_VALUE', `Expected finite values from the ${this.modality} encoder but row ${Math.floor(i / this.dim)} holds ${rows[i]}`);
      }
    }
    const { normalize, scale } = this.entry.postprocess!;
    postprocessRows(rows, this.dim, normalize, scale);
    const encoded: EncodedRows = { embeddings: averageGroups(rows, this.dim, inputs.map((input) => input.rows)) };
    if (hiddenName !== undefined) {
      const hidden = result[hiddenName];
      const tail = this.entry.hiddenStates!.shape.slice(1);
      if (!hidden || hidden.type !== 'float32' || hidden.data.length !== total * product(tail)) {
        throw new ImageBindError('ENCODER_OUTPUT_MISMATCH', `Expected ${this.modality} output ${hiddenName} as float32 [${total}, ${tail.join(', ')}]`);
      }
      encoded.hiddenStates = Float32Array.from(hidden.data as Float32Array);
    }
    return encoded;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
