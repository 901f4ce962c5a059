import { combineEmbeddings, decoderCondition, ImageBindError } from '@a2i/imagebind';
import {
  MODALITIES,
  type ConditionTerm,
  type EmbedOutput,
  type GenerationHooks,
  type GenerationJob,
  type GenerationOutput,
  type GenerationPipeline,
  type Modality,
  type PackDescription,
  type PipelineInput,
  type PipelineLimits,
  type SoundEmbedding,
} from '@a2i/protocol';
import { previewFactor, sampleDecoder, samplePrior, upscaleNearest, UnclipError, type SchedulerName, type RowLimitRecord, type SharedCallPolicy, type SharedCallRecord, type SharedDenoiser, type SharedTurnCall } from '@a2i/unclip';
import { decodeInput, type DecodeContext } from './input-decoding.js';
import { openPackRuntime, type PackRuntime } from './pack-runtime.js';
import { embedSoundWindows } from './sound-windows.js';
import { DEFAULT_RUNTIME_CONFIG, type OnnxRuntimeConfig } from './runtime-config.js';
import { WARM_UP_STEPS, warmUpEncoders, warmUpJob, type WarmableEncoder, type WarmUpReport } from './warm-up.js';

export interface OnnxPipelineOptions {
  packDir: string;
  limits: PipelineLimits;
  runtime?: OnnxRuntimeConfig;
  /** The input modalities to serve: only their encoders are opened (A2I_MODALITIES); null or absent: all. */
  modalities?: readonly Modality[] | null;
  /**
   * Continuous batching (README "Continuous batching"): the generations this pipeline runs at once
   * share one prior / UNet call per denoising step and one VAE call when they finish together;
   * each keeps its own scheduler, noise and guidance, and its images do not depend on its company.
   */
  shareModelCalls?: boolean;
  /**
   * With shareModelCalls: how a shared UNet call is filled. Absent: every job in every call; with
   * `maxRows`, up to that many model rows, the jobs with the fewest steps left first (call-selection.ts).
   */
  unetCallPolicy?: SharedCallPolicy | undefined;
}

/** PackDescription plus the prior's `defaultFor` (what prior "auto" means for this pack). */
export type OnnxPackDescription = PackDescription & { prior: PackDescription['prior'] & { defaultFor: string[] } };

/** The inputs' embeddings: `vectors` postprocessed (search, `embed`), `raw` the vision graph's output of image inputs in a pack with `conditioning` (else null). */
interface Embedded {
  vectors: Float32Array[];
  raw: Array<Float32Array | null>;
}

/**
 * The real pipeline (shared/design.md): inputs -> @a2i/media decoders -> @a2i/imagebind
 * preprocessing -> ImageBind encoders (ONNX) -> weighted sum -> optional DALLE-2 prior ->
 * Stable unCLIP decoder + VAE (@a2i/unclip), every constant from the pack's manifest.
 * Opened once per worker (`OnnxPipeline.open`): a pack that fails its check stops the worker
 * there. Bad input throws the packages' coded errors (`code`, `fault` 'input').
 */
export class OnnxPipeline implements GenerationPipeline {
  private readonly description: OnnxPackDescription;
  private readonly decodeContext: Omit<DecodeContext, 'signal'>;
  /** The manifest's `conditioning` (models/README.md): absent, the decoder rescales to decoder.embeddingNorm (the demo pack). */
  private readonly conditioning: { norm: number } | null;

  private constructor(
    private readonly rt: PackRuntime,
    limits: PipelineLimits,
    /** Token hidden states of the manifest's unconditional prompt [77, W], encoded once. */
    private readonly unconditionalHidden: Float32Array | null,
  ) {
    this.decodeContext = { preprocessors: rt.preprocessors, limits, dim: rt.dim, videoLayout: rt.videoLayout, visionFrames: rt.visionFrames };
    this.description = describePack(rt);
    this.conditioning = rt.pack.manifest.conditioning ?? null;
  }

  static async open(options: OnnxPipelineOptions): Promise<OnnxPipeline> {
    const rt = await openPackRuntime(options.packDir, options.runtime ?? DEFAULT_RUNTIME_CONFIG, options.modalities ?? null, {
      shareAcrossJobs: options.shareModelCalls ?? false,
      unetCallPolicy: options.unetCallPolicy,
    });
    try {
      const prompt = rt.decoder.manifest.promptConditioning;
      const unconditional = prompt && rt.promptEncoder ? await encodePrompt(rt, prompt.unconditionalPrompt ?? '') : null;
      return new OnnxPipeline(rt, options.limits, unconditional);
    } catch (error) {
      await rt.release();
      throw error;
    }
  }

  describe(): OnnxPackDescription {
    return this.description;
  }

  /**
   * Continuous batching: `listener` hears of every shared prior and UNet call (its seats' rows and
   * timesteps, its time in and around session.run); null stops it. Nothing is shared, and so
   * nothing heard, unless the pipeline was opened with shareModelCalls.
   */
  observeSharedCalls(listener: ((stage: 'prior' | 'decode', record: SharedCallRecord) => void) | null): void {
    for (const [stage, denoiser] of this.sharedDenoisers()) denoiser.onCall = listener ? (record) => listener(stage, record) : null;
  }

  /**
   * `listener` hears when a stage's row limit changes (SharedDenoiser.rowLimit,
   * SharedTurnCall.rowLimit for the VAE): a shared call failed while its halves ran (a device out
   * of memory), or a whole call tried again ran and lifted it; null stops it.
   */
  observeRowLimits(listener: ((stage: 'prior' | 'decode' | 'vae', record: RowLimitRecord) => void) | null): void {
    const vae = this.rt.decoder.vae?.shared;
    const calls: Array<['prior' | 'decode' | 'vae', SharedDenoiser | SharedTurnCall]> = this.sharedDenoisers();
    if (vae) calls.push(['vae', vae]);
    for (const [stage, call] of calls) call.onRowLimit = listener ? (record) => listener(stage, record) : null;
  }

  /** The shared denoisers of a pipeline opened with shareModelCalls, by stage ('decode': the UNet). */
  private sharedDenoisers(): Array<['prior' | 'decode', SharedDenoiser]> {
    const unet = this.rt.decoder.sharedUnet;
    const prior = this.rt.prior?.shared?.(this.rt.dim);
    const denoisers: Array<['prior' | 'decode', SharedDenoiser]> = [];
    if (unet) denoisers.push(['decode', unet]);
    if (prior) denoisers.push(['prior', prior]);
    return denoisers;
  }

  async embed(inputs: PipelineInput[], signal?: AbortSignal): Promise<EmbedOutput> {
    const { vectors } = await this.embedEach(inputs, signal);
    return { vectors, combined: this.combine(inputs, vectors) };
  }

  async generate(job: GenerationJob, hooks: GenerationHooks): Promise<GenerationOutput> {
    return this.sample(job, hooks);
  }

  /** A sound's window embeddings for a video (sound-windows.ts). */
  async embedSound(input: PipelineInput, windows: { windowSec: number; hopSec: number }, signal?: AbortSignal, onWindow?: (done: number, total: number) => void): Promise<SoundEmbedding> {
    const encoder = this.rt.encoders.get('audio');
    const preprocess = this.rt.preprocessors.audio;
    if (!encoder || !preprocess) throw new ImageBindError('UNSUPPORTED_MODALITY', 'This model pack has no audio encoder: it cannot follow a sound');
    return embedSoundWindows(encoder, preprocess, this.decodeContext.limits, input, windows, signal, onWindow);
  }

  /** Runs every loaded session once (warm-up.ts): each encoder, then a 2-step generation with a preview. */
  async warmUp(): Promise<WarmUpReport> {
    const started = performance.now();
    const warmable = new Map<string, WarmableEncoder>();
    const entries: Partial<Record<string, { input?: { dtype?: string } }>> = this.rt.pack.manifest.encoders;
    for (const [key, encoder] of this.rt.encoders) {
      warmable.set(key, { encoder, dtype: entries[key]?.input?.dtype === 'int64' ? 'int64' : 'float32' });
    }
    const encoders = await warmUpEncoders(warmable);
    const job = warmUpJob(this.description);
    let previews = 0;
    const hooks: GenerationHooks = { signal: new AbortController().signal, onProgress: () => undefined, onPreview: () => void previews++ };
    await this.sample(job, hooks, WARM_UP_STEPS);
    return { encoders, steps: WARM_UP_STEPS, prior: job.options.usePrior, previews, ms: Math.round(performance.now() - started) };
  }

  /** A generation; `priorSteps` overrides the pack's prior steps (the warm-up's short run). */
  private async sample(job: GenerationJob, hooks: GenerationHooks, priorSteps?: number): Promise<GenerationOutput> {
    const { signal } = hooks;
    const { options } = job;
    const rt = this.rt;
    const settings = rt.pack.settings;

    // 1. embed every input, then the weighted sum (the query), and the decoder's condition from them
    const steps = job.inputs.length;
    const embedded = await this.embedEach(job.inputs, signal, (step) => hooks.onProgress({ stage: 'embed', step, steps }));
    const query = this.combine(job.inputs, embedded.vectors);
    // 1b. retrieval-augmented: more terms (e.g. the mean of the query's nearest stored images) mixed in like inputs
    const extra = hooks.augmentCondition ? await hooks.augmentCondition(query) : [];
    signal.throwIfAborted();
    const condition = this.conditioning === null && extra.length === 0 ? query : this.condition(job.inputs, embedded, extra);
    const seeds = Array.from({ length: options.numImages }, (_, i) => (options.seed + i) >>> 0);

    // 2. the prior: query -> image embedding (one per image)
    let imageEmbeddings = condition;
    if (options.usePrior) {
      if (!rt.prior || !rt.priorScheduler || !settings.prior) {
        throw new UnclipError('PRIOR_UNAVAILABLE', `Model pack ${rt.pack.manifest.name} has no prior: ask for prior "off"`);
      }
      const prior = await samplePrior({
        prior: rt.prior,
        condition: [condition],
        seeds,
        steps: priorSteps ?? settings.prior.steps,
        guidanceScale: settings.prior.guidanceScale,
        scheduler: rt.priorScheduler,
        signal,
        onStep: (p) => hooks.onProgress({ stage: 'prior', step: p.step, steps: p.steps }),
      });
      imageEmbeddings = prior.imageEmbeddings;
    }

    // 3. the decoder, conditioned on the prompt's hidden states (unconditional prompt for CFG)
    signal.throwIfAborted();
    const promptHiddenStates = this.unconditionalHidden
      ? { conditional: options.prompt === '' ? this.unconditionalHidden : await encodePrompt(rt, options.prompt), unconditional: this.unconditionalHidden }
      : undefined;
    const { width, height } = this.description.imageSize;
    const previews = rt.decoder.manifest.preview ? options.previewEvery : 0;
    const result = await sampleDecoder({
      decoder: rt.decoder,
      imageEmbeddings,
      ...(promptHiddenStates ? { promptHiddenStates } : {}),
      noiseLevel: options.noiseLevel,
      seeds,
      steps: options.steps,
      guidanceScale: options.guidance,
      scheduler: (options.scheduler as SchedulerName | undefined) ?? rt.decoderScheduler,
      signal,
      onProgress: (p) => hooks.onProgress({ stage: 'decode', step: p.step, steps: p.steps }),
      previewEvery: previews,
      onPreview: (p) =>
        p.images.forEach((image, index) => {
          const factor = previewFactor(image, { width, height });
          hooks.onPreview({ stage: 'decode', step: p.step, rgb: upscaleNearest(image.data, image.width, image.height, factor), width: image.width * factor, height: image.height * factor, index });
        }),
    });
    const images = result.images ?? [];
    return { images: images.map((image, i) => ({ rgb: image.data, width: image.width, height: image.height, seed: seeds[i]! })) };
  }

  async close(): Promise<void> {
    await this.rt.release();
  }

  /**
   * Each input's embedding (encoder postprocess applied; raw vectors as given), in order, and,
   * in a pack with `conditioning`, an image input's raw vision embedding from the same run.
   */
  private async embedEach(inputs: readonly PipelineInput[], signal?: AbortSignal, onEach?: (done: number) => void): Promise<Embedded> {
    const embedded: Embedded = { vectors: [], raw: [] };
    for (const input of inputs) {
      signal?.throwIfAborted();
      const decoded = await decodeInput(input, { ...this.decodeContext, ...(signal ? { signal } : {}) });
      if (decoded.kind === 'vector') {
        embedded.vectors.push(decoded.vector);
        embedded.raw.push(null);
      } else {
        const runner = this.rt.encoders.get(decoded.encoder);
        if (!runner) throw new ImageBindError('UNSUPPORTED_MODALITY', `This model pack has no ${decoded.encoder} encoder for ${input.modality} inputs`);
        if (this.conditioning !== null && input.modality === 'image') {
          const { embeddings, raw } = await runner.runWithRaw([decoded.rows]);
          embedded.vectors.push(embeddings[0]!);
          embedded.raw.push(raw[0]!);
        } else {
          const [embedding] = await runner.run([decoded.rows]);
          embedded.vectors.push(embedding!);
          embedded.raw.push(null);
        }
      }
      onEach?.(embedded.vectors.length);
    }
    return embedded;
  }

  /**
   * The query (`embed`'s combined, what retrieval searches with): embedding arithmetic over the
   * inputs (and extra terms) that count, unit directions mixed by weight, at the decoder's
   * embedding norm (1 in a pack with `conditioning`, whose decoder rescales nothing).
   */
  private combine(inputs: readonly PipelineInput[], vectors: readonly Float32Array[], extra: readonly ConditionTerm[] = []): Float32Array {
    const items = [...inputs.map((input, i) => ({ vector: vectors[i]!, weight: input.weight })), ...extra].filter((item) => item.weight !== 0);
    if (items.length === 0) throw new ImageBindError('EMBEDDING_ZERO', 'Every input has weight 0: nothing to generate from');
    return combineEmbeddings(items, { targetNorm: this.conditioning === null ? (this.rt.decoder.manifest.embeddingNorm ?? 1) : 1 });
  }

  /**
   * The decoder's image embedding. Without `conditioning`: the query with the extra terms (the
   * decoder rescales it to decoder.embeddingNorm). With it (models/README.md): an image input at
   * its raw vision embedding, every other input and extra term at conditioning.norm, their
   * weighted mean (decoderCondition: Anything2Image's mix, not renormalised).
   */
  private condition(inputs: readonly PipelineInput[], embedded: Embedded, extra: readonly ConditionTerm[]): Float32Array {
    if (this.conditioning === null) return this.combine(inputs, embedded.vectors, extra);
    const terms = [
      ...inputs.map((input, i) => {
        const raw = embedded.raw[i];
        return raw ? { vector: raw, weight: input.weight, atOwnNorm: true } : { vector: embedded.vectors[i]!, weight: input.weight, atOwnNorm: false };
      }),
      ...extra.map((term) => ({ ...term, atOwnNorm: false })),
    ].filter((term) => term.weight !== 0);
    if (terms.length === 0) throw new ImageBindError('EMBEDDING_ZERO', 'Every input has weight 0: nothing to generate from');
    return decoderCondition(terms, { norm: this.conditioning.norm });
  }
}

/** A prompt's token hidden states [77, W] from the pack's prompt-conditioning source. */
async function encodePrompt(rt: PackRuntime, prompt: string): Promise<Float32Array> {
  if (!rt.promptEncoder) throw new ImageBindError('UNSUPPORTED_MODALITY', 'This model pack cannot encode prompts');
  return rt.promptEncoder.encode(prompt);
}

/** What the pack offers, from its manifest (the api validates requests against it). */
function describePack(rt: PackRuntime): OnnxPackDescription {
  const { manifest, settings } = rt.pack;
  const pre = rt.preprocessors;
  // an encoder opened only as the prompt's source has no runner: its modality is not offered
  const has = (key: string) => rt.encoders.has(key);
  const offered: Record<Modality, boolean> = {
    audio: has('audio') && pre.audio !== undefined,
    image: has('vision') && pre.vision !== undefined,
    text: has('text') && pre.text !== undefined,
    video: has('vision') && pre.video !== undefined,
    depth: has('depth') && pre.depth !== undefined,
    thermal: has('thermal') && pre.thermal !== undefined,
    imu: has('imu') && pre.imu !== undefined,
    embedding: true,
  };
  const [height = 0, width = 0] = rt.decoder.manifest.imageSize;
  const prior: OnnxPackDescription['prior'] = { available: rt.prior !== null && settings.prior !== null, defaultFor: settings.prior?.defaultFor ?? [] };
  if (settings.prior) {
    prior.defaultSteps = settings.prior.steps;
    prior.defaultGuidance = settings.prior.guidanceScale;
  }
  return {
    name: manifest.name,
    dim: rt.dim,
    modalities: MODALITIES.filter((m) => offered[m] && (rt.modalities === null || m === 'embedding' || rt.modalities.includes(m))),
    imageSize: { width, height },
    prior,
    scheduler: rt.decoderSettings.scheduler,
    defaults: { steps: rt.decoderSettings.steps, guidance: rt.decoderSettings.guidanceScale, noiseLevel: rt.decoderSettings.noiseLevel },
    limits: { maxSteps: settings.limits.maxSteps, maxImages: settings.limits.maxImages, maxNoiseLevel: settings.maxNoiseLevel },
  };
}
