import { z } from 'zod';
import { ingestResultSchema, type IngestResult } from './ingest-result.js';
import { imageLinkSchema, neighborUsedSchema, type ImageLink, type JobEvent, type NeighborUsed } from './job-events.js';
import { JOB_STATUSES, generationLinks, type GenerationStatus, type JobStatus } from './generation-status.js';
import { requestEchoSchema, type RequestEcho } from './request-echo.js';
import { videoLinkSchema, type VideoLink } from './video-output.js';

/**
 * The state of one job as kept in its Redis hash (`<prefix>:job:<id>`), every value a string.
 * Written only through JobStateStore, so each change bumps `seq` and publishes its event.
 * `tokenHash` and `owner` are secrets' digests and never leave the server.
 */
export interface JobState {
  id: string;
  status: JobStatus;
  seq: number;
  createdAt: number;
  updatedAt: number;
  /** When the current attempt started (ms); set by `started`, removed by `requeued`. */
  startedAt?: number;
  /** When the job finished (ms). */
  completedAt?: number;
  /** The resolved request (generations created since the echo existed). */
  request?: RequestEcho;
  tokenHash: string;
  /** sha256 of the API key that created the job, '' when API keys are off. */
  owner: string;
  seed: number;
  numImages: number;
  format: string;
  attempt: number;
  stage?: 'embed' | 'prior' | 'decode' | 'frames' | 'encode';
  step?: number;
  steps?: number;
  etaMs?: number | null;
  images?: ImageLink[];
  /** The stored images a generation with `neighbors` mixed in (succeeded only). */
  neighbors?: NeighborUsed[];
  /** 'ingest' for a collection's ingest job; absent for a generation. */
  kind?: 'ingest';
  /** The collection an ingest job writes into. */
  collection?: string;
  /** An ingest job's outcome (succeeded only). */
  ingest?: IngestResult;
  /** A video job's MP4 (succeeded only). */
  video?: VideoLink;
  /**
   * Where a succeeded video job's files are in the results store (`<id>/<run>`: video.mp4 and
   * frames/<n>.png), written by the run that recorded the success. Never shown to clients.
   */
  resultsFolder?: string;
  errorCode?: string;
  errorMessage?: string;
}

const intString = z.coerce.number().int();
const hashSchema = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  seq: intString,
  createdAt: intString,
  updatedAt: intString,
  startedAt: intString.optional(),
  completedAt: intString.optional(),
  request: z.string().optional(),
  tokenHash: z.string(),
  owner: z.string().default(''),
  seed: intString,
  numImages: intString,
  format: z.string(),
  attempt: intString.default(0),
  stage: z.enum(['embed', 'prior', 'decode', 'frames', 'encode']).optional(),
  step: intString.optional(),
  steps: intString.optional(),
  etaMs: z.string().optional(),
  images: z.string().optional(),
  neighbors: z.string().optional(),
  kind: z.literal('ingest').optional(),
  collection: z.string().optional(),
  ingest: z.string().optional(),
  video: z.string().optional(),
  resultsFolder: z.string().optional(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
});

/** Redis hash (HGETALL) -> JobState; null for an empty hash (missing or expired job). */
export function parseJobStateHash(hash: Record<string, string>): JobState | null {
  if (Object.keys(hash).length === 0) return null;
  const h = hashSchema.parse(hash);
  const state: JobState = {
    id: h.id,
    status: h.status,
    seq: h.seq,
    createdAt: h.createdAt,
    updatedAt: h.updatedAt,
    tokenHash: h.tokenHash,
    owner: h.owner,
    seed: h.seed,
    numImages: h.numImages,
    format: h.format,
    attempt: h.attempt,
  };
  if (h.startedAt !== undefined) state.startedAt = h.startedAt;
  if (h.completedAt !== undefined) state.completedAt = h.completedAt;
  if (h.request !== undefined) state.request = requestEchoSchema.parse(JSON.parse(h.request));
  if (h.stage !== undefined) state.stage = h.stage;
  if (h.step !== undefined) state.step = h.step;
  if (h.steps !== undefined) state.steps = h.steps;
  if (h.etaMs !== undefined) state.etaMs = h.etaMs === '' ? null : Number(h.etaMs);
  if (h.images !== undefined) state.images = z.array(imageLinkSchema).parse(JSON.parse(h.images));
  if (h.neighbors !== undefined) state.neighbors = z.array(neighborUsedSchema).parse(JSON.parse(h.neighbors));
  if (h.kind !== undefined) state.kind = h.kind;
  if (h.collection !== undefined) state.collection = h.collection;
  if (h.ingest !== undefined) state.ingest = ingestResultSchema.parse(JSON.parse(h.ingest));
  if (h.video !== undefined) state.video = videoLinkSchema.parse(JSON.parse(h.video));
  if (h.resultsFolder !== undefined) state.resultsFolder = h.resultsFolder;
  if (h.errorCode !== undefined) state.errorCode = h.errorCode;
  if (h.errorMessage !== undefined) state.errorMessage = h.errorMessage;
  return state;
}

/** The public view of a job (GET /v1/generations/:id). `position` only matters while queued. */
export function toGenerationStatus(state: JobState, position: number | null): GenerationStatus {
  const status: GenerationStatus = {
    id: state.id,
    status: state.status,
    createdAt: state.createdAt,
    createdAtIso: new Date(state.createdAt).toISOString(),
    updatedAt: state.updatedAt,
    updatedAtIso: new Date(state.updatedAt).toISOString(),
    seed: state.seed,
    numImages: state.numImages,
    format: state.format,
    links: generationLinks(state.id),
  };
  if (state.startedAt !== undefined) Object.assign(status, { startedAt: state.startedAt, startedAtIso: new Date(state.startedAt).toISOString() });
  if (state.completedAt !== undefined) Object.assign(status, { completedAt: state.completedAt, completedAtIso: new Date(state.completedAt).toISOString() });
  if (state.request !== undefined) status.request = state.request;
  if (state.status === 'queued') status.position = position;
  if (state.status === 'running') {
    status.attempt = state.attempt;
    if (state.stage !== undefined && state.step !== undefined && state.steps !== undefined) {
      status.progress = { stage: state.stage, step: state.step, steps: state.steps, etaMs: state.etaMs ?? null };
    }
  }
  if (state.status === 'succeeded') status.images = state.images ?? [];
  if (state.status === 'succeeded' && state.neighbors !== undefined) status.neighbors = state.neighbors;
  if (state.status === 'succeeded' && state.video !== undefined) status.video = state.video;
  if (state.status === 'failed') status.error = { code: state.errorCode ?? 'INTERNAL', message: state.errorMessage ?? '' };
  return status;
}

/**
 * The events that bring a late subscriber up to the current state, all carrying the state's
 * seq: queued(position) | started + last progress | the terminal event.
 */
export function snapshotEvents(state: JobState, position: number | null, now: number): JobEvent[] {
  const base = { id: state.id, seq: state.seq, at: now };
  switch (state.status) {
    case 'queued':
      return [{ type: 'job:queued', payload: { ...base, position } }];
    case 'running': {
      const events: JobEvent[] = [{ type: 'job:started', payload: { ...base, attempt: Math.max(1, state.attempt) } }];
      if (state.stage !== undefined && state.step !== undefined && state.steps !== undefined) {
        events.push({
          type: 'job:progress',
          payload: { ...base, stage: state.stage, step: state.step, steps: state.steps, etaMs: state.etaMs ?? null },
        });
      }
      return events;
    }
    case 'succeeded':
      return [
        {
          type: 'job:succeeded',
          payload: { ...base, images: state.images ?? [], ...(state.neighbors ? { neighbors: state.neighbors } : {}), ...(state.ingest ? { ingest: state.ingest } : {}), ...(state.video ? { video: state.video } : {}) },
        },
      ];
    case 'failed':
      return [{ type: 'job:failed', payload: { ...base, code: state.errorCode ?? 'INTERNAL', message: state.errorMessage ?? '' } }];
    case 'canceled':
      return [{ type: 'job:canceled', payload: base }];
  }
}
