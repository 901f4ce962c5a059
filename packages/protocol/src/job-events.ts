import { z } from 'zod';
import { errorBodySchema, errorCodeSchema } from './error-codes.js';
import { IMAGE_FORMATS } from './generation-request.js';
import { ingestResultSchema } from './ingest-result.js';
import type { ServerEvents } from './server-events.js';
import type { LiveClientEvents, LiveServerEvents } from './live-sound.js';
import { videoLinkSchema } from './video-output.js';

/**
 * Events a client sees for one job, in this order:
 *   job:queued (position) -> job:started -> job:progress* (step monotonic within a stage)
 *   -> job:preview* (interleaved) -> job:succeeded | job:failed | job:canceled
 * The same names and payloads travel over socket.io and over Server-Sent Events (where
 * the preview's bytes are base64 in `image`). `seq` orders the state-changing events of a
 * job; previews and queue-position refreshes are not state changes and carry the `seq` of
 * the state they were seen in.
 */

const eventBase = {
  id: z.string().min(1),
  /** Per-job sequence number of the state this event belongs to. */
  seq: z.number().int().nonnegative(),
  /** Milliseconds since the epoch, when the event was made. */
  at: z.number().int().nonnegative(),
};

export const jobQueuedEventSchema = z.object({
  ...eventBase,
  /** 1 = next to start; null when the job is between attempts or not found in the queue. */
  position: z.number().int().positive().nullable(),
});

export const jobStartedEventSchema = z.object({ ...eventBase, attempt: z.number().int().positive() });

/**
 * embed | prior | decode: an image's stages. A video job (video-output.ts) reports `embed` (its
 * sound's windows, or its inputs), `frames` (frames made, of the video's, over all its parts) and
 * `encode` (the MP4 being written).
 */
export const pipelineStageSchema = z.enum(['embed', 'prior', 'decode', 'frames', 'encode']);

export const jobProgressEventSchema = z.object({
  ...eventBase,
  stage: pipelineStageSchema,
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  /** Estimated milliseconds left for the whole job; null before there is a rate to go by. */
  etaMs: z.number().nonnegative().nullable(),
});

export const PREVIEW_MIME_TYPES = ['image/webp', 'image/jpeg'] as const;

export const jobPreviewEventSchema = z.object({
  ...eventBase,
  /** `frames`: a finished frame of a video job, `step` its index. */
  stage: z.enum(['prior', 'decode', 'frames']),
  step: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  mime: z.enum(PREVIEW_MIME_TYPES),
  /** Encoded image bytes (socket.io: binary; SSE: base64 string). */
  image: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'Expected image bytes'),
});

export const imageLinkSchema = z.object({
  index: z.number().int().nonnegative(),
  /** Path under the api: /v1/generations/:id/images/:index */
  url: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  format: z.enum(IMAGE_FORMATS),
  bytes: z.number().int().nonnegative(),
  /**
   * The encoded image itself, only in the job:succeeded a socket.io client gets when its
   * handshake asked for `inlineImages` (then it needs no GET of `url`).
   */
  data: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'Expected image bytes').optional(),
});
export type ImageLink = z.infer<typeof imageLinkSchema>;

/**
 * A stored image a generation with `neighbors` mixed into its condition: the item's id and
 * its cosine similarity to the query, nearest first.
 */
export const neighborUsedSchema = z.object({ id: z.string(), score: z.number() });
export type NeighborUsed = z.infer<typeof neighborUsedSchema>;

/**
 * A generation's images (and, for a generation with `neighbors`, the stored images it mixed
 * in), or (an ingest job, POST /v1/collections/:name/items) `images: []`
 * and `ingest`: the ids stored and the items that failed.
 */
export const jobSucceededEventSchema = z
  .object({
    ...eventBase,
    images: z.array(imageLinkSchema),
    neighbors: z.array(neighborUsedSchema).optional(),
    ingest: ingestResultSchema.optional(),
    /** A video job's MP4 (its frames are `images` when the request asked for them). */
    video: videoLinkSchema.optional(),
  })
  .refine((p) => p.images.length > 0 || p.ingest !== undefined || p.video !== undefined, 'Expected images, a video or an ingest result');
export const jobFailedEventSchema = z.object({ ...eventBase, code: errorCodeSchema, message: z.string() });
export const jobCanceledEventSchema = z.object({ ...eventBase });

export const jobEventSchemas = {
  'job:queued': jobQueuedEventSchema,
  'job:started': jobStartedEventSchema,
  'job:progress': jobProgressEventSchema,
  'job:preview': jobPreviewEventSchema,
  'job:succeeded': jobSucceededEventSchema,
  'job:failed': jobFailedEventSchema,
  'job:canceled': jobCanceledEventSchema,
} as const;

export type JobEventType = keyof typeof jobEventSchemas;
export const JOB_EVENT_TYPES = Object.keys(jobEventSchemas) as JobEventType[];
export type JobEventPayloads = { [K in JobEventType]: z.infer<(typeof jobEventSchemas)[K]> };
/** One event of any type, tagged. */
export type JobEvent = { [K in JobEventType]: { type: K; payload: JobEventPayloads[K] } }[JobEventType];

export const TERMINAL_EVENT_TYPES: ReadonlySet<JobEventType> = new Set(['job:succeeded', 'job:failed', 'job:canceled']);

export function isJobEventType(value: unknown): value is JobEventType {
  return typeof value === 'string' && value in jobEventSchemas;
}

/** Validates an event on its way out (api -> client) or in (Redis -> api). */
export function parseJobEvent(type: JobEventType, payload: unknown): JobEvent {
  const schema = jobEventSchemas[type];
  return { type, payload: schema.parse(payload) } as JobEvent;
}

// ---- socket.io event maps (shared by the api, the web page and the cli) ----

/** Job events, `server:shutdown` (server-events.ts) and live sound's (live-sound.ts). */
export type ServerToClientEvents = { [K in JobEventType]: (payload: JobEventPayloads[K]) => void } & ServerEvents & LiveServerEvents;

export const subscribeRequestSchema = z.object({
  id: z.string().min(1).max(100),
  /** The job's access token; may be omitted when the connection authenticated with the owning API key. */
  token: z.string().min(1).max(200).optional(),
});
export type SubscribeRequest = z.infer<typeof subscribeRequestSchema>;

export type SubscribeAck = { ok: true } | z.infer<typeof errorBodySchema>;

export interface ClientToServerEvents extends LiveClientEvents {
  /** Join the job's room; the current state arrives first, then live events. */
  'job:subscribe': (request: SubscribeRequest, ack?: (response: SubscribeAck) => void) => void;
  'job:unsubscribe': (request: { id: string }, ack?: (response: SubscribeAck) => void) => void;
  'job:cancel': (request: SubscribeRequest, ack?: (response: SubscribeAck) => void) => void;
}

/** What a client may put in the socket.io handshake (`io(url, { auth })`). */
export const handshakeAuthSchema = z
  .object({
    /** Subscribe to this job at connection (needs `token` or the owning `apiKey`). */
    jobId: z.string().min(1).max(100).optional(),
    token: z.string().min(1).max(200).optional(),
    apiKey: z.string().min(1).max(500).optional(),
    /**
     * job:succeeded carries each image's bytes in `images[i].data` (up to
     * A2I_INLINE_IMAGE_BYTES in all per job; past that, or if the files are gone, only the links).
     */
    inlineImages: z.boolean().optional(),
  })
  .strip();
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;
