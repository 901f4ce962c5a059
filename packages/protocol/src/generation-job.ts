import { z } from 'zod';
import { modalitySchema } from './modalities.js';
import { IMAGE_FORMATS, PRIORITIES } from './generation-request.js';

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
});
export type GenerationJob = z.infer<typeof generationJobSchema>;

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
