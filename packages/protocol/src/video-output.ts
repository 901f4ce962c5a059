import { z } from 'zod';

/**
 * What a generation makes (issue #19): one or more images (the default), a video that follows
 * a recording (`video`), or a video that moves from one input to the next (`morph`).
 *
 *   { "type": "video", "fps": 8, "window": 2.0, "hop": 0.5, "smoothing": 0.5, "frames": false }
 *   { "type": "morph", "duration": 4, "fps": 8, "frames": false }
 *
 * This schema checks shape and absolute bounds; the configured limits (A2I_VIDEO_*: length,
 * frames, fps range) are checked when the request is resolved (resolve-request.ts).
 */

/**
 * The defaults, each with its reason (README "Sound to video" has the measurements):
 * - window 2 s: one ImageBind audio clip (imagebind/data.py load_and_transform_audio_data,
 *   clip_duration=2), so a window's embedding is the encoder reading exactly what it was trained on;
 * - hop 0.5 s: four embeddings per window, so a change is placed within a quarter window;
 * - fps 8: the demo world's video rate (models/recipes/world.py VIDEO_FPS) and 4 frames per hop;
 * - smoothing 0.5 s: the time constant of the zero-phase smoothing of the window embeddings
 *   (@a2i/imagebind smoothEmbeddings), chosen on the demo world (README: flicker and place
 *   accuracy against 0, 0.25, 0.5, 1 and 2 s).
 */
export const VIDEO_DEFAULTS = Object.freeze({ fps: 8, windowSec: 2, hopSec: 0.5, smoothingSec: 0.5 });

const finite = z.number().refine(Number.isFinite, 'Expected a finite number');
const positive = finite.pipe(z.number().positive());

export const imageOutputSchema = z.object({ type: z.literal('image') }).strict();

export const videoOutputSchema = z
  .object({
    type: z.literal('video'),
    /** Frames per second of the video (A2I_VIDEO_MIN_FPS..A2I_VIDEO_MAX_FPS). */
    fps: positive.optional(),
    /** Seconds of sound each embedding reads. */
    window: positive.pipe(z.number().max(10)).optional(),
    /** Seconds between window starts (at most the window). */
    hop: positive.pipe(z.number().max(10)).optional(),
    /** Time constant (s) of the smoothing of the window embeddings; 0: none. */
    smoothing: finite.pipe(z.number().min(0).max(30)).optional(),
    /** Keep every frame as an image of the job (`images`), besides the MP4. */
    frames: z.boolean().default(false),
  })
  .strict()
  .refine((o) => o.hop === undefined || o.hop <= (o.window ?? VIDEO_DEFAULTS.windowSec), { message: 'Expected hop to be at most window (windows must cover the sound)', path: ['hop'] });

export const morphOutputSchema = z
  .object({
    type: z.literal('morph'),
    /** Seconds the video takes to move from the first input to the last. */
    duration: positive,
    fps: positive.optional(),
    frames: z.boolean().default(false),
  })
  .strict();

export const outputRequestSchema = z.discriminatedUnion('type', [imageOutputSchema, videoOutputSchema, morphOutputSchema]);
export type OutputRequest = z.infer<typeof outputRequestSchema>;

/** A video output as the worker runs it: every default filled in, checked against the limits. */
export const videoJobOutputSchema = z.object({
  type: z.literal('video'),
  fps: positive,
  windowSec: positive,
  hopSec: positive,
  smoothingSec: finite.pipe(z.number().min(0)),
  frames: z.boolean(),
  /** Index (in the job's inputs) of the sound the video follows. */
  sound: z.number().int().min(0),
});
export const morphJobOutputSchema = z.object({
  type: z.literal('morph'),
  fps: positive,
  durationSec: positive,
  frames: z.boolean(),
});
export const jobOutputSchema = z.discriminatedUnion('type', [videoJobOutputSchema, morphJobOutputSchema]);
export type JobOutput = z.infer<typeof jobOutputSchema>;

/** The configured limits of video outputs (A2I_VIDEO_*). */
export interface VideoLimits {
  /** Longest recording (or morph) in seconds; A2I_VIDEO_MAX_SECONDS. */
  maxSeconds: number;
  /** Most frames of one video; A2I_VIDEO_MAX_FRAMES. */
  maxFrames: number;
  minFps: number;
  maxFps: number;
  /** Frames one part job makes (a lost worker costs at most this many); A2I_VIDEO_FRAMES_PER_PART. */
  framesPerPart: number;
}

export const DEFAULT_VIDEO_LIMITS: VideoLimits = Object.freeze({ maxSeconds: 300, maxFrames: 2400, minFps: 1, maxFps: 30, framesPerPart: 8 });

/** Frames of a video of `durationSec` at `fps` (round(duration x fps), at least 1: pipeline video/sound-timeline.ts frameTimes). */
export function videoFrameCount(durationSec: number, fps: number): number {
  return Math.max(1, Math.round(durationSec * fps));
}

/** The link to a video result (the status's and job:succeeded's `video`). */
export const videoLinkSchema = z.object({
  /** /v1/generations/:id/video */
  url: z.string(),
  format: z.literal('mp4'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  fps: z.number().positive(),
  frames: z.number().int().positive(),
  durationSec: z.number().positive(),
  bytes: z.number().int().nonnegative(),
  /** Whether the recording's sound is muxed in (a video of a sound: yes; a morph: no). */
  audio: z.boolean(),
});
export type VideoLink = z.infer<typeof videoLinkSchema>;

/**
 * The BullMQ job names of a video on the generations queue: the video's own job (plans the
 * frames, then encodes the MP4 once its parts are done: a BullMQ parent) and its parts (children).
 */
export const VIDEO_JOB_NAME = 'video';
export const VIDEO_PART_JOB_NAME = 'video-part';

export function videoUrl(id: string): string {
  return `/v1/generations/${id}/video`;
}
