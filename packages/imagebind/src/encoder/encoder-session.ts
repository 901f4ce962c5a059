import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ImageBindError, imagebindGuards } from '../imagebind-error.js';
import { parseEncoderManifest, type EncoderManifest } from './encoder-manifest.js';

/**
 * One input to embed: one or more rows of the encoder's input (an image is 1 row, an
 * audio file 3 clips, a video its views). The rows' embeddings are averaged.
 */
export interface EncoderInput {
  /** [rows, ...input.shape[1:]], Float32Array for float32 inputs, BigInt64Array for int64. */
  data: Float32Array | BigInt64Array;
  /** Rows in `data`; checked when given, otherwise data.length / row size. */
  rows?: number;
}

export interface EncoderOptions {
  /** Passed to onnxruntime-node's InferenceSession.create (providers, threads...). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Rows per session.run call (default: all rows of a `run` in one call). */
  maxBatchRows?: number;
}

export interface Encoder {
  readonly modality: string;
  /** Embedding space the outputs live in (manifest `space`). */
  readonly space: string;
  /** Embedding size D. */
  readonly dim: number;
  /** One input row's shape: input.shape without the batch dimension. */
  readonly rowShape: readonly number[];
  /**
   * Embeds each input: batched session runs, postprocess per row (L2-normalise, scale),
   * then the mean of each input's rows. @returns one Float32Array [D] per input.
   */
  run(inputs: readonly EncoderInput[]): Promise<Float32Array[]>;
  /**
   * `run`'s embeddings and, from the same session run, each input's raw embedding: the mean of
   * its rows as the graph outputs them, before the postprocess (ImageBindModel.forward with
   * its postprocessor skipped, as Anything2Image's `normalize=False`).
   */
  runWithRaw(inputs: readonly EncoderInput[]): Promise<{ embeddings: Float32Array[]; raw: Float32Array[] }>;
  release(): Promise<void>;
}

/** Raw rows and group sizes of one `run`, before the postprocess. */
interface RawRun {
  rows: Float32Array;
  groups: number[];
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * Opens `encoders.<modality>.file` from the pack with onnxruntime-node and checks that the
 * manifest's input and output names exist in the graph. Video has no file of its own: build
 * the encoder its `encoder` field names (vision) and give it `videoViews(...)` rows.
 */
export async function createEncoder(packDir: string, modality: string, encoderManifest: EncoderManifest | unknown, options: EncoderOptions = {}): Promise<Encoder> {
  const m = parseEncoderManifest(encoderManifest, `encoders.${modality}`);
  if (m.file === undefined) {
    throw new ImageBindError(
      'ENCODER_NO_FILE',
      `encoders.${modality} has no ONNX file: its inputs go through the "${m.encoder}" encoder (create that one and feed it ${modality} rows)`,
    );
  }
  if (options.maxBatchRows !== undefined) imagebindGuards.expectPositiveInteger(options.maxBatchRows, 'maxBatchRows');
  const path = join(packDir, m.file);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, options.sessionOptions ?? {});
  } catch (e) {
    throw new ImageBindError('ENCODER_LOAD_FAILED', `Could not load the ${modality} encoder ${path}: ${(e as Error).message}`);
  }
  for (const [kind, spec, names] of [
    ['input', m.input, session.inputNames],
    ['output', m.output, session.outputNames],
  ] as const) {
    if (!names.includes(spec.name)) {
      await session.release();
      throw new ImageBindError(
        'INVALID_MANIFEST',
        `Expected an ${kind} named ${JSON.stringify(spec.name)} in ${m.file} (encoders.${modality}.${kind}.name) but the graph has ${names.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
  }
  return encoderFromSession(session, modality, m, options);
}

/**
 * The encoder over an already open session (a worker opens every session of its pack once and
 * checks them against the manifest: @a2i/model-pack's compareSignature). `m` is the parsed
 * `encoders.<modality>` section (parseEncoderManifest, or the pack loader's typed entry).
 * The session stays the caller's to release through `release()`.
 */
export function encoderFromSession(session: ort.InferenceSession, modality: string, m: EncoderManifest, options: Omit<EncoderOptions, 'sessionOptions'> = {}): Encoder {
  const maxBatchRows = options.maxBatchRows === undefined ? Infinity : imagebindGuards.expectPositiveInteger(options.maxBatchRows, 'maxBatchRows');
  const rowShape = m.input.shape.slice(1);
  const rowSize = product(rowShape);
  const dim = m.output.shape[1]!;

  function checkInput(input: EncoderInput, index: number): number {
    const wantType = m.input.dtype === 'int64' ? BigInt64Array : Float32Array;
    if (!(input.data instanceof wantType)) {
      throw new ImageBindError('ENCODER_INPUT_MISMATCH', `Expected a ${wantType.name} for ${modality} input ${index} (${m.input.dtype}) but received ${input.data?.constructor?.name ?? typeof input.data}`);
    }
    const rows = input.data.length / rowSize;
    if (!Number.isInteger(rows) || rows < 1 || (input.rows !== undefined && input.rows !== rows)) {
      throw new ImageBindError(
        'ENCODER_INPUT_MISMATCH',
        `Expected ${input.rows ?? 'a whole number of'} rows of [${rowShape.join(', ')}] (${rowSize} values each) for ${modality} input ${index} but received ${input.data.length} values`,
      );
    }
    return rows;
  }

  async function runRows(data: Float32Array | BigInt64Array, rows: number): Promise<Float32Array> {
    const tensor = new ort.Tensor(m.input.dtype, data, [rows, ...rowShape]);
    const result = await session.run({ [m.input.name]: tensor }, [m.output.name]);
    const out = result[m.output.name];
    if (!out || out.type !== 'float32' || out.dims.length !== 2 || out.dims[0] !== rows || out.dims[1] !== dim) {
      throw new ImageBindError(
        'ENCODER_OUTPUT_MISMATCH',
        `Expected ${modality} output ${m.output.name} as float32 [${rows}, ${dim}] but received ${out ? `${out.type} [${out.dims.join(', ')}]` : 'nothing'}`,
      );
    }
    return out.data as Float32Array;
  }

  /** Every input's rows through the graph (batched by maxBatchRows), checked finite. */
  async function runRaw(inputs: readonly EncoderInput[]): Promise<RawRun> {
    const groups = inputs.map(checkInput);
    const total = groups.reduce((a, b) => a + b, 0);
    if (total === 0) return { rows: new Float32Array(0), groups };
    const Batch = m.input.dtype === 'int64' ? BigInt64Array : Float32Array;
    const batch = new Batch(total * rowSize);
    let offset = 0;
    for (const input of inputs) {
      (batch as Float32Array).set(input.data as Float32Array, offset);
      offset += input.data.length;
    }
    const embeddings = new Float32Array(total * dim);
    for (let start = 0; start < total; start += maxBatchRows) {
      const rows = Math.min(maxBatchRows, total - start);
      // A copy, not a view: the tensor owns a buffer that starts at its first value.
      const chunk = rows === total ? batch : batch.slice(start * rowSize, (start + rows) * rowSize);
      embeddings.set(await runRows(chunk, rows), start * dim);
    }
    for (let i = 0; i < embeddings.length; i++) {
      if (!Number.isFinite(embeddings[i]!)) {
        throw new ImageBindError('ENCODER_OUTPUT_NON_FINITE', `Expected finite values from the ${modality} encoder but row ${Math.floor(i / dim)} holds ${embeddings[i]}`);
      }
    }
    return { rows: embeddings, groups };
  }

  /** postprocess per row, then the mean of each input's rows (changes `rows` in place). */
  const postprocessed = ({ rows, groups }: RawRun) => averageGroups(postprocessRows(rows, dim, m.postprocess.normalize, m.postprocess.scale), dim, groups);

  return {
    modality,
    space: m.space,
    dim,
    rowShape,
    async run(inputs) {
      return postprocessed(await runRaw(inputs));
    },
    async runWithRaw(inputs) {
      const result = await runRaw(inputs);
      const raw = averageGroups(result.rows, dim, result.groups); // copies: the rows are postprocessed next
      return { embeddings: postprocessed(result), raw };
    },
    release: () => session.release(),
  };
}

// ---- Embedding postprocessing (was embedding-postprocess.ts): normalise, scale, average a group's rows ----

/**
 * ImageBind's modality postprocessors (imagebind/models/imagebind_model.py
 * `_create_modality_postprocessors`, helpers.py `Normalize` + `LearnableLogitScaling`):
 * each row x -> scale * x / max(||x||_2, 1e-12) (torch.nn.functional.normalize's eps).
 *
 * @param rows [n, dim], changed in place
 */
export function postprocessRows(rows: Float32Array, dim: number, normalize: boolean, scale: number): Float32Array {
  const n = rows.length / dim;
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let factor = scale;
    if (normalize) {
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += rows[o + j]! * rows[o + j]!;
      factor = scale / Math.max(Math.sqrt(sum), 1e-12);
    }
    for (let j = 0; j < dim; j++) rows[o + j] = rows[o + j]! * factor;
  }
  return rows;
}

/**
 * Mean over consecutive groups of rows (ImageBind averages the clips / views of one input
 * AFTER postprocessing: `reshape(B, S, -1).mean(dim=1)`).
 *
 * @param rows [sum(groups), dim]
 * @returns one Float32Array [dim] per group
 */
export function averageGroups(rows: Float32Array, dim: number, groups: readonly number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let r = 0;
  for (const count of groups) {
    const mean = new Float32Array(dim);
    const acc = new Float64Array(dim);
    for (let k = 0; k < count; k++, r++) for (let j = 0; j < dim; j++) acc[j]! += rows[r * dim + j]!;
    for (let j = 0; j < dim; j++) mean[j] = acc[j]! / count;
    out.push(mean);
  }
  return out;
}
