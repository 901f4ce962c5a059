import { isGuided } from '@a2i/protocol';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { NoiseAugmentation } from '../noise-augmentation.js';
import type { SchedulerOptions } from '../schedulers/create-scheduler.js';
import type { SchedulerName } from '../schedulers/scheduler.js';
import { NOISE_DOMAINS, seededNormalRows } from '../seeded-noise.js';
import { UnclipError, unclipGuards } from '../unclip-error.js';
import { denoise, seededSchedule, stackUncondCond, type StepProgress } from './denoise-loop.js';
import { LatentPreview } from './latent-preview.js';
import { expectName, expectShape, rescaleRows, type DecoderManifest } from './manifest-sections.js';
import { checkSessionNames, denoiserCall, floatTensor, timestepType, type TimestepType } from './onnx-io.js';
import { batchSize, checkCommonOptions, requireSeeds } from './sampling-options.js';
import { decodeLatents, prepareVae, type RgbImage, type VaeModel } from './vae-decode.js';
import { SharedDenoiser } from './shared-batch.js';
import type { SharedCallPolicy } from './call-selection.js';

const { invalid, expectIntegerInRange } = unclipGuards;

export interface DecoderPreview {
  step: number;
  steps: number;
  /** One small RGB image per batch row, latent-sized (h x w). */
  images: RgbImage[];
}

/**
 * A decoder with its manifest section resolved and its sessions checked against it, once
 * (prepareDecoder, when a worker opens its pack): sampling then reads typed fields and never
 * re-checks the raw manifest on a request.
 */
export interface DecoderModel {
  readonly manifest: DecoderManifest;
  readonly unet: InferenceSession;
  /** null: sampling returns latents only. */
  readonly vae: VaeModel | null;
  /** [C, h, w] */
  readonly latentShape: readonly [number, number, number];
  readonly latentSize: number;
  readonly inputs: { sample: string; timestep: string; classLabels: string; hiddenStates: string | null };
  readonly output: string;
  readonly timestepType: TimestepType;
  readonly augmentation: NoiseAugmentation;
  /** [tokens, width] of the prompt's hidden states, when the UNet takes them. */
  readonly promptShape: readonly [number, number] | null;
  /** The latent-to-RGB preview projection, when the manifest has one. */
  readonly preview: LatentPreview | null;
  /** Continuous batching (shared-batch.ts): one UNet call per step for every job at this stage; null: each job its own calls. */
  readonly sharedUnet: SharedDenoiser | null;
}

/**
 * How a decoder is prepared: `shareAcrossJobs` makes its UNet and VAE calls shared by the jobs
 * that run at once; `unetCallPolicy` says how a shared UNet call is filled (every seat unless set).
 */
export interface PrepareOptions {
  shareAcrossJobs?: boolean;
  unetCallPolicy?: SharedCallPolicy | undefined;
}

/** Resolves `decoder` of a pack manifest and checks the sessions' names and timestep type. */
export function prepareDecoder(unet: InferenceSession, vae: InferenceSession | null, manifest: DecoderManifest, options: PrepareOptions = {}): DecoderModel {
  const latentShape = expectShape(manifest.latentShape, 3, 'decoder.latentShape') as [number, number, number];
  expectShape(manifest.imageSize, 2, 'decoder.imageSize');
  const names = manifest.unet.inputs;
  const inputs = {
    sample: expectName(names.sample, 'decoder.unet.inputs.sample'),
    timestep: expectName(names.timestep, 'decoder.unet.inputs.timestep'),
    classLabels: expectName(names.classLabels, 'decoder.unet.inputs.classLabels'),
    hiddenStates: manifest.promptConditioning ? expectName(names.encoderHiddenStates, 'decoder.unet.inputs.encoderHiddenStates') : null,
  };
  const output = expectName(manifest.unet.output, 'decoder.unet.output');
  checkSessionNames(unet, [inputs.sample, inputs.timestep, inputs.classLabels, ...(inputs.hiddenStates ? [inputs.hiddenStates] : [])], output, 'UNet');
  const promptShape = manifest.promptConditioning
    ? (expectShape(manifest.promptConditioning.shape, 2, 'decoder.promptConditioning.shape') as [number, number])
    : null;
  const signature = { inputs, output, timestepType: timestepType(unet, inputs.timestep, 'UNet') };
  return {
    manifest,
    unet,
    vae: vae ? prepareVae(vae, manifest, options) : null,
    latentShape,
    latentSize: latentShape[0] * latentShape[1] * latentShape[2],
    ...signature,
    augmentation: new NoiseAugmentation(manifest.noiseAugmentation),
    promptShape,
    preview: manifest.preview ? new LatentPreview(latentShape, manifest.preview.latentToRgb, manifest.preview.bias) : null,
    sharedUnet: options.shareAcrossJobs ? new SharedDenoiser(unet, signature, latentShape, 'UNet', options.unetCallPolicy) : null,
  };
}

/** The sessions and manifest section, prepared once (`decoder`) or as they are (checked on this call). */
export type DecoderSource =
  | { decoder: DecoderModel }
  | { unet: InferenceSession; /** Absent or null: return the latents only. */ vae?: InferenceSession | null; manifestDecoder: DecoderManifest };

export type SampleDecoderOptions = DecoderSource & {
  /** Image embeddings [B, D], or [1, D] for the same embedding in every image. */
  imageEmbeddings: Float32Array;
  /**
   * Token hidden states of the prompt and of the unconditional prompt, each [77, W] (same
   * for every image) or [B, 77, W]. Required when the manifest has promptConditioning.
   */
  promptHiddenStates?: { conditional: Float32Array; unconditional: Float32Array };
  /** Stable unCLIP noise level in [0, noiseAugmentation.numTrainTimesteps). */
  noiseLevel: number;
  /** One seed per image: image i's noise comes from seeds[i] only. */
  seeds?: readonly number[];
  /** Standard-normal initial latents [B, C, h, w] (instead of seeds' lane 0). */
  initialNoise?: Float32Array;
  /** Standard-normal noise for the image embeddings [B, D] (instead of the seeds'). */
  augmentationNoise?: Float32Array;
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerName;
  schedulerOptions?: SchedulerOptions;
  signal?: AbortSignal;
  onProgress?: (progress: StepProgress) => void;
  /** Preview every N steps (0 or absent: never). */
  previewEvery?: number;
  onPreview?: (preview: DecoderPreview) => void;
};

export interface SampleDecoderResult {
  /** RGB bytes [H, W, 3] per image; null without a VAE session. */
  images: RgbImage[] | null;
  /** Final latents [B, C, h, w] (unet space, before / scalingFactor). */
  latents: Float32Array;
  timesteps: readonly number[];
}

/**
 * Stable unCLIP's decoder loop (diffusers StableUnCLIPImg2ImgPipeline.__call__ given image
 * embeddings): class_labels from the noised embedding, CFG with zero class labels and the
 * unconditional prompt's hidden states in one UNet call per step, VAE decode at the end.
 */
export async function sampleDecoder(options: SampleDecoderOptions): Promise<SampleDecoderResult> {
  const model = 'decoder' in options ? options.decoder : prepareDecoder(options.unet, options.vae ?? null, options.manifestDecoder);
  const { manifest, latentShape, latentSize, augmentation } = model;
  const { steps, guidanceScale, scheduler: schedulerName } = checkCommonOptions(options, manifest.limits, 'decoder');
  const batch = batchSize(options.seeds, options.initialNoise, latentSize, manifest.limits?.maxImages, 'decoder');

  // 1. class labels [B, 2D]: noised, normalised image embeddings + noise-level embedding
  const D = augmentation.dim;
  const embeddings = broadcastRows(options.imageEmbeddings, D, batch, 'imageEmbeddings');
  rescaleRows(embeddings, D, manifest.embeddingNorm);
  const augmentationNoise = options.augmentationNoise
    ?? seededNormalRows(requireSeeds(options.seeds, 'the noise augmentation'), D, { domain: NOISE_DOMAINS.noiseAugmentation });
  const noiseLevel = expectIntegerInRange(options.noiseLevel, 'noiseLevel', 0, augmentation.numTrainTimesteps - 1);
  const classLabels = augmentation.classLabels(embeddings, noiseLevel, augmentationNoise);
  const guided = isGuided(guidanceScale);
  const L = augmentation.classLabelDim;
  const classLabelRows = guided ? stackUncondCond(augmentation.unconditionalClassLabels(batch), classLabels) : classLabels;

  // 2. prompt hidden states [rows, 77, W]
  let hiddenFeed: Tensor | null = null;
  if (model.promptShape) {
    const [tokens, width] = model.promptShape;
    const prompt = options.promptHiddenStates;
    if (!prompt) {
      throw new UnclipError(
        'PROMPT_CONDITIONING_REQUIRED',
        'This decoder takes prompt hidden states: give promptHiddenStates (encode the manifest\'s unconditionalPrompt for both when there is no prompt)',
      );
    }
    const cond = broadcastRows(prompt.conditional, tokens * width, batch, 'promptHiddenStates.conditional');
    const rows = guided ? stackUncondCond(broadcastRows(prompt.unconditional, tokens * width, batch, 'promptHiddenStates.unconditional'), cond) : cond;
    hiddenFeed = floatTensor(rows, [rows.length / (tokens * width), tokens, width]);
  }

  // 3. scheduler and initial latents x_T = sigma_init * N(0, I)
  const schedule = seededSchedule(options, {
    schedulerName,
    config: manifest.scheduler,
    configName: 'decoder.scheduler',
    steps,
    rowLength: latentSize,
    domain: NOISE_DOMAINS.decoderLatents,
    initialNoiseFor: 'the initial latents',
  });
  const { scheduler } = schedule;

  // 4. previews
  const previewEvery = options.previewEvery ?? 0;
  expectIntegerInRange(previewEvery, 'previewEvery', 0, 10_000);
  let preview: LatentPreview | null = null;
  if (previewEvery > 0 && options.onPreview) {
    if (!model.preview) throw new UnclipError('PREVIEW_UNAVAILABLE', 'This model pack has no decoder.preview projection: previews are not available');
    preview = model.preview;
  }

  // 5. the loop: one UNet call per step over [uncond; cond] rows; the class labels and prompt
  // states are the same every step: one tensor each for the whole run. Shared (continuous
  // batching): this job's rows ride in one call per step with every other job's at this stage.
  const { inputs, unet } = model;
  const rows = guided ? 2 * batch : batch;
  const seat = model.sharedUnet?.join(rows, {
    [inputs.classLabels]: { data: classLabelRows, itemShape: [L] },
    ...(inputs.hiddenStates && hiddenFeed ? { [inputs.hiddenStates]: { data: hiddenFeed.data as Float32Array, itemShape: hiddenFeed.dims.slice(1) } } : {}),
  }, options.signal);
  const runModel = seat
    ? (modelInput: Float32Array, t: number, _guided: boolean, stepsLeft: number) => seat.run(modelInput, t, stepsLeft)
    : denoiserCall(unet, model, {
        timesteps: scheduler.timesteps,
        rowsPerCall: rows,
        itemShape: latentShape,
        constantFeeds: (callRows) => {
          const feeds: Record<string, Tensor> = { [inputs.classLabels]: floatTensor(classLabelRows, [callRows, L]) };
          if (inputs.hiddenStates && hiddenFeed) feeds[inputs.hiddenStates] = hiddenFeed;
          return feeds;
        },
        what: 'UNet',
      });
  const { sample } = await denoise({
    stage: 'decode',
    ...schedule,
    guidanceScale,
    signal: options.signal,
    runModel,
    onStep: (progress, result) => {
      options.onProgress?.(progress);
      if (preview && progress.step % previewEvery === 0) {
        options.onPreview!({ step: progress.step, steps: progress.steps, images: preview.render(result.predOriginalSample) });
      }
    },
  }).finally(() => seat?.leave());

  // 6. VAE decode
  const images = model.vae ? await decodeLatents(model.vae, sample, batch) : null;
  return { images, latents: sample, timesteps: scheduler.timesteps };
}

/** x [1, n] repeated to [batch, n], or x [batch, n] copied. */
export function broadcastRows(x: Float32Array, rowLength: number, batch: number, name: string): Float32Array {
  if (x.length === rowLength * batch) return Float32Array.from(x);
  if (x.length === rowLength) {
    const out = new Float32Array(rowLength * batch);
    for (let b = 0; b < batch; b++) out.set(x, b * rowLength);
    return out;
  }
  throw invalid(`[1, ${rowLength}] or [${batch}, ${rowLength}] values`, name, x, 'TENSOR_SIZE_MISMATCH');
}
