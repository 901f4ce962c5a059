import type { PackProblem } from './pack-error.js';
import { PROMPT_ENCODER_KEY, promptSource, type EncoderEntry, type PackManifest, type PromptEncoderEntry } from './manifest-schema.js';

/**
 * Whether the manifest's parts fit together, from the manifest alone (pure):
 *
 * - every encoder, the decoder and the prior name a declared space, and an encoder's output
 *   width is its space's dim (PACK_SPACE_MISMATCH);
 * - the decoder takes the space the encoders output: its noise-augmentation mean / std hold
 *   dim values and its noise-level embedding is dim wide, so class_labels are [B, 2 dim]
 *   (Stable unCLIP: 1024 + 1024 for ViT-H) (PACK_SPACE_MISMATCH);
 * - the prior's normaliser holds dim values (PACK_SPACE_MISMATCH);
 * - the prompt conditioning names a source of hidden states (the top-level promptEncoder, or
 *   an encoder declaring hiddenStates) and tensors the manifest describes twice agree: prompt
 *   conditioning vs that source's hidden states, the preview projection vs the latent
 *   channels, each encoder's (and the promptEncoder's) input vs its preprocess
 *   (PACK_TENSOR_MISMATCH).
 */
export function checkSpaces(manifest: PackManifest): PackProblem[] {
  const problems: PackProblem[] = [];
  const space = (code: 'PACK_SPACE_MISMATCH' | 'PACK_TENSOR_MISMATCH', where: string, message: string) => problems.push({ code, where, message });
  const dimOf = (name: string, where: string): number | undefined => {
    const dim = manifest.spaces[name]?.dim;
    if (dim === undefined) space('PACK_SPACE_MISMATCH', where, `${where} names space "${name}" but spaces declares ${Object.keys(manifest.spaces).map((s) => `"${s}"`).join(', ') || 'none'}`);
    return dim;
  };

  // 1. encoders
  const encoderSpaces = new Map<string, string[]>();
  for (const [modality, encoder] of Object.entries(manifest.encoders) as Array<[string, EncoderEntry]>) {
    const where = `encoders.${modality}`;
    const dim = dimOf(encoder.space, `${where}.space`);
    encoderSpaces.set(encoder.space, [...(encoderSpaces.get(encoder.space) ?? []), modality]);
    if (encoder.file !== undefined && encoder.output) {
      const width = encoder.output.shape[1];
      if (dim !== undefined && width !== dim) {
        space('PACK_SPACE_MISMATCH', `${where}.output.shape`, `The ${modality} encoder outputs ${width}-d embeddings (${where}.output.shape) but its space "${encoder.space}" is ${dim}-d`);
      }
      checkEncoderInput(where, encoder, problems);
    } else if (encoder.encoder !== undefined) {
      const target = (manifest.encoders as Record<string, EncoderEntry | undefined>)[encoder.encoder];
      if (!target?.file) {
        space('PACK_SPACE_MISMATCH', `${where}.encoder`, `${where}.encoder names "${encoder.encoder}", which is not an encoder with a file in this pack`);
      } else if (target.space !== encoder.space) {
        space('PACK_SPACE_MISMATCH', `${where}.space`, `${where} goes through the ${encoder.encoder} encoder (space "${target.space}") but says space "${encoder.space}"`);
      }
    }
  }

  // 2. decoder (absent in an encoders-only pack): the space it takes, class_labels [B, 2 dim]
  const decoder = manifest.decoder ?? null;
  const decoderDim = decoder ? dimOf(decoder.space, 'decoder.space') : undefined;
  if (decoder && decoderDim !== undefined) {
    if (!encoderSpaces.has(decoder.space)) {
      space('PACK_SPACE_MISMATCH', 'decoder.space', `The decoder takes space "${decoder.space}" but no encoder outputs it (encoders output ${[...encoderSpaces.keys()].map((s) => `"${s}"`).join(', ')})`);
    }
    const aug = decoder.noiseAugmentation;
    for (const key of ['mean', 'std'] as const) {
      if (aug[key].length !== decoderDim) {
        space('PACK_SPACE_MISMATCH', `decoder.noiseAugmentation.${key}`, `The decoder's noise augmentation (decoder.noiseAugmentation.${key}) is ${aug[key].length}-d but its space "${decoder.space}" (the encoders' embeddings) is ${decoderDim}-d`);
      }
    }
    if (aug.timestepEmbedding.dim !== decoderDim) {
      space('PACK_SPACE_MISMATCH', 'decoder.noiseAugmentation.timestepEmbedding.dim', `class_labels must be 2 x ${decoderDim} = ${2 * decoderDim} wide (embedding + noise-level embedding) but decoder.noiseAugmentation.timestepEmbedding.dim is ${aug.timestepEmbedding.dim} (class_labels ${aug.mean.length + aug.timestepEmbedding.dim})`);
    }
  }

  // 3. prompt conditioning vs the hidden states of the source it names
  if (manifest.promptEncoder) checkEncoderInput(PROMPT_ENCODER_KEY, manifest.promptEncoder, problems);
  const prompt = decoder?.promptConditioning;
  if (prompt) {
    const source = promptSource(manifest);
    const hidden = source?.entry.hiddenStates;
    if (!source) {
      const candidates = [
        ...(manifest.promptEncoder ? [PROMPT_ENCODER_KEY] : []),
        ...Object.entries(manifest.encoders).filter(([, e]) => e?.hiddenStates).map(([key]) => key),
      ];
      const missing = prompt.encoder === PROMPT_ENCODER_KEY ? 'no promptEncoder entry' : 'no encoder of that name';
      space('PACK_TENSOR_MISMATCH', 'decoder.promptConditioning.encoder', `decoder.promptConditioning.encoder is "${prompt.encoder}" but this pack has ${missing} (it can name "${PROMPT_ENCODER_KEY}", the top-level entry, or an encoder declaring hiddenStates; this pack has ${candidates.map((c) => `"${c}"`).join(', ') || 'neither'})`);
    } else if (!hidden) {
      space('PACK_TENSOR_MISMATCH', 'decoder.promptConditioning.encoder', `decoder.promptConditioning reads "${prompt.output}" from the ${prompt.encoder} encoder, which declares no hiddenStates`);
    } else {
      if (hidden.name !== prompt.output) {
        space('PACK_TENSOR_MISMATCH', 'decoder.promptConditioning.output', `decoder.promptConditioning.output is "${prompt.output}" but ${source.where}.hiddenStates.name is "${hidden.name}"`);
      }
      const tail = hidden.shape.slice(1);
      if (tail.length !== 2 || tail[0] !== prompt.shape[0] || tail[1] !== prompt.shape[1]) {
        space('PACK_TENSOR_MISMATCH', 'decoder.promptConditioning.shape', `decoder.promptConditioning.shape is [${prompt.shape.join(', ')}] but ${source.where}.hiddenStates.shape is [${hidden.shape.join(', ')}]`);
      }
    }
  }

  // 4. preview projection: one row of 3 per latent channel
  const channels = decoder?.latentShape[0];
  if (decoder?.preview && decoder.preview.latentToRgb.length !== channels) {
    space('PACK_TENSOR_MISMATCH', 'decoder.preview.latentToRgb', `decoder.preview.latentToRgb has ${decoder.preview.latentToRgb.length} rows but the latents have ${channels} channels (decoder.latentShape)`);
  }

  // 5. prior
  const prior = manifest.prior;
  if (prior) {
    const priorDim = dimOf(prior.space, 'prior.space');
    if (decoder && priorDim !== undefined && decoderDim !== undefined && prior.space !== decoder.space) {
      space('PACK_SPACE_MISMATCH', 'prior.space', `The prior outputs space "${prior.space}" but the decoder takes "${decoder.space}"`);
    }
    if (priorDim !== undefined && prior.normalizer) {
      for (const key of ['mean', 'std'] as const) {
        if (prior.normalizer[key].length !== priorDim) {
          space('PACK_SPACE_MISMATCH', `prior.normalizer.${key}`, `The prior's normaliser (prior.normalizer.${key}) is ${prior.normalizer[key].length}-d but its space "${prior.space}" is ${priorDim}-d`);
        }
      }
    }
  }
  return problems;
}

/**
 * An encoder's input shape against its preprocess (models/README.md "preprocess, by modality"):
 * image/depth/thermal [-1, channels, size, size] (vision also [-1, channels, T, size, size]); audio [-1, 1, numMelBins, targetLength];
 * text int64 [-1, contextLength]; imu [-1, channels, length]. `entry` is "encoders.<key>" or
 * "promptEncoder".
 */
function checkEncoderInput(entry: string, encoder: EncoderEntry | PromptEncoderEntry, problems: PackProblem[]): void {
  const input = encoder.input;
  if (!input) return;
  const p = encoder.preprocess as Record<string, unknown> & { type: string };
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  let expected: Array<number | undefined> | undefined;
  let dtype: 'float32' | 'int64' = 'float32';
  switch (p.type) {
    case 'image':
    case 'depth':
    case 'thermal':
      // vision may take clips [-1, channels, T, size, size] (ImageBind's Conv3d over 2 frames):
      // a still image then goes in as T equal frames
      expected = entry === 'encoders.vision' && input.shape.length === 5
        ? [num(p.channels), undefined, num(p.size), num(p.size)]
        : [num(p.channels), num(p.size), num(p.size)];
      break;
    case 'audio': {
      const fbank = (p.fbank ?? {}) as Record<string, unknown>;
      expected = [1, num(fbank.numMelBins), num(p.targetLength)];
      break;
    }
    case 'text':
      expected = [num((p.tokenizer as Record<string, unknown> | undefined)?.contextLength)];
      dtype = 'int64';
      break;
    case 'imu':
      expected = [num(p.channels), num(p.length)];
      break;
    default:
      return;
  }
  const where = `${entry}.input`;
  const shape = input.shape;
  const fits = shape[0] === -1 && shape.length === expected.length + 1 && expected.every((d, i) => d === undefined || shape[i + 1] === d);
  if (!fits) {
    problems.push({
      code: 'PACK_TENSOR_MISMATCH',
      where: `${where}.shape`,
      message: `${where}.shape is [${shape.join(', ')}] but its ${p.type} preprocess makes [-1, ${expected.map((d) => d ?? '?').join(', ')}]`,
    });
  }
  if ((input.dtype ?? 'float32') !== dtype) {
    problems.push({ code: 'PACK_TENSOR_MISMATCH', where: `${where}.dtype`, message: `${where}.dtype is "${input.dtype ?? 'float32'}" but ${p.type} input is ${dtype}` });
  }
}
