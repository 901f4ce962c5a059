import { z } from 'zod';
import { errorCodeSchema } from './error-codes.js';
import { imageLinkSchema, neighborUsedSchema, pipelineStageSchema } from './job-events.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

export const generationLinksSchema = z.object({
  self: z.string(),
  events: z.string(),
  cancel: z.string(),
  /** Template: replace {n} with the image index. */
  images: z.string(),
});
export type GenerationLinks = z.infer<typeof generationLinksSchema>;

/** 202 answer of POST /v1/generations. `token` is the job's secret: keep it. */
export const generationCreatedSchema = z.object({
  id: z.string(),
  token: z.string(),
  links: generationLinksSchema,
});
export type GenerationCreated = z.infer<typeof generationCreatedSchema>;

/** GET /v1/generations/:id */
export const generationStatusSchema = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  createdAt: z.number(),
  updatedAt: z.number(),
  seed: z.number().int().nonnegative(),
  numImages: z.number().int().positive(),
  format: z.string(),
  /** queued only */
  position: z.number().int().positive().nullable().optional(),
  /** running only */
  attempt: z.number().int().positive().optional(),
  progress: z
    .object({
      stage: pipelineStageSchema,
      step: z.number().int().nonnegative(),
      steps: z.number().int().positive(),
      etaMs: z.number().nonnegative().nullable(),
    })
    .optional(),
  /** succeeded only */
  images: z.array(imageLinkSchema).optional(),
  /** succeeded only, for a request with `neighbors`: the stored images mixed in (id, cosine score), nearest first */
  neighbors: z.array(neighborUsedSchema).optional(),
  /** failed only */
  error: z.object({ code: errorCodeSchema, message: z.string() }).optional(),
  links: generationLinksSchema,
});
export type GenerationStatus = z.infer<typeof generationStatusSchema>;

export function generationLinks(id: string): GenerationLinks {
  const self = `/v1/generations/${id}`;
  return { self, events: `${self}/events`, cancel: `${self}/cancel`, images: `${self}/images/{n}` };
}

export function imageUrl(id: string, index: number): string {
  return `/v1/generations/${id}/images/${index}`;
}
