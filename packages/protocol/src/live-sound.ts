import { z } from 'zod';
import { errorBodySchema } from './error-codes.js';
import { generationOptionsSchema, pipelineInputSchema } from './generation-job.js';

/**
 * Live sound (issue #19, part 2): a client streams a microphone (or a playing file) over
 * socket.io in small chunks of 16-bit PCM; the api keeps the last window of each stream and,
 * whenever the stream has no picture in the making, has a worker paint the newest window, so
 * the picture follows what the microphone hears. Older windows are dropped, never queued.
 *
 *   client -> api   live:start { sampleRate, inputs?, soundWeight?, steps?, seed?, guidance?, prompt? }
 *                     ack { ok: true, streamId, limits } | { error }
 *                   live:chunk { streamId, pcm }            (mono Int16 little-endian bytes)
 *                   live:stop { streamId }                  ack { ok: true } | { error }
 *   api -> client   live:image { streamId, seq, image, mime, width, height, chunkAt, latencyMs, windowSec }
 *                   live:ended { streamId, reason, code?, message?, stats }
 */

/** The window a live picture is made from: one ImageBind audio clip (imagebind/data.py clip_duration=2). */
export const LIVE_WINDOW_SEC = 2;

const finite = z.number().refine(Number.isFinite, 'Expected a finite number');

/** What a stream is made of besides its sound: text or ready vectors (no files over the socket). */
const liveInputSchema = z
  .object({
    modality: z.enum(['text', 'embedding']),
    weight: finite.default(1),
    text: z.string().min(1).max(1000).optional(),
    vector: z.array(finite).min(1).optional(),
  })
  .strict()
  .refine((input) => (input.modality === 'text' ? input.text !== undefined && input.vector === undefined : input.vector !== undefined && input.text === undefined), {
    message: 'Expected text for a text input and vector for an embedding input',
  });

export const liveStartSchema = z
  .object({
    /** Samples per second of the PCM the chunks carry (the page sends 16 kHz). */
    sampleRate: z.number().int().min(8000).max(48_000),
    inputs: z.array(liveInputSchema).max(4).default([]),
    /** The sound's weight among the inputs. */
    soundWeight: finite.default(1),
    /** Decoder steps of each picture; the server's A2I_LIVE_STEPS when absent (few: a picture must come fast). */
    steps: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    guidance: finite.pipe(z.number().min(0).max(100)).optional(),
    prompt: z.string().max(2000).optional(),
  })
  .strict();
export type LiveStart = z.infer<typeof liveStartSchema>;
export type LiveStartInput = z.input<typeof liveStartSchema>;

export const liveChunkSchema = z.object({
  streamId: z.string().min(1).max(64),
  pcm: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'Expected PCM bytes (Int16 little-endian)'),
});
export type LiveChunk = z.infer<typeof liveChunkSchema>;

export const liveStopSchema = z.object({ streamId: z.string().min(1).max(64) });

/** The limits a stream is held to (the live:start acknowledgement says them). */
export const liveLimitsSchema = z.object({
  chunkBytes: z.number().int().positive(),
  chunksPerSecond: z.number().int().positive(),
  idleSeconds: z.number().int().positive(),
  streamsPerClient: z.number().int().positive(),
  windowSec: z.number().positive(),
});
export type LiveLimits = z.infer<typeof liveLimitsSchema>;

/** The acknowledgement of live:start: the stream's id, its limits, and the steps and seed its pictures use. */
export const liveStartAnswerSchema = z.object({ ok: z.literal(true), streamId: z.string(), limits: liveLimitsSchema, steps: z.number().int().positive(), seed: z.number().int().nonnegative() });
export type LiveStartAck = z.infer<typeof liveStartAnswerSchema> | z.infer<typeof errorBodySchema>;
export type LiveStopAck = { ok: true } | z.infer<typeof errorBodySchema>;

/** How a stream went: chunks taken, chunks refused (over the rate), pictures made, windows never painted (a newer one came first). */
export const liveStatsSchema = z.object({
  chunks: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  pictures: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
});
export type LiveStats = z.infer<typeof liveStatsSchema>;

export const liveImageEventSchema = z.object({
  streamId: z.string(),
  /** 1, 2, ...: the stream's pictures in order. */
  seq: z.number().int().positive(),
  image: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'Expected image bytes'),
  mime: z.literal('image/webp'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** When the newest chunk of the painted window arrived at the api (ms since the epoch). */
  chunkAt: z.number().int().nonnegative(),
  /** From that arrival to this event (the api's clock). */
  latencyMs: z.number().nonnegative(),
  /** Seconds of sound the picture was made from. */
  windowSec: z.number().positive(),
});
export type LiveImageEvent = z.infer<typeof liveImageEventSchema>;

export const liveEndedEventSchema = z.object({
  streamId: z.string(),
  /** stopped: live:stop; idle: no chunk for A2I_LIVE_IDLE_SECONDS; disconnected; refused: a chunk broke a rule (code); failed: a picture failed (code). */
  reason: z.enum(['stopped', 'idle', 'disconnected', 'refused', 'failed']),
  code: z.string().optional(),
  message: z.string().optional(),
  stats: liveStatsSchema,
});
export type LiveEndedEvent = z.infer<typeof liveEndedEventSchema>;

export interface LiveServerEvents {
  'live:image': (event: LiveImageEvent) => void;
  'live:ended': (event: LiveEndedEvent) => void;
}

export interface LiveClientEvents {
  'live:start': (request: LiveStartInput, ack?: (response: LiveStartAck) => void) => void;
  'live:chunk': (chunk: LiveChunk) => void;
  'live:stop': (request: { streamId: string }, ack?: (response: LiveStopAck) => void) => void;
}

/** The BullMQ job name of a live picture on the generations queue (apps/worker live-processor.ts). */
export const LIVE_JOB_NAME = 'live';

/** One live picture as the worker makes it: the window as 16-bit PCM (base64) and what goes with it. */
export const liveJobSchema = z.object({
  streamId: z.string().min(1),
  sampleRate: z.number().int().positive(),
  /** Mono Int16 little-endian samples, base64. */
  pcm: z.string().min(1),
  soundWeight: finite,
  inputs: z.array(pipelineInputSchema),
  options: generationOptionsSchema,
});
export type LiveJob = z.infer<typeof liveJobSchema>;

/** A live picture (BullMQ return value): a WebP, base64. */
export const liveResultSchema = z.object({ image: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() });
export type LiveResult = z.infer<typeof liveResultSchema>;
