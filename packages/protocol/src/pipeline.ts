import type { GenerationJob, PipelineInput } from './generation-job.js';
import type { PackDescription } from './pack-description.js';

/**
 * The one interface the worker hosts. The real implementation (ImageBind encoders -> prior ->
 * unCLIP decoder over onnxruntime) and the test stand-in (SyntheticPipeline) both implement it.
 * Its errors follow the coded-error contract (`@a2i/protocol/errors`): `code` and `fault`
 * ('input' fails the job at once with its message; 'server' is retried, then reported with
 * a generic message). Anything without a registered code is a server fault (INTERNAL).
 */
export interface GenerationPipeline {
  describe(): PackDescription;
  embed(inputs: PipelineInput[], signal?: AbortSignal): Promise<EmbedOutput>;
  generate(job: GenerationJob, hooks: GenerationHooks): Promise<GenerationOutput>;
  /**
   * A sound read in windows (issue #19, a video that follows a recording): the sound of `input`
   * decoded once (up to `PipelineLimits.maxVideoSeconds`), cut into windows of `windowSec` every
   * `hopSec` (@a2i/pipeline soundWindows), each window embedded as one clip of the audio
   * encoder. `onWindow(done, total)` after each batch. Optional: a pipeline without it cannot
   * make videos of sounds.
   */
  embedSound?(input: PipelineInput, windows: { windowSec: number; hopSec: number }, signal?: AbortSignal, onWindow?: (done: number, total: number) => void): Promise<SoundEmbedding>;
  /** Frees sessions and threads. Optional. */
  close?(): Promise<void>;
}

export type PipelineStage = 'embed' | 'prior' | 'decode';

/** A sound's window embeddings (GenerationPipeline.embedSound), in time order. */
export interface SoundEmbedding {
  /** Length of the decoded sound. */
  durationSec: number;
  /** The middle of each window: where its embedding is placed in time. */
  centresSec: number[];
  /** One embedding per window (the encoder's postprocess applied). */
  vectors: Float32Array[];
}

export interface EmbedOutput {
  /** One vector per input, after the encoder's postprocess. */
  vectors: Float32Array[];
  /** Weighted sum of `vectors` (embedding arithmetic). */
  combined: Float32Array;
}

export interface ProgressReport {
  stage: PipelineStage;
  /** 1-based step within the stage. */
  step: number;
  steps: number;
}

export interface PreviewFrame {
  stage: 'prior' | 'decode';
  step: number;
  /** Interleaved RGB, 8 bits, row-major: [height, width, 3]. */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Which image of the batch. */
  index: number;
}

export interface GenerationHooks {
  signal: AbortSignal;
  onProgress(p: ProgressReport): void;
  onPreview(p: PreviewFrame): void;
  /**
   * Retrieval-augmented generation (a job with `neighbors`): called once, after the inputs are
   * embedded and combined and before the prior, with the query (the weighted sum at the
   * decoder's embedding norm). What it returns is mixed into the condition like more inputs
   * (each term unit-normalised, weighted, the sum rescaled to the decoder's embedding norm).
   * Absent, or an empty answer: the condition is the query.
   */
  augmentCondition?(query: Float32Array): Promise<ConditionTerm[]>;
}

/** One more term of the condition's weighted sum (GenerationHooks.augmentCondition). */
export interface ConditionTerm {
  vector: Float32Array;
  weight: number;
}

export interface GeneratedImage {
  /** Interleaved RGB, 8 bits: [height, width, 3]. */
  rgb: Uint8Array;
  width: number;
  height: number;
  seed: number;
}

export interface GenerationOutput {
  images: GeneratedImage[];
}

/** What a pipeline module exports so the worker can load it by path (`--pipeline <path>`). */
export type PipelineFactory = (options: { packDir: string; limits: PipelineLimits }) => Promise<GenerationPipeline>;

/** Server limits the pipeline enforces while decoding inputs. */
export interface PipelineLimits {
  maxAudioSeconds: number;
  maxPixels: number;
  maxUploadBytes: number;
  /** Longest sound a video follows (embedSound; A2I_VIDEO_MAX_SECONDS); absent: 300. */
  maxVideoSeconds?: number;
}
