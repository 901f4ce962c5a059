import { z } from 'zod';
import { modalitySchema } from './modalities.js';
import { IMAGE_FORMATS, PRIORITIES } from './generation-request.js';
import { jobOutputSchema } from './video-output.js';

/**
 * The job data the api enqueues and the worker validates again before it runs anything:
 * every default resolved against the pack, files where the uploads store keeps them (a path in
 * the uploads folder, or an s3:// location in object storage: @a2i/storage, README "Storage").
 */

const finite = z.number().refine(Number.isFinite, 'Expected a finite number');

/** One input as the pipeline receives it. */
export const pipelineInputSchema = z.object({
  modality: modalitySchema,
  weight: finite,
  /** The uploaded file (file modalities): its absolute path, or its s3:// location (the worker fetches it). */
  file: z.string().min(1).optional(),
  text: z.string().optional(),
  vector: z.array(finite).optional(),
  /**
   * Where an `embedding` input's vector came from when the request named a stored item
   * (`{ modality: "item", collection, id }`): the api looked it up before queueing. `modality`
   * is the item's own, which prior "auto" goes by. The pipeline reads only `vector`.
   */
  item: z.object({ collection: z.string(), id: z.string(), modality: z.string() }).optional(),
});
export type PipelineInput = z.infer<typeof pipelineInputSchema>;

export const generationOptionsSchema = z.object({
  prompt: z.string(),
  /** Seed of image 0; image i uses seed + i (mod 2^32). */
  seed: z.number().int().min(0).max(0xffff_ffff),
  steps: z.number().int().min(1),
  guidance: finite,
  /** Resolved from on|off|auto against the pack: whether the prior runs. */
  usePrior: z.boolean(),
  /** The decoder's scheduler; absent: the pack's default. */
  scheduler: z.string().optional(),
  noiseLevel: z.number().int().min(0),
  numImages: z.number().int().min(1),
  format: z.enum(IMAGE_FORMATS),
  previewEvery: z.number().int().min(0),
  priority: z.enum(PRIORITIES),
});
export type GenerationOptions = z.infer<typeof generationOptionsSchema>;

/**
 * Whether a guidance scale runs classifier-free guidance: above 1, each image is two model rows,
 * [uncond; cond] (diffusers: `do_classifier_free_guidance = guidance_scale > 1`); else one.
 */
export function isGuided(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/**
 * Retrieval-augmented generation, as the worker runs it: after embedding the inputs it searches
 * `collection` (as `owner`: the requester's, checked by the api) for the query's `k` nearest
 * image items and mixes their mean into the condition with `weight`.
 */
export const neighborsJobSchema = z.object({
  collection: z.string().min(1),
  /** The collection's owner (sha256 of an API key), null when collections are shared. */
  owner: z.string().min(1).nullable(),
  k: z.number().int().min(1),
  weight: finite,
  filter: z.record(z.string(), z.unknown()).optional(),
});
export type NeighborsJob = z.infer<typeof neighborsJobSchema>;

export const generationJobSchema = z.object({
  id: z.string().min(1),
  createdAt: z.number().int(),
  inputs: z.array(pipelineInputSchema).min(1),
  options: generationOptionsSchema,
  neighbors: neighborsJobSchema.optional(),
  /** Folder holding this job's uploads (a path or an s3:// location), named after the job's id; removed once its final state is recorded (apps/api/src/request-body.ts). */
  uploadDir: z.string().optional(),
  /** A video (of a sound, or a morph) instead of images (video-output.ts); absent: images. */
  output: jobOutputSchema.optional(),
  /** A video job's next step after its parts ran (apps/worker video-processor.ts); absent: planning. */
  step: z.literal('encode').optional(),
});
export type GenerationJob = z.infer<typeof generationJobSchema>;

/**
 * One part of a video job (BullMQ child of the video's job, apps/worker video-part-processor.ts):
 * a run of frames, each generated from the job's fixed inputs plus one more input, the frame's
 * own condition (a unit direction in the pack's space) with weight `conditionWeight`, all with
 * the job's seed (the same initial noise for every frame).
 */
export const videoPartJobSchema = z.object({
  /** The video's job id: its state, events and results. */
  videoId: z.string().min(1),
  part: z.number().int().min(0),
  /** Frames of the whole video (progress is frames done of these). */
  totalFrames: z.number().int().positive(),
  frames: z.array(z.object({ index: z.number().int().min(0), direction: z.array(finite).min(1) })).min(1),
  conditionWeight: finite,
  /** The request's other inputs (a fixed image or text), weighed in on every frame. */
  inputs: z.array(pipelineInputSchema),
  options: generationOptionsSchema,
});
export type VideoPartJob = z.infer<typeof videoPartJobSchema>;

/** What a part job returns (BullMQ return value): where its frames are, by frame index. */
export const videoPartResultSchema = z.union([
  z.object({ folder: z.string().min(1), frames: z.array(z.number().int().min(0)), width: z.number().int().positive(), height: z.number().int().positive() }),
  z.object({ stopped: z.enum(['canceled', 'finished']) }),
]);
export type VideoPartResult = z.infer<typeof videoPartResultSchema>;

export const embeddingJobSchema = z.object({
  inputs: z.array(pipelineInputSchema).min(1),
  uploadDir: z.string().optional(),
});
export type EmbeddingJob = z.infer<typeof embeddingJobSchema>;

/** What the worker returns for an embedding job (BullMQ return value, JSON). */
export const embeddingResultSchema = z.object({
  vectors: z.array(z.array(finite)),
  combined: z.array(finite),
});
export type EmbeddingResult = z.infer<typeof embeddingResultSchema>;
