import { ERROR_CODES } from './error-codes.js';
import type { GenerationJob, PipelineInput } from './generation-job.js';
import type { GenerationRequest, InputSpec } from './generation-request.js';
import type { PackDescription } from './pack-description.js';
import type { EchoedInput, InspectedUpload, RequestEcho } from './request-echo.js';
import { RequestError } from './errors.js';
import { DEFAULT_VIDEO_LIMITS, VIDEO_DEFAULTS, videoFrameCount, type JobOutput, type VideoLimits } from './video-output.js';

/** Server-wide limits (configuration); the effective limit is the smaller of these and the pack's. */
export interface RequestLimits {
  maxSteps: number;
  maxImages: number;
  maxInputs: number;
  maxTextChars: number;
  /** Largest `neighbors.k` (A2I_NEIGHBORS_MAX_K); 16 when absent. */
  maxNeighbors?: number;
  /** Video outputs (A2I_VIDEO_*); DEFAULT_VIDEO_LIMITS when absent. */
  video?: VideoLimits;
}

/** The largest `neighbors.k` when the limits name none. */
export const DEFAULT_MAX_NEIGHBORS = 16;

/**
 * The stored items an api looked up for a request's `item` inputs, by input index: the unit
 * vector in the pack's space and the item's own modality.
 */
export type StoredItemVectors = ReadonlyMap<number, { vector: readonly number[]; modality: string }>;

export interface UploadedFiles {
  /** Multipart part name -> absolute path of the received file (the api's local copy). */
  readonly byPart: ReadonlyMap<string, string>;
  readonly uploadDir?: string;
}

const NO_FILES: UploadedFiles = { byPart: new Map() };

function limitExceeded(name: string, limit: number, value: number): RequestError {
  return new RequestError(ERROR_CODES.LIMIT_EXCEEDED, `Expected ${name} of at most ${limit} but received ${value}`);
}

/**
 * Checks inputs against the pack (modalities, dimension) and the limits, and binds file
 * references to uploaded paths. Every uploaded part must be used by some input. An `item`
 * input becomes an `embedding` input with the stored vector `items` holds for it (looked up
 * by the api, which reads collections); without one it is refused.
 */
export function resolveInputs(
  inputs: InputSpec[],
  pack: PackDescription,
  limits: RequestLimits,
  files: UploadedFiles = NO_FILES,
  items: StoredItemVectors = new Map(),
): PipelineInput[] {
  if (inputs.length > limits.maxInputs) throw limitExceeded('inputs', limits.maxInputs, inputs.length);
  const used = new Set<string>();
  const resolved = inputs.map((input, i): PipelineInput => {
    if (input.modality === 'item') {
      const stored = items.get(i);
      if (stored === undefined) {
        throw new RequestError(ERROR_CODES.UNSUPPORTED_MODALITY, `Expected a modality other than item for inputs.${i}.modality: stored items are not read for this request`);
      }
      if (stored.vector.length !== pack.dim) {
        throw new RequestError(
          ERROR_CODES.EMBEDDING_DIMENSION_MISMATCH,
          `Expected an item of length ${pack.dim} for inputs.${i} but item ${JSON.stringify(input.id)} of ${input.collection} has length ${stored.vector.length}`,
        );
      }
      return { modality: 'embedding', weight: input.weight, vector: [...stored.vector], item: { collection: input.collection!, id: input.id!, modality: stored.modality } };
    }
    if (!pack.modalities.includes(input.modality)) {
      throw new RequestError(
        ERROR_CODES.UNSUPPORTED_MODALITY,
        `Expected one of ${pack.modalities.join(', ')} for inputs.${i}.modality but received ${input.modality} (not in pack ${pack.name})`,
      );
    }
    if (input.vector !== undefined && input.vector.length !== pack.dim) {
      throw new RequestError(
        ERROR_CODES.EMBEDDING_DIMENSION_MISMATCH,
        `Expected a vector of length ${pack.dim} for inputs.${i}.vector but received length ${input.vector.length}`,
      );
    }
    if (input.text !== undefined && input.text.length > limits.maxTextChars) {
      throw limitExceeded(`inputs.${i}.text length`, limits.maxTextChars, input.text.length);
    }
    const out: PipelineInput = { modality: input.modality, weight: input.weight };
    if (input.text !== undefined) out.text = input.text;
    if (input.vector !== undefined) out.vector = input.vector;
    if (input.file !== undefined) {
      const path = files.byPart.get(input.file);
      if (path === undefined) {
        throw new RequestError(ERROR_CODES.MISSING_FILE, `Expected a file part named "${input.file}" for inputs.${i}.file but received none`);
      }
      used.add(input.file);
      out.file = path;
    }
    return out;
  });
  for (const part of files.byPart.keys()) {
    if (!used.has(part)) {
      throw new RequestError(ERROR_CODES.UNEXPECTED_FILE, `Expected every file part to be named by an input but "${part}" is not`);
    }
  }
  return resolved;
}

export interface ResolveContext {
  id: string;
  createdAt: number;
  files?: UploadedFiles;
  /** The vectors of the request's `item` inputs (resolveInputs). */
  items?: StoredItemVectors;
  /** Whose collection `neighbors` searches: the requester's owner (null: shared collections). */
  collectionOwner?: string | null;
  /** Seed used when the request names none (the api draws it, so the status can report it). */
  randomSeed: () => number;
}

/** A validated request + the pack's defaults and limits -> the job the worker runs. */
export function resolveGenerationRequest(
  request: GenerationRequest,
  pack: PackDescription,
  limits: RequestLimits,
  ctx: ResolveContext,
): GenerationJob {
  const inputs = resolveInputs(request.inputs, pack, limits, ctx.files, ctx.items);
  const maxSteps = Math.min(pack.limits.maxSteps, limits.maxSteps);
  const maxImages = Math.min(pack.limits.maxImages, limits.maxImages);
  const steps = request.steps ?? Math.min(pack.defaults.steps, maxSteps);
  if (steps > maxSteps) throw limitExceeded('steps', maxSteps, steps);
  const numImages = request.numImages ?? 1;
  if (numImages > maxImages) throw limitExceeded('numImages', maxImages, numImages);
  const noiseLevel = request.noiseLevel ?? pack.defaults.noiseLevel;
  if (noiseLevel > pack.limits.maxNoiseLevel) throw limitExceeded('noiseLevel', pack.limits.maxNoiseLevel, noiseLevel);
  if (request.prior === 'on' && !pack.prior.available) {
    throw new RequestError(ERROR_CODES.PRIOR_UNAVAILABLE, `Expected prior "off" or "auto" because pack ${pack.name} has no prior, but received "on"`);
  }
  const job: GenerationJob = {
    id: ctx.id,
    createdAt: ctx.createdAt,
    inputs,
    options: {
      prompt: request.prompt ?? '',
      seed: request.seed ?? ctx.randomSeed(),
      steps,
      guidance: request.guidance ?? pack.defaults.guidance,
      // a stored item counts as the modality it was made from (an audio item runs the prior like audio)
      usePrior: priorApplies(request.prior, inputs.map((input) => ({ weight: input.weight, modality: input.item?.modality ?? input.modality })), pack.prior.available ? { defaultFor: pack.prior.defaultFor } : null),
      noiseLevel,
      numImages,
      format: request.format,
      previewEvery: request.previewEvery,
      priority: request.priority,
    },
  };
  if (request.scheduler !== undefined) job.options.scheduler = request.scheduler;
  if (request.neighbors !== undefined) {
    const { collection, k, weight, filter } = request.neighbors;
    const maxK = limits.maxNeighbors ?? DEFAULT_MAX_NEIGHBORS;
    if (k > maxK) throw new RequestError(ERROR_CODES.INVALID_K, `Expected an integer in 1..${maxK} for neighbors.k but received ${k}`);
    job.neighbors = { collection, owner: ctx.collectionOwner ?? null, k, weight, ...(filter !== undefined ? { filter } : {}) };
  }
  if (ctx.files?.uploadDir !== undefined) job.uploadDir = ctx.files.uploadDir;
  const output = resolveOutput(request, pack, limits.video ?? DEFAULT_VIDEO_LIMITS);
  if (output !== null) job.output = output;
  return job;
}

// ---------------------------------------------------------------- video outputs (video-output.ts)

/**
 * A request's `output` with its defaults, checked against the pack and the limits; null for
 * images. A video follows exactly one audio input (VIDEO_NEEDS_AUDIO); a morph moves between
 * at least two inputs that count (MORPH_NEEDS_INPUTS). The workers must be able to write MP4
 * (PackDescription.outputs, MEDIA_NEEDS_FFMPEG). A video is one video: no numImages > 1 and no
 * neighbors. How long a video's sound is, only its file says: checkVideoLength, once it is known.
 */
export function resolveOutput(request: GenerationRequest, pack: PackDescription, limits: VideoLimits): JobOutput | null {
  const output = request.output;
  if (output === undefined || output.type === 'image') return null;
  if (!(pack.outputs ?? []).includes('video')) {
    throw new RequestError(ERROR_CODES.MEDIA_NEEDS_FFMPEG, `Expected workers that can write MP4 for output "${output.type}" but the workers serving pack ${pack.name} have no ffmpeg (operators: install ffmpeg, or set FFMPEG_PATH and FFPROBE_PATH)`);
  }
  if ((request.numImages ?? 1) !== 1) throw new RequestError(ERROR_CODES.INVALID_REQUEST, `Expected numImages 1 (or none) with output "${output.type}" but received ${request.numImages}`);
  if (request.neighbors !== undefined) throw new RequestError(ERROR_CODES.INVALID_REQUEST, `Expected no neighbors with output "${output.type}"`);
  const fps = output.fps ?? VIDEO_DEFAULTS.fps;
  if (fps < limits.minFps || fps > limits.maxFps) throw outOfRange('output.fps', `${limits.minFps}..${limits.maxFps}`, fps);
  if (output.type === 'morph') {
    const counted = request.inputs.filter((input) => input.weight !== 0).length;
    if (counted < 2) throw new RequestError(ERROR_CODES.MORPH_NEEDS_INPUTS, `Expected at least 2 inputs with a non-zero weight to move between for output "morph" but received ${counted}`);
    if (output.duration > limits.maxSeconds) throw limitExceeded('output.duration (seconds)', limits.maxSeconds, output.duration);
    const frames = videoFrameCount(output.duration, fps);
    if (frames > limits.maxFrames) throw limitExceeded('frames (output.duration x output.fps)', limits.maxFrames, frames);
    return { type: 'morph', fps, durationSec: output.duration, frames: output.frames };
  }
  const sounds = request.inputs.flatMap((input, i) => (input.modality === 'audio' ? [i] : []));
  if (sounds.length !== 1) {
    throw new RequestError(ERROR_CODES.VIDEO_NEEDS_AUDIO, `Expected exactly one audio input (a sound, or a video file's soundtrack) for the video to follow but received ${sounds.length}`);
  }
  const windowSec = output.window ?? VIDEO_DEFAULTS.windowSec;
  const hopSec = output.hop ?? Math.min(VIDEO_DEFAULTS.hopSec, windowSec);
  return { type: 'video', fps, windowSec, hopSec, smoothingSec: output.smoothing ?? VIDEO_DEFAULTS.smoothingSec, frames: output.frames, sound: sounds[0]! };
}

/**
 * Refuses a video whose sound is too long or would have too many frames (LIMIT_EXCEEDED, and
 * AUDIO_TOO_LONG past A2I_VIDEO_MAX_SECONDS as the decoders say it). The api calls it with the
 * length the file's header states, the worker with the decoded length.
 */
export function checkVideoLength(durationSec: number, output: JobOutput, limits: VideoLimits): number {
  if (durationSec > limits.maxSeconds + 1e-6) {
    throw new RequestError(ERROR_CODES.AUDIO_TOO_LONG, `The sound is ${durationSec.toFixed(2)} s long, over the video limit of ${limits.maxSeconds} s`);
  }
  const frames = videoFrameCount(durationSec, output.fps);
  if (frames > limits.maxFrames) throw limitExceeded('frames (sound length x output.fps)', limits.maxFrames, frames);
  return frames;
}

function outOfRange(name: string, range: string, value: number): RequestError {
  return new RequestError(ERROR_CODES.LIMIT_EXCEEDED, `Expected ${name} in ${range} but received ${value}`);
}

// ---------------------------------------------------------------- whether the prior runs

export type PriorRequest = 'on' | 'off' | 'auto';

/**
 * Whether the prior runs for a request (models/README.md, `prior.defaultFor`): "on" and "off"
 * say so; "auto" runs it when every input that counts (non-zero weight) is of a modality in
 * `defaultFor`, the query modalities whose embeddings the pack's decoder reads better through
 * the prior (e.g. text and audio, not images, whose embeddings are the decoder's own space).
 * Without a prior it never runs. "image" and the encoder key "vision" name the same modality.
 */
export function priorApplies(mode: PriorRequest, inputs: readonly { modality: PipelineInput['modality'] | string; weight: number }[], prior: { defaultFor?: readonly string[] | undefined } | null): boolean {
  if (!prior || mode === 'off') return false;
  if (mode === 'on') return true;
  // a pack that names no defaultFor runs its prior for every query
  if (!prior.defaultFor) return true;
  const defaultFor = prior.defaultFor;
  const counted = inputs.filter((input) => input.weight !== 0);
  const names = (modality: string) => (modality === 'image' ? ['image', 'vision'] : [modality]);
  return counted.length > 0 && counted.every((input) => names(input.modality).some((name) => defaultFor.includes(name)));
}

// ---------------------------------------------------------------- the echo of a resolved request (the status's `request`)

/**
 * The echo of a request as resolved into `job`: `request.inputs[i]` and `job.inputs[i]` are
 * the same input (resolveInputs keeps the order); `uploads` holds the inspection of input i's file.
 */
export function requestEchoOf(request: GenerationRequest, job: GenerationJob, packName: string, scheduler: string | undefined, uploads: ReadonlyMap<number, InspectedUpload>): RequestEcho {
  const inputs = request.inputs.map((input, i): EchoedInput => {
    const echoed: EchoedInput = { modality: input.modality, weight: job.inputs[i]?.weight ?? input.weight };
    if (input.text !== undefined) echoed.text = input.text;
    if (input.vector !== undefined) echoed.dim = input.vector.length;
    if (input.collection !== undefined) echoed.collection = input.collection;
    if (input.id !== undefined) echoed.id = input.id;
    if (input.file !== undefined) {
      const seen = uploads.get(i);
      echoed.file = { part: input.file, bytes: seen?.bytes ?? 0, format: seen?.format ?? 'unknown' };
    }
    return echoed;
  });
  const { options } = job;
  const echo: RequestEcho = {
    pack: packName,
    inputs,
    prompt: options.prompt,
    seed: options.seed,
    steps: options.steps,
    guidance: options.guidance,
    scheduler: options.scheduler ?? scheduler ?? null,
    prior: options.usePrior ? 'on' : 'off',
    noiseLevel: options.noiseLevel,
    numImages: options.numImages,
    format: options.format,
    priority: options.priority,
  };
  if (job.neighbors) {
    const { collection, k, weight, filter } = job.neighbors;
    echo.neighbors = { collection, k, weight, ...(filter !== undefined ? { filter } : {}) };
  }
  if (job.output) echo.output = job.output;
  return echo;
}

/** One input in a line of text: `text "a dog" x1`, `audio sound (wav, 17640 B) x0.5`, `item photos/42 x1`, `embedding (128-d) x1`. */
function inputSummary(input: EchoedInput): string {
  const what =
    input.text !== undefined
      ? `text ${JSON.stringify(input.text)}`
      : input.file !== undefined
        ? `${input.modality} ${input.file.part} (${input.file.format}, ${input.file.bytes} B)`
        : input.collection !== undefined
          ? `item ${input.collection}/${input.id ?? ''}`
          : `${input.modality} (${input.dim ?? '?'}-d)`;
  return `${what} x${input.weight}`;
}

/** An A1111 infotext value: quoted (JSON) when it would break the `key: value, ...` line. */
function infotextValue(value: string): string {
  return /[,:"\n]/.test(value) ? JSON.stringify(value) : value;
}

/**
 * The text of a PNG's `parameters` chunk, in the layout of AUTOMATIC1111's stable-diffusion-webui
 * "infotext" (modules/infotext_utils.py), which image viewers and model sites read: the prompt
 * (the inputs when there is none), then one `Key: value, ...` line. `image`: this image's own
 * seed (seed + index) and size.
 */
export function infotextOf(echo: RequestEcho, image: { seed: number; width: number; height: number }): string {
  const inputs = echo.inputs.map(inputSummary).join(' + ');
  const fields: Array<[string, string | number]> = [
    ['Steps', echo.steps],
    ['Sampler', echo.scheduler ?? 'default'],
    ['CFG scale', echo.guidance],
    ['Seed', image.seed],
    ['Size', `${image.width}x${image.height}`],
    ['Model', echo.pack],
    ['Noise level', echo.noiseLevel],
    ['Prior', echo.prior],
    ['Inputs', inputs],
  ];
  if (echo.neighbors) fields.push(['Neighbors', `${echo.neighbors.collection} k${echo.neighbors.k} x${echo.neighbors.weight}`]);
  const line = fields.map(([key, value]) => `${key}: ${typeof value === 'number' ? value : infotextValue(value)}`).join(', ');
  return `${echo.prompt !== '' ? echo.prompt : inputs}\n${line}`;
}

/**
 * The text chunks a PNG result carries: `parameters` (infotextOf) and `a2i`, the echo as JSON
 * with this image's seed, escaped to ASCII so that it fits a Latin-1 tEXt chunk.
 */
export function pngTextOf(echo: RequestEcho, image: { seed: number; width: number; height: number }): Array<{ keyword: string; text: string }> {
  const json = JSON.stringify({ ...echo, seed: image.seed }).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [
    { keyword: 'parameters', text: infotextOf(echo, image) },
    { keyword: 'a2i', text: json },
  ];
}
