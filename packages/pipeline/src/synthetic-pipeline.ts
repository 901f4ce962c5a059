import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type {
  EmbedOutput,
  GenerationHooks,
  GenerationJob,
  GenerationOutput,
  GenerationPipeline,
  PackDescription,
  PipelineInput,
  PipelineLimits,
  SoundEmbedding,
} from '@a2i/protocol';
import { decodeAudio } from '@a2i/media';
import { soundWindows, type SoundWindowOptions } from './video/sound-timeline.js';
import { MODALITIES, mulberry32 } from '@a2i/protocol';
import { CodedError } from '@a2i/protocol/errors';

/**
 * A STAND-IN for the real ImageBind + unCLIP pipeline, for tests and for running the server
 * before the models exist (`--pipeline synthetic`). It does real, deterministic work shaped
 * like the real thing: each input's bytes are hashed into a unit vector ("embedding"), the
 * weighted sum is the query, and "denoising" blends seeded noise towards a colour field
 * derived from the query, one sleep of `stepMs` per step, checking the abort signal between
 * steps and emitting previews. Same inputs + seed give the same image on any machine.
 * Inputs are sniffed like a decoder would, and refused with @a2i/media's codes.
 */
export interface SyntheticPipelineOptions {
  /** Milliseconds of simulated compute per denoising step. */
  stepMs?: number;
  dim?: number;
  imageSize?: { width: number; height: number };
  priorSteps?: number;
  limits?: Partial<PipelineLimits>;
}

/** What the synthetic pipeline refuses, with the codes the real decoders use (input faults). */
export class SyntheticInputError extends CodedError {
  override readonly name = 'SyntheticInputError';
}

const DEFAULT_LIMITS: PipelineLimits = { maxAudioSeconds: 60, maxPixels: 40_000_000, maxUploadBytes: 25 * 1024 * 1024 };

export class SyntheticPipeline implements GenerationPipeline {
  private readonly stepMs: number;
  private readonly dim: number;
  private readonly size: { width: number; height: number };
  private readonly priorSteps: number;
  private readonly limits: PipelineLimits;

  constructor(options: SyntheticPipelineOptions = {}) {
    this.stepMs = options.stepMs ?? 20;
    this.dim = options.dim ?? 128;
    this.size = options.imageSize ?? { width: 64, height: 64 };
    this.priorSteps = options.priorSteps ?? 10;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    if (!Number.isInteger(this.stepMs) || this.stepMs < 0) throw new TypeError(`Expected a non-negative integer for stepMs but received ${this.stepMs}`);
    if (!Number.isInteger(this.dim) || this.dim < 3) throw new TypeError(`Expected an integer >= 3 for dim but received ${this.dim}`);
  }

  describe(): PackDescription {
    return {
      name: 'synthetic',
      dim: this.dim,
      modalities: [...MODALITIES],
      imageSize: this.size,
      prior: { available: true, defaultSteps: this.priorSteps, defaultGuidance: 2 },
      defaults: { steps: 25, guidance: 3, noiseLevel: 0 },
      limits: { maxSteps: 200, maxImages: 8, maxNoiseLevel: 999 },
    };
  }

  async embed(inputs: PipelineInput[], signal?: AbortSignal): Promise<EmbedOutput> {
    const vectors: Float32Array[] = [];
    for (const input of inputs) {
      signal?.throwIfAborted();
      vectors.push(await this.embedOne(input));
    }
    const combined = new Float32Array(this.dim);
    inputs.forEach((input, i) => {
      const v = vectors[i]!;
      for (let d = 0; d < this.dim; d++) combined[d]! += input.weight * v[d]!;
    });
    return { vectors, combined };
  }

  async generate(job: GenerationJob, hooks: GenerationHooks): Promise<GenerationOutput> {
    const { signal } = hooks;
    const { options } = job;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < job.inputs.length; i++) {
      await this.pause(signal);
      vectors.push(await this.embedOne(job.inputs[i]!));
      hooks.onProgress({ stage: 'embed', step: i + 1, steps: job.inputs.length });
    }
    const query = new Float32Array(this.dim);
    job.inputs.forEach((input, i) => {
      for (let d = 0; d < this.dim; d++) query[d]! += input.weight * vectors[i]![d]!;
    });
    // retrieval-augmented: each extra term joins the sum like an input (its unit vector x weight)
    const extra = hooks.augmentCondition ? await hooks.augmentCondition(Float32Array.from(query)) : [];
    signal.throwIfAborted();
    for (const term of extra) {
      const length = Math.hypot(...term.vector);
      if (term.vector.length !== this.dim || !(length > 0)) {
        throw new SyntheticInputError('EMBEDDING_DIMENSION_MISMATCH', `Expected a non-zero condition term of length ${this.dim} but received length ${term.vector.length}`);
      }
      for (let d = 0; d < this.dim; d++) query[d]! += (term.weight * term.vector[d]!) / length;
    }
    if (options.usePrior) {
      for (let step = 1; step <= this.priorSteps; step++) {
        await this.pause(signal);
        hooks.onProgress({ stage: 'prior', step, steps: this.priorSteps });
      }
    }
    const { width, height } = this.size;
    const targets = Array.from({ length: options.numImages }, (_, index) => colourField(query, (options.seed + index) >>> 0, width, height));
    const noises = Array.from({ length: options.numImages }, (_, index) => seededBytes((options.seed + index) >>> 0, width * height * 3));
    for (let step = 1; step <= options.steps; step++) {
      await this.pause(signal);
      hooks.onProgress({ stage: 'decode', step, steps: options.steps });
      if (options.previewEvery > 0 && (step % options.previewEvery === 0 || step === options.steps)) {
        targets.forEach((target, index) => {
          hooks.onPreview({ stage: 'decode', step, rgb: blend(noises[index]!, target, step / options.steps), width, height, index });
        });
      }
    }
    return { images: targets.map((rgb, index) => ({ rgb, width, height, seed: (options.seed + index) >>> 0 })) };
  }

  /**
   * A sound in windows (GenerationPipeline.embedSound), standing in for the audio encoder: the
   * sound is really decoded (@a2i/media) and windowed (soundWindows), and each window's
   * "embedding" is a unit vector seeded by its loudness (RMS in steps of 0.05), so a steady
   * sound gives one direction throughout and a change of level a new one.
   */
  async embedSound(input: PipelineInput, windows: SoundWindowOptions, signal?: AbortSignal, onWindow?: (done: number, total: number) => void): Promise<SoundEmbedding> {
    if (input.modality !== 'audio') throw new SyntheticInputError('UNSUPPORTED_MODALITY', `Expected an audio input to read in windows but received ${input.modality}`);
    const bytes = await this.readInput(input);
    const pcm = await decodeAudio(bytes, { limits: { maxBytes: this.limits.maxUploadBytes, maxDurationSec: this.limits.maxVideoSeconds ?? 300 }, ...(signal ? { signal } : {}) });
    const cut = soundWindows(pcm.durationSec, windows);
    const vectors = cut.map((window) => {
      signal?.throwIfAborted();
      const samples = pcm.channels[0]!.subarray(Math.round(window.startSec * pcm.sampleRate), Math.round(window.endSec * pcm.sampleRate));
      let sum = 0;
      for (const x of samples) sum += x * x;
      const level = Math.round(Math.sqrt(sum / Math.max(1, samples.length)) * 20);
      return unitVector(createHash('sha256').update(`level ${level}`).digest().readUInt32LE(0), this.dim);
    });
    onWindow?.(vectors.length, vectors.length);
    return { durationSec: pcm.durationSec, centresSec: cut.map((window) => window.centreSec), vectors };
  }

  private async pause(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await new Promise<void>((resolve) => setTimeout(resolve, this.stepMs));
    signal.throwIfAborted();
  }

  private async embedOne(input: PipelineInput): Promise<Float32Array> {
    if (input.modality === 'embedding') {
      if (input.vector?.length !== this.dim) {
        throw new SyntheticInputError('EMBEDDING_DIMENSION_MISMATCH', `Expected a vector of length ${this.dim} but received ${input.vector?.length ?? 'none'}`);
      }
      return Float32Array.from(input.vector);
    }
    const content = input.modality === 'text' ? Buffer.from(input.text ?? '', 'utf8') : await this.readInput(input);
    const digest = createHash('sha256').update(input.modality).update(content).digest();
    return unitVector(digest.readUInt32LE(0), this.dim);
  }

  /** Reads an uploaded file and refuses what a decoder would refuse (see packages/media). */
  private async readInput(input: PipelineInput): Promise<Buffer> {
    if (input.file === undefined) throw new SyntheticInputError('MEDIA_EMPTY', `Expected a file for the ${input.modality} input but received none`);
    const bytes = await readFile(input.file);
    if (bytes.length === 0) throw new SyntheticInputError('MEDIA_EMPTY', `The ${input.modality} file is empty`);
    if (bytes.length > this.limits.maxUploadBytes) {
      throw new SyntheticInputError('MEDIA_TOO_LARGE', `Expected at most ${this.limits.maxUploadBytes} bytes but received ${bytes.length}`);
    }
    const kind = sniff(bytes);
    const accepted: Record<string, string[]> = {
      audio: ['audio', 'video'],
      video: ['video'],
      image: ['image'],
      depth: ['image', 'npy'],
      thermal: ['image', 'npy'],
      imu: ['npy', 'text'],
    };
    if (!accepted[input.modality]?.includes(kind)) {
      throw new SyntheticInputError('MEDIA_UNSUPPORTED_FORMAT', `Expected ${input.modality} content but the file looks like ${kind}`);
    }
    if (kind === 'image') {
      const meta = await sharp(bytes).metadata().catch(() => {
        throw new SyntheticInputError('IMAGE_INVALID', 'The image could not be read');
      });
      const pixels = (meta.width ?? 0) * (meta.height ?? 0);
      if (pixels > this.limits.maxPixels) {
        throw new SyntheticInputError('IMAGE_TOO_LARGE', `Expected at most ${this.limits.maxPixels} pixels but received ${meta.width}x${meta.height}`);
      }
    }
    return bytes;
  }
}

/** Magic numbers of the containers the real decoders read (enough to stand in for them). */
function sniff(bytes: Buffer): 'audio' | 'video' | 'image' | 'npy' | 'text' | 'unknown' {
  const ascii = (start: number, end: number) => bytes.subarray(start, end).toString('latin1');
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'audio';
  if (ascii(0, 4) === 'fLaC' || ascii(0, 4) === 'OggS' || ascii(0, 3) === 'ID3') return 'audio';
  if (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0) return 'audio';
  if (ascii(4, 8) === 'ftyp' || (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3)) return 'video';
  if (ascii(1, 4) === 'PNG' || (bytes[0] === 0xff && bytes[1] === 0xd8) || (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP')) return 'image';
  if (ascii(0, 3) === 'GIF' || ascii(0, 2) === 'II' || ascii(0, 2) === 'MM') return 'image';
  if (ascii(1, 6) === 'NUMPY') return 'npy';
  if (/^[\x09\x0a\x0d\x20-\x7e]*$/.test(ascii(0, Math.min(bytes.length, 512)))) return 'text';
  return 'unknown';
}

function unitVector(seed: number, dim: number): Float32Array {
  const random = mulberry32(seed);
  const v = new Float32Array(dim);
  let norm = 0;
  for (let d = 0; d < dim; d++) {
    v[d] = random() * 2 - 1;
    norm += v[d]! * v[d]!;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let d = 0; d < dim; d++) v[d]! *= scale;
  return v;
}

function seededBytes(seed: number, length: number): Uint8Array {
  const random = mulberry32(seed ^ 0x9e3779b9);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A smooth RGB field: two colours from the query (dims 0-2 and 3-5) in a gradient, plus seeded texture. rgb: [h, w, 3] */
function colourField(query: Float32Array, seed: number, width: number, height: number): Uint8Array {
  const channel = (d: number) => Math.round(255 / (1 + Math.exp(-4 * (query[d % query.length] ?? 0))));
  const from = [channel(0), channel(1), channel(2)];
  const to = [channel(3), channel(4), channel(5)];
  const texture = seededBytes(seed, width * height);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / Math.max(1, width + height - 2);
      const grain = (texture[y * width + x]! - 128) / 16;
      for (let c = 0; c < 3; c++) {
        out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(from[c]! * (1 - t) + to[c]! * t + grain)));
      }
    }
  }
  return out;
}

function blend(noise: Uint8Array, target: Uint8Array, t: number): Uint8Array {
  const out = new Uint8Array(target.length);
  for (let i = 0; i < target.length; i++) out[i] = Math.round(noise[i]! * (1 - t) + target[i]! * t);
  return out;
}
