import { ImageBindError, imagebindGuards } from '../imagebind-error.js';

const { expectObject, expectOneOf, expectPositiveNumber, expectString, invalid } = imagebindGuards;

/** A tensor named in the manifest; -1 in `shape` is the batch dimension (first only). */
export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int64';
}

/** `encoders.<modality>` of a pack manifest (models/README.md), as the session needs it. */
export interface EncoderManifest {
  /** Pack-relative ONNX file; absent for video, whose frames go through `encoder`. */
  file?: string;
  encoder?: string;
  input: TensorSpec;
  output: TensorSpec;
  space: string;
  preprocess?: unknown;
  /** L2-normalise each row, then multiply by scale (ImageBind's modality postprocessors). */
  postprocess: { normalize: boolean; scale: number };
}

const M = 'INVALID_MANIFEST';

function tensorSpec(raw: unknown, name: string, rank?: number): TensorSpec {
  const t = expectObject(raw, name, M);
  const shape = t.shape;
  const shapeOk =
    Array.isArray(shape) &&
    shape.length >= 2 &&
    (rank === undefined || shape.length === rank) &&
    shape[0] === -1 &&
    shape.slice(1).every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0);
  if (!shapeOk) {
    throw invalid(`a shape [-1, ...positive sizes]${rank ? ` of rank ${rank}` : ''}`, `${name}.shape`, shape, M);
  }
  return {
    name: expectString(t.name, `${name}.name`, M),
    shape: shape as number[],
    dtype: t.dtype === undefined ? 'float32' : expectOneOf(t.dtype, `${name}.dtype`, ['float32', 'int64'] as const, M),
  };
}

/** Checks one `encoders.<modality>` section; `name` prefixes the messages. */
export function parseEncoderManifest(raw: unknown, name = 'encoder'): EncoderManifest {
  const e = expectObject(raw, name, M);
  const post = expectObject(e.postprocess, `${name}.postprocess`, M);
  if (typeof post.normalize !== 'boolean') throw invalid('true or false', `${name}.postprocess.normalize`, post.normalize, M);
  const out: EncoderManifest = {
    input: tensorSpec(e.input, `${name}.input`),
    output: tensorSpec(e.output, `${name}.output`, 2),
    space: expectString(e.space, `${name}.space`, M),
    preprocess: e.preprocess,
    postprocess: { normalize: post.normalize, scale: expectPositiveNumber(post.scale, `${name}.postprocess.scale`, M) },
  };
  if (out.output.dtype !== 'float32') throw invalid('"float32"', `${name}.output.dtype`, out.output.dtype, M);
  if (e.file !== undefined) out.file = expectString(e.file, `${name}.file`, M);
  if (e.encoder !== undefined) out.encoder = expectString(e.encoder, `${name}.encoder`, M);
  if (out.file === undefined && out.encoder === undefined) {
    throw new ImageBindError(M, `Expected ${name}.file (an ONNX file) or ${name}.encoder (the encoder its inputs go through) but neither is set`);
  }
  return out;
}
