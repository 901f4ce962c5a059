import { posix } from 'node:path';
import { z } from 'zod';

/**
 * The manifest of a model pack, format `imagebind-unclip-pack/1` (models/README.md: the one
 * contract between the models and the code). This schema checks what every consumer relies
 * on (names, shapes, files, dims, defaults); the sections' maths constants (scheduler,
 * preprocess) are checked again, by name, by the packages that use them (@a2i/unclip,
 * @a2i/imagebind). Objects are loose: fields this version does not know are kept, so a pack
 * written by a newer recipe still loads and its extra fields reach those packages.
 */
export const PACK_FORMAT = 'imagebind-unclip-pack/1';

/** The modality keys of `encoders` (ImageBind's six + video, which goes through vision). */
export const ENCODER_MODALITIES = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu', 'video'] as const;

const finite = z.number().refine(Number.isFinite, 'Expected a finite number');
const positiveInt = z.number().int().positive();
const tensorName = z.string().min(1);
/** A dimension: a positive size, or -1 for the batch. */
const dimension = z.number().int().refine((d) => d === -1 || d > 0, 'Expected a positive size or -1 (the batch dimension)');

/** A pack-relative path that stays inside the pack folder (no absolute path, no ".."). */
export function isInsidePack(path: string): boolean {
  if (path.length === 0 || path.includes('\\') || posix.isAbsolute(path)) return false;
  const normal = posix.normalize(path);
  return normal !== '..' && !normal.startsWith('../') && normal !== '.';
}
const packPath = z.string().refine(isInsidePack, 'Expected a path relative to the pack folder (no absolute path, no "..")');

export const tensorSpecSchema = z.looseObject({
  name: tensorName,
  shape: z.array(dimension).min(1),
  dtype: z.enum(['float32', 'int64']).optional(),
});

const postprocessSchema = z.looseObject({ normalize: z.boolean(), scale: z.number().positive() });

export const encoderSchema = z
  .looseObject({
    /** Pack-relative ONNX file; absent for video, whose frames go through `encoder`. */
    file: packPath.optional(),
    encoder: z.string().min(1).optional(),
    input: tensorSpecSchema.optional(),
    output: tensorSpecSchema.optional(),
    space: z.string().min(1),
    preprocess: z.looseObject({ type: z.string().min(1) }),
    postprocess: postprocessSchema.optional(),
    /** Text only: the token hidden states the decoder's prompt conditioning reads. */
    hiddenStates: z.looseObject({ name: tensorName, shape: z.array(dimension).min(2) }).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.file !== undefined) {
      for (const key of ['input', 'output', 'postprocess'] as const) {
        if (e[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `Expected ${key} for an encoder with a file` });
      }
      if (e.output && e.output.shape.length !== 2) ctx.addIssue({ code: 'custom', path: ['output', 'shape'], message: 'Expected an output shape [-1, D]' });
    } else if (e.encoder === undefined) {
      ctx.addIssue({ code: 'custom', path: ['file'], message: 'Expected file (an ONNX file) or encoder (the encoder its inputs go through)' });
    }
  });

/** The `decoder.promptConditioning.encoder` value naming the top-level `promptEncoder`. */
export const PROMPT_ENCODER_KEY = 'promptEncoder';

/**
 * The decoder's own text model (Stable unCLIP: SD 2.1's OpenCLIP-H text model), when the token
 * hidden states its UNet reads do not come from an ImageBind encoder: an encoder entry's
 * fields less output, space and postprocess (it embeds into no space).
 */
export const promptEncoderSchema = z.looseObject({
  file: packPath,
  input: tensorSpecSchema,
  preprocess: z.looseObject({ type: z.literal('text') }),
  hiddenStates: z.looseObject({ name: tensorName, shape: z.array(dimension).min(2) }),
});

/** diffusers' scheduler config in camelCase; @a2i/unclip checks every key by name. */
const schedulerSchema = z.looseObject({ numTrainTimesteps: positiveInt.optional(), betaSchedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).optional() });

const limitsSchema = z.looseObject({ maxSteps: positiveInt, maxImages: positiveInt });
const schedulerName = z.string().min(1);
const decoderDefaultsSchema = z.looseObject({
  scheduler: schedulerName,
  steps: positiveInt,
  guidanceScale: z.number().nonnegative(),
  noiseLevel: z.number().int().nonnegative(),
});
const priorDefaultsSchema = z.looseObject({ scheduler: schedulerName, steps: positiveInt, guidanceScale: z.number().nonnegative() });

export const decoderSchema = z.looseObject({
  space: z.string().min(1),
  /** The decoder rescales every image embedding to this L2 norm (the demo pack: 1); absent in a pack with `conditioning`. */
  embeddingNorm: z.number().positive().nullable().optional(),
  unet: z.looseObject({
    file: packPath,
    inputs: z.looseObject({ sample: tensorName, timestep: tensorName, encoderHiddenStates: tensorName.nullable().optional(), classLabels: tensorName }),
    output: tensorName,
  }),
  vae: z.looseObject({
    file: packPath,
    input: tensorName,
    output: tensorName,
    scalingFactor: z.number().positive(),
    outputRange: z.tuple([finite, finite]),
  }),
  /** [C, h, w] */
  latentShape: z.tuple([positiveInt, positiveInt, positiveInt]),
  /** [H, W] */
  imageSize: z.tuple([positiveInt, positiveInt]),
  scheduler: schedulerSchema,
  noiseAugmentation: z.looseObject({
    mean: z.array(finite).min(1),
    std: z.array(finite).min(1),
    numTrainTimesteps: z.number().int().min(2),
    betaSchedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']),
    timestepEmbedding: z.looseObject({ dim: positiveInt, flipSinToCos: z.boolean(), downscaleFreqShift: finite }),
  }),
  promptConditioning: z
    .looseObject({ encoder: z.string().min(1), output: tensorName, shape: z.tuple([positiveInt, positiveInt]), unconditionalPrompt: z.string().optional() })
    .nullable()
    .optional(),
  guidance: z.looseObject({ unconditionalClassLabels: z.literal('zeros').optional() }).optional(),
  /** rgb = latent^T W + b, W [C][3]. */
  preview: z.looseObject({ latentToRgb: z.array(z.tuple([finite, finite, finite])).min(1), bias: z.tuple([finite, finite, finite]) }).nullable().optional(),
  /** Partial: pack-wide `defaults` may give the rest. */
  defaults: decoderDefaultsSchema.partial().optional(),
  limits: limitsSchema.partial().optional(),
});

export const priorSchema = z.looseObject({
  space: z.string().min(1),
  file: packPath,
  inputs: z.looseObject({ sample: tensorName, timestep: tensorName, condition: tensorName }),
  output: tensorName,
  conditionNorm: z.number().positive().nullable().optional(),
  normalizer: z.looseObject({ mean: z.array(finite).min(1), std: z.array(finite).min(1) }).nullable().optional(),
  outputNorm: z.number().positive().nullable().optional(),
  scheduler: schedulerSchema,
  guidance: z.looseObject({ unconditionalCondition: z.literal('zeros').optional() }).optional(),
  defaults: priorDefaultsSchema.optional(),
  limits: limitsSchema.optional(),
  /** Query modalities for which prior "auto" runs the prior. */
  defaultFor: z.array(z.string().min(1)).optional(),
});

/**
 * How the pipeline builds the decoder's image embedding from the inputs (models/README.md,
 * "conditioning"; written by export_imagebind.py, carried by assemble_pack.py): an image input
 * at its raw vision embedding (before the postprocess), every other input as its unit
 * direction times `norm`, the mean raw vision norm measured on photos (`measurement` says how).
 */
export const conditioningSchema = z.looseObject({
  norm: z.number().positive().refine(Number.isFinite, 'Expected a finite number'),
  measurement: z.looseObject({ photos: z.array(z.string()).optional() }).optional(),
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'Expected a sha256 in lower-case hex (64 characters)');

export const packManifestSchema = z.looseObject({
  format: z.literal(PACK_FORMAT),
  name: z.string().min(1),
  description: z.string().optional(),
  /** Checksum of every file: pack-relative path -> sha256 hex. */
  files: z.record(packPath, sha256Hex),
  spaces: z.record(z.string().min(1), z.looseObject({ dim: positiveInt })),
  encoders: z.partialRecord(z.enum(ENCODER_MODALITIES), encoderSchema).refine((e) => Object.keys(e).length > 0, 'Expected at least one encoder'),
  /** Named by `decoder.promptConditioning.encoder: "promptEncoder"`. */
  promptEncoder: promptEncoderSchema.nullable().optional(),
  prior: priorSchema.nullable().optional(),
  /**
   * Absent in an encoders-only pack (e.g. export_imagebind.py's output before assembly): it
   * can embed and retrieve, and passes the check, but cannot generate, so the worker refuses it.
   */
  decoder: decoderSchema.nullable().optional(),
  /** Absent (the demo pack): the inputs' unit directions are mixed and the decoder rescales to decoder.embeddingNorm. */
  conditioning: conditioningSchema.optional(),
  /** Pack-wide defaults; `decoder.defaults` fills what is absent here. */
  defaults: decoderDefaultsSchema.partial().extend({ prior: z.enum(['on', 'off', 'auto']).optional() }).optional(),
  limits: limitsSchema.partial().optional(),
}).superRefine((m, ctx) => {
  // the decoder would rescale the condition conditioning builds at its own norms
  if (m.conditioning !== undefined && typeof m.decoder?.embeddingNorm === 'number') {
    ctx.addIssue({ code: 'custom', path: ['decoder', 'embeddingNorm'], message: 'Expected no decoder.embeddingNorm in a pack with a conditioning section (it would rescale the image embedding conditioning builds)' });
  }
});

export type PackManifest = z.infer<typeof packManifestSchema>;
export type EncoderEntry = z.infer<typeof encoderSchema>;
export type DecoderSection = z.infer<typeof decoderSchema>;
export type PriorSection = z.infer<typeof priorSchema>;
export type PromptEncoderEntry = z.infer<typeof promptEncoderSchema>;
export type ConditioningSection = z.infer<typeof conditioningSchema>;
export type TensorSpecEntry = z.infer<typeof tensorSpecSchema>;
export type EncoderModality = (typeof ENCODER_MODALITIES)[number];

/** Where the decoder's prompt hidden states come from (`decoder.promptConditioning.encoder`). */
export interface PromptSource {
  /** The manifest entry: "promptEncoder" or "encoders.<key>". */
  where: string;
  entry: PromptEncoderEntry | EncoderEntry;
}

/**
 * The entry `decoder.promptConditioning.encoder` names: "promptEncoder" is the top-level
 * promptEncoder, anything else an `encoders` key. Undefined when there is no prompt
 * conditioning or the name finds nothing (checkSpaces reports that).
 */
export function promptSource(manifest: PackManifest): PromptSource | undefined {
  const name = manifest.decoder?.promptConditioning?.encoder;
  if (name === undefined) return undefined;
  if (name === PROMPT_ENCODER_KEY) return manifest.promptEncoder ? { where: PROMPT_ENCODER_KEY, entry: manifest.promptEncoder } : undefined;
  const entry = (manifest.encoders as Record<string, EncoderEntry | undefined>)[name];
  return entry ? { where: `encoders.${name}`, entry } : undefined;
}
