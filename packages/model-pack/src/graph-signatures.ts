import type { PackProblem } from './pack-error.js';
import type { DecoderSection, EncoderEntry, PackManifest } from './manifest-schema.js';

/** A tensor the manifest expects in a graph: -1 is a dimension of any size (the batch). */
export interface ExpectedTensor {
  name: string;
  /** Manifest field naming the tensor, e.g. "encoders.audio.input.name". */
  where: string;
  shape?: readonly number[];
  /** Allowed element types (absent: any). */
  dtypes?: readonly string[];
}

/** What one ONNX file of the pack must look like. */
export interface GraphSignature {
  /** Which part of the pack, e.g. "encoders.audio", "decoder.unet". */
  part: string;
  /** Pack-relative path. */
  file: string;
  inputs: ExpectedTensor[];
  outputs: ExpectedTensor[];
}

/** The parts of an onnxruntime InferenceSession the comparison reads (inputMetadata since 1.21). */
export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: ReadonlyArray<{ name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> }>;
  readonly outputMetadata?: ReadonlyArray<{ name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> }>;
}

/** Every ONNX file's expected signature, from the manifest (models/README.md). */
export function graphSignatures(manifest: PackManifest): GraphSignature[] {
  const signatures: GraphSignature[] = [];
  const dim = (space: string) => manifest.spaces[space]?.dim ?? -1;
  for (const [modality, encoder] of Object.entries(manifest.encoders) as Array<[string, EncoderEntry]>) {
    if (encoder.file === undefined || !encoder.input || !encoder.output) continue;
    const part = `encoders.${modality}`;
    const outputs: ExpectedTensor[] = [{ name: encoder.output.name, where: `${part}.output.name`, shape: encoder.output.shape, dtypes: ['float32'] }];
    if (encoder.hiddenStates) outputs.push({ name: encoder.hiddenStates.name, where: `${part}.hiddenStates.name`, shape: encoder.hiddenStates.shape, dtypes: ['float32'] });
    signatures.push({
      part,
      file: encoder.file,
      inputs: [{ name: encoder.input.name, where: `${part}.input.name`, shape: encoder.input.shape, dtypes: [encoder.input.dtype ?? 'float32'] }],
      outputs,
    });
  }

  const prompt = manifest.promptEncoder;
  if (prompt) {
    signatures.push({
      part: 'promptEncoder',
      file: prompt.file,
      inputs: [{ name: prompt.input.name, where: 'promptEncoder.input.name', shape: prompt.input.shape, dtypes: [prompt.input.dtype ?? 'float32'] }],
      outputs: [{ name: prompt.hiddenStates.name, where: 'promptEncoder.hiddenStates.name', shape: prompt.hiddenStates.shape, dtypes: ['float32'] }],
    });
  }

  const d = manifest.decoder;
  if (d) signatures.push(...decoderSignatures(d, dim(d.space)));

  const p = manifest.prior;
  if (p) {
    const P = dim(p.space);
    signatures.push({
      part: 'prior',
      file: p.file,
      inputs: [
        { name: p.inputs.sample, where: 'prior.inputs.sample', shape: [-1, P], dtypes: ['float32'] },
        { name: p.inputs.timestep, where: 'prior.inputs.timestep', shape: [-1], dtypes: ['float32', 'int64'] },
        { name: p.inputs.condition, where: 'prior.inputs.condition', shape: [-1, P], dtypes: ['float32'] },
      ],
      outputs: [{ name: p.output, where: 'prior.output', shape: [-1, P], dtypes: ['float32'] }],
    });
  }
  return signatures;
}

const quote = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ') || 'none';
const showShape = (shape: ReadonlyArray<number | string>) => `[${shape.join(', ')}]`;

/**
 * A session's graph against its signature: input / output names (session.inputNames /
 * outputNames), every graph input fed, and, where the graph's metadata states them, element
 * types and fixed dimensions (symbolic dimensions match anything). PACK_TENSOR_MISMATCH each.
 */
export function compareSignature(session: SessionLike, signature: GraphSignature): PackProblem[] {
  const problems: PackProblem[] = [];
  const { file, part } = signature;
  for (const [kind, expected, names, metadata] of [
    ['input', signature.inputs, session.inputNames, session.inputMetadata],
    ['output', signature.outputs, session.outputNames, session.outputMetadata],
  ] as const) {
    for (const tensor of expected) {
      if (!names.includes(tensor.name)) {
        problems.push({
          code: 'PACK_TENSOR_MISMATCH',
          where: tensor.where,
          message: `${tensor.where} is ${JSON.stringify(tensor.name)} but ${file} has no ${kind} of that name (its ${kind}s: ${quote(names)})`,
        });
        continue;
      }
      const meta = metadata?.find((m) => m.name === tensor.name);
      if (!meta || !meta.isTensor) continue;
      if (tensor.dtypes && meta.type !== undefined && !tensor.dtypes.includes(meta.type)) {
        problems.push({ code: 'PACK_TENSOR_MISMATCH', where: tensor.where, message: `${kind} ${JSON.stringify(tensor.name)} of ${file} is ${meta.type} but ${part} needs ${tensor.dtypes.join(' or ')}` });
      }
      const actual = meta.shape ?? [];
      if (!tensor.shape || actual.length === 0) continue;
      const rankOk = actual.length === tensor.shape.length;
      const dimsOk = rankOk && tensor.shape.every((want, i) => want === -1 || typeof actual[i] !== 'number' || actual[i] === want || actual[i] === -1);
      if (!dimsOk) {
        problems.push({
          code: 'PACK_TENSOR_MISMATCH',
          where: tensor.where,
          message: `${kind} ${JSON.stringify(tensor.name)} of ${file} has shape ${showShape(actual)} but the manifest (${part}) says ${showShape(tensor.shape)}`,
        });
      }
    }
  }
  const fed = new Set(signature.inputs.map((t) => t.name));
  const unfed = session.inputNames.filter((name) => !fed.has(name));
  if (unfed.length > 0) {
    problems.push({ code: 'PACK_TENSOR_MISMATCH', where: part, message: `${file} has input(s) ${quote(unfed)} that the manifest (${part}) does not name, so they would never be fed` });
  }
  return problems;
}

/** The UNet's and the VAE decoder's inputs and outputs; D is the decoder space's dim (0 when unknown). */
function decoderSignatures(d: DecoderSection, D: number): GraphSignature[] {
  const [C, h, w] = d.latentShape;
  const unetInputs: ExpectedTensor[] = [
    { name: d.unet.inputs.sample, where: 'decoder.unet.inputs.sample', shape: [-1, C, h, w], dtypes: ['float32'] },
    // Stable unCLIP's UNet takes int64 timesteps; exported demo UNets take float32.
    { name: d.unet.inputs.timestep, where: 'decoder.unet.inputs.timestep', shape: [-1], dtypes: ['float32', 'int64'] },
    { name: d.unet.inputs.classLabels, where: 'decoder.unet.inputs.classLabels', shape: [-1, D > 0 ? 2 * D : -1], dtypes: ['float32'] },
  ];
  if (d.promptConditioning) {
    const name = d.unet.inputs.encoderHiddenStates;
    unetInputs.push({ name: name ?? '', where: 'decoder.unet.inputs.encoderHiddenStates', shape: [-1, ...d.promptConditioning.shape], dtypes: ['float32'] });
  }
  const [H, W] = d.imageSize;
  return [
    {
      part: 'decoder.unet',
      file: d.unet.file,
      inputs: unetInputs,
      outputs: [{ name: d.unet.output, where: 'decoder.unet.output', shape: [-1, C, h, w], dtypes: ['float32'] }],
    },
    {
      part: 'decoder.vae',
      file: d.vae.file,
      inputs: [{ name: d.vae.input, where: 'decoder.vae.input', shape: [-1, C, h, w], dtypes: ['float32'] }],
      outputs: [{ name: d.vae.output, where: 'decoder.vae.output', shape: [-1, 3, H, W], dtypes: ['float32'] }],
    },
  ];
}
