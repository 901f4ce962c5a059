import { z } from 'zod';
import { IMAGE_FORMATS, PRIORITIES } from './generation-request.js';
import { jobOutputSchema } from './video-output.js';

/**
 * The resolved request a job ran with, as the status echoes it (`request`) and a PNG result
 * carries it: every default filled in from the pack, and no input's payload (no file bytes,
 * no vectors). Stored with the job's state (JobStateStore.create) as JSON.
 */
export const echoedInputSchema = z.object({
  /** The request's modality (`item` stays `item`, though the pipeline got its stored vector). */
  modality: z.string(),
  weight: z.number(),
  /** text inputs */
  text: z.string().optional(),
  /** file inputs: the multipart part, its size and the format its bytes were sniffed as */
  file: z.object({ part: z.string(), bytes: z.number().int().nonnegative(), format: z.string() }).optional(),
  /** embedding inputs: the vector's length only */
  dim: z.number().int().positive().optional(),
  /** item inputs: which stored item */
  collection: z.string().optional(),
  id: z.string().optional(),
});
export type EchoedInput = z.infer<typeof echoedInputSchema>;

export const requestEchoSchema = z.object({
  /** The model pack that ran the job (PackDescription.name). */
  pack: z.string(),
  inputs: z.array(echoedInputSchema),
  prompt: z.string(),
  /** Seed of image 0 (image i: seed + i). */
  seed: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  guidance: z.number(),
  /** The decoder's scheduler; null when neither the request nor the pack names one (the decoder's own default). */
  scheduler: z.string().nullable(),
  /** Whether the prior ran (the request's on|off|auto resolved against the pack). */
  prior: z.enum(['on', 'off']),
  noiseLevel: z.number().int().nonnegative(),
  numImages: z.number().int().positive(),
  format: z.enum(IMAGE_FORMATS),
  priority: z.enum(PRIORITIES),
  neighbors: z
    .object({ collection: z.string(), k: z.number().int().positive(), weight: z.number(), filter: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  /** A video job's output, every default filled in (video-output.ts); absent: images. */
  output: jobOutputSchema.optional(),
});
export type RequestEcho = z.infer<typeof requestEchoSchema>;

/** What the api learnt of an uploaded input when it inspected it (its size and sniffed format). */
export interface InspectedUpload {
  bytes: number;
  format: string;
}
