import { z } from 'zod';
import { modalitySchema } from './modalities.js';

/**
 * What a running model pack offers, as the worker's pipeline describes it (`describe()`).
 * The api validates requests against it; `GET /v1/pack` returns it. Built from the pack's
 * manifest (models/README.md): `spaces.*.dim`, `decoder.defaults`, `decoder.limits`, `prior`.
 */
export const packDescriptionSchema = z.object({
  name: z.string().min(1),
  /** Dimension of the joint embedding space the decoder takes (128 demo, 1024 ImageBind-huge). */
  dim: z.number().int().positive(),
  /** Input modalities this pack can embed, `embedding` included when raw vectors are accepted. */
  modalities: z.array(modalitySchema).min(1),
  /** Output image size in pixels. */
  imageSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  prior: z.object({
    available: z.boolean(),
    defaultSteps: z.number().int().positive().optional(),
    defaultGuidance: z.number().nonnegative().optional(),
    /** Query modalities for which prior "auto" runs the prior (the manifest's prior.defaultFor); absent: all. */
    defaultFor: z.array(z.string()).optional(),
  }),
  /** The decoder's default scheduler (a request may name another, see SCHEDULER_NAMES). */
  scheduler: z.string().optional(),
  defaults: z.object({
    steps: z.number().int().positive(),
    guidance: z.number().nonnegative(),
    noiseLevel: z.number().int().nonnegative(),
  }),
  /**
   * What the serving workers make besides images: `video` when they have ffmpeg (to write MP4)
   * and their pipeline reads sounds in windows (README "Sound to video"). Absent: images only.
   */
  outputs: z.array(z.enum(['image', 'video'])).optional(),
  limits: z.object({
    maxSteps: z.number().int().positive(),
    maxImages: z.number().int().positive(),
    /** Highest noise-augmentation level (numTrainTimesteps - 1: 999 for Stable unCLIP). */
    maxNoiseLevel: z.number().int().nonnegative(),
  }),
});
export type PackDescription = z.infer<typeof packDescriptionSchema>;
