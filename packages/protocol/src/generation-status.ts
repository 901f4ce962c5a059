import { z } from 'zod';
import { errorCodeSchema } from './error-codes.js';
import { imageLinkSchema, neighborUsedSchema, pipelineStageSchema } from './job-events.js';
import { requestEchoSchema } from './request-echo.js';
import { videoLinkSchema } from './video-output.js';
import { join } from 'node:path';
import type { ImageFormat } from './generation-request.js';

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
  /** Epoch milliseconds, each with its ISO 8601 twin (`...Iso`, UTC). */
  createdAt: z.number(),
  createdAtIso: z.string(),
  updatedAt: z.number(),
  updatedAtIso: z.string(),
  /** When the current (or last) attempt started; absent until a worker takes the job. */
  startedAt: z.number().optional(),
  startedAtIso: z.string().optional(),
  /** When the job succeeded, failed or was canceled. */
  completedAt: z.number().optional(),
  completedAtIso: z.string().optional(),
  /** The resolved request (defaults filled in, no file bytes or vectors): request-echo.ts. */
  request: requestEchoSchema.optional(),
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
  /** succeeded only; `b64_json`: the encoded image, base64, when asked with `?include=images` */
  images: z.array(imageLinkSchema.extend({ b64_json: z.string().optional() })).optional(),
  /** With `?include=images` on a succeeded job: whether `b64_json` is there (false: over A2I_INLINE_IMAGE_BYTES, or the files expired). */
  imagesInlined: z.boolean().optional(),
  /** succeeded only, for a request with `neighbors`: the stored images mixed in (id, cosine score), nearest first */
  neighbors: z.array(neighborUsedSchema).optional(),
  /** succeeded video jobs only (`output.type` video or morph): the MP4, GET /v1/generations/:id/video */
  video: videoLinkSchema.optional(),
  /** failed only */
  error: z.object({ code: errorCodeSchema, message: z.string() }).optional(),
  links: generationLinksSchema,
});
export type GenerationStatus = z.infer<typeof generationStatusSchema>;

/** GET /v1/generations: the caller's jobs, newest first; pass `nextCursor` as `?cursor=` for the next page (null: no more). */
export const generationHistorySchema = z.object({
  data: z.array(generationStatusSchema),
  nextCursor: z.string().nullable(),
});
export type GenerationHistory = z.infer<typeof generationHistorySchema>;

export function generationLinks(id: string): GenerationLinks {
  const self = `/v1/generations/${id}`;
  return { self, events: `${self}/events`, cancel: `${self}/cancel`, images: `${self}/images/{n}` };
}

export function imageUrl(id: string, index: number): string {
  return `/v1/generations/${id}/images/${index}`;
}

// ---------------------------------------------------------------- where a job's result files live

/** File extension of each result format (the worker writes them, the api serves them). */
export const FORMAT_EXTENSIONS: Record<ImageFormat, string> = { png: 'png', webp: 'webp', jpeg: 'jpg' };
/** Media type of each result format (the api's answers, the stored objects' Content-Type). */
export const FORMAT_MIME_TYPES: Record<ImageFormat, string> = { png: 'image/png', webp: 'image/webp', jpeg: 'image/jpeg' };

/** Where image `index` of a job lives: `<resultsDir>/<jobId>/<index>.<ext>`. */
export function resultPath(resultsDir: string, jobId: string, index: number, format: ImageFormat): string {
  return join(resultsDir, jobId, `${index}.${FORMAT_EXTENSIONS[format]}`);
}

/**
 * The key of image `index` in the results store: `<jobId>/<index>.<ext>` in a directory, where
 * an attempt places the job's whole folder in one rename; `<jobId>/<attempt>/<index>.<ext>` in
 * object storage, which has no rename: each attempt writes under its own folder and the job's
 * state (`attempt` of a succeeded job) says which one won (apps/worker/src/attempt-results.ts).
 */
export function resultKey(jobId: string, index: number, format: ImageFormat, attempt?: number): string {
  const name = `${index}.${FORMAT_EXTENSIONS[format]}`;
  return attempt === undefined ? `${jobId}/${name}` : `${jobId}/${attempt}/${name}`;
}
