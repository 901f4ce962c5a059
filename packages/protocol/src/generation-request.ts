import { z } from 'zod';
import { inputKindSchema } from './modalities.js';
import { SCHEDULER_NAMES, type SchedulerName } from './scheduler-names.js';
import { webhookRequestSchema } from './webhook-events.js';
import { outputRequestSchema } from './video-output.js';

/**
 * What a client sends (JSON body of POST /v1/generations, or the `request` field of a
 * multipart body). Limits that depend on the pack (dims, max steps, max images) are checked
 * afterwards by `resolveGenerationRequest`; this schema checks shape and absolute bounds.
 *
 * Multipart: the part named `request` holds this JSON; an input with `"file": "<part name>"`
 * takes its content from the file part of that name. JSON bodies cannot carry files.
 */

const finiteNumber = z.number().refine(Number.isFinite, 'Expected a finite number');

export const inputSpecSchema = z
  .object({
    modality: inputKindSchema,
    /** Weight of this input in the mix (embedding arithmetic: sum of weight x embedding). */
    weight: finiteNumber.default(1),
    /** Multipart part name holding the file (audio, image, video, depth, thermal, imu). */
    file: z.string().min(1).max(100).optional(),
    /** The text, for modality `text`. */
    text: z.string().min(1).optional(),
    /** A raw vector in the pack's space, for modality `embedding`. */
    vector: z.array(finiteNumber).min(1).optional(),
    /** The collection of a stored item, for modality `item` (README "Search"). */
    collection: z.string().min(1).max(63).optional(),
    /** The stored item's id, for modality `item`. */
    id: z.string().min(1).max(512).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const wants: ReadonlyArray<'file' | 'text' | 'vector' | 'collection' | 'id'> =
      input.modality === 'text' ? ['text'] : input.modality === 'embedding' ? ['vector'] : input.modality === 'item' ? ['collection', 'id'] : ['file'];
    for (const key of ['file', 'text', 'vector', 'collection', 'id'] as const) {
      if (wants.includes(key) && input[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `Expected ${key} for a ${input.modality} input but received nothing` });
      }
      if (!wants.includes(key) && input[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `Expected no ${key} for a ${input.modality} input (it takes ${wants.join(' and ')})` });
      }
    }
  });
export type InputSpec = z.infer<typeof inputSpecSchema>;

export const IMAGE_FORMATS = ['png', 'webp', 'jpeg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** BullMQ priorities (1 runs first). Every generation job (and video part) gets one, so all wait in one ordered set. */
export const QUEUE_PRIORITY: Readonly<Record<Priority, number>> = Object.freeze({ high: 1, normal: 2, low: 3 });
export const PRIOR_MODES = ['on', 'off', 'auto'] as const;
export type PriorMode = (typeof PRIOR_MODES)[number];

const inputsSchema = z
  .array(inputSpecSchema)
  .min(1, 'Expected at least one input')
  .refine((inputs) => inputs.some((input) => input.weight !== 0), 'Expected at least one input with a non-zero weight');

/** Schedulers a request may choose for the decoder (packages/unclip implements each, after diffusers). */
export type SchedulerChoice = SchedulerName;

/**
 * Retrieval-augmented generation: the mean of the query's k nearest IMAGE items of a
 * collection is mixed into the condition with `weight`, like one more input. The query is the
 * inputs' weighted sum, so the worker searches after embedding them. `k` is checked against
 * A2I_NEIGHBORS_MAX_K, `filter` (a search's metadata filter) by the store (INVALID_FILTER).
 */
export const neighborsRequestSchema = z
  .object({
    collection: z.string().min(1).max(63),
    k: z.number().int().min(1).default(4),
    weight: finiteNumber.default(1),
    filter: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type NeighborsRequest = z.infer<typeof neighborsRequestSchema>;

export const generationRequestSchema = z
  .object({
    inputs: inputsSchema,
    /** Mix in the mean of the query's nearest stored images (retrieval-augmented generation). */
    neighbors: neighborsRequestSchema.optional(),
    /** Text prompt for the decoder's prompt conditioning (Stable unCLIP's encoder_hidden_states). */
    prompt: z.string().max(2000).optional(),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    steps: z.number().int().min(1).optional(),
    guidance: finiteNumber.pipe(z.number().min(0).max(100)).optional(),
    prior: z.enum(PRIOR_MODES).default('auto'),
    /** The decoder's scheduler; the pack's default when absent. */
    scheduler: z.enum(SCHEDULER_NAMES).optional(),
    noiseLevel: z.number().int().min(0).optional(),
    numImages: z.number().int().min(1).optional(),
    format: z.enum(IMAGE_FORMATS).default('png'),
    /** Send a preview every N denoising steps; 0 turns previews off. */
    previewEvery: z.number().int().min(0).max(1000).default(5),
    priority: z.enum(PRIORITIES).default('normal'),
    /** POST the job's status to this URL on the chosen events, signed (README "Webhooks"). */
    webhook: webhookRequestSchema.optional(),
    /** What to make: images (the default), a video following a recording, or a morph between the inputs (video-output.ts). */
    output: outputRequestSchema.optional(),
  })
  .strict();
export type GenerationRequest = z.infer<typeof generationRequestSchema>;
export type GenerationRequestInput = z.input<typeof generationRequestSchema>;

export const embeddingRequestSchema = z.object({ inputs: inputsSchema }).strict();
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;
