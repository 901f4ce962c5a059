import { isGuided } from '@a2i/protocol';
import type { InferenceSession } from 'onnxruntime-node';
import { unclipGuards } from '../unclip-error.js';
import type { SchedulerOptions } from '../schedulers/create-scheduler.js';
import type { SchedulerName } from '../schedulers/scheduler.js';
import { NOISE_DOMAINS } from '../seeded-noise.js';
import { denoise, seededSchedule, stackUncondCond, type StepProgress } from './denoise-loop.js';
import { expectName, rescaleRows, type PriorManifest } from './manifest-sections.js';
import { checkSessionNames, denoiserCall, floatTensor, timestepType, type TimestepType } from './onnx-io.js';
import { batchSize, checkCommonOptions } from './sampling-options.js';
import { SharedDenoiser } from './shared-batch.js';

const { invalid, expectLength } = unclipGuards;

/**
 * A prior with its manifest section resolved and its session checked against it, once
 * (preparePrior, when a worker opens its pack).
 */
export interface PriorModel {
  readonly manifest: PriorManifest;
  readonly session: InferenceSession;
  readonly inputs: { sample: string; timestep: string; condition: string };
  readonly output: string;
  readonly timestepType: TimestepType;
  /** Continuous batching (shared-batch.ts): one prior call per step for every job at this stage (one batch per embedding size); null: each job its own calls. */
  readonly shared: ((dim: number) => SharedDenoiser) | null;
}

/** Resolves `prior` of a pack manifest and checks the session's names and timestep type. */
export function preparePrior(session: InferenceSession, manifest: PriorManifest, options: { shareAcrossJobs?: boolean } = {}): PriorModel {
  const inputs = {
    sample: expectName(manifest.inputs.sample, 'prior.inputs.sample'),
    timestep: expectName(manifest.inputs.timestep, 'prior.inputs.timestep'),
    condition: expectName(manifest.inputs.condition, 'prior.inputs.condition'),
  };
  const output = expectName(manifest.output, 'prior.output');
  checkSessionNames(session, [inputs.sample, inputs.timestep, inputs.condition], output, 'prior');
  const signature = { inputs, output, timestepType: timestepType(session, inputs.timestep, 'prior') };
  const byDim = new Map<number, SharedDenoiser>();
  const shared = (dim: number) => {
    let denoiser = byDim.get(dim);
    if (!denoiser) byDim.set(dim, (denoiser = new SharedDenoiser(session, signature, [dim], 'prior')));
    return denoiser;
  };
  return { manifest, session, ...signature, shared: options.shareAcrossJobs ? shared : null };
}

/** The session and manifest section, prepared once (`prior`) or as they are (checked on this call). */
export type PriorSource = { prior: PriorModel } | { session: InferenceSession; manifestPrior: PriorManifest };

export type SamplePriorOptions = PriorSource & {
  /** The query embedding(s) [D]: one for every image, or one per image. */
  condition: readonly Float32Array[];
  /** One seed per image. */
  seeds?: readonly number[];
  /** Standard-normal initial samples [B, D] (instead of the seeds' lane 0). */
  initialNoise?: Float32Array;
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerName;
  schedulerOptions?: SchedulerOptions;
  signal?: AbortSignal;
  onStep?: (progress: StepProgress) => void;
};

export interface SamplePriorResult {
  /** Image embeddings [B, D], un-normalised and rescaled to outputNorm. */
  imageEmbeddings: Float32Array;
  timesteps: readonly number[];
}

/**
 * DALLE-2 style prior (Ramesh et al. 2022, sec. 2.1): a diffusion model over image embeddings
 * conditioned on the query embedding, sampled in the normaliser's space (x - mean) / std, with
 * classifier-free guidance against a zero condition in one call per step.
 */
export async function samplePrior(options: SamplePriorOptions): Promise<SamplePriorResult> {
  const model = 'prior' in options ? options.prior : preparePrior(options.session, options.manifestPrior);
  const { manifest, inputs, session } = model;
  const { steps, guidanceScale, scheduler: schedulerName } = checkCommonOptions(options, manifest.limits, 'prior');
  if (!Array.isArray(options.condition) || options.condition.length === 0) {
    throw invalid('a non-empty array of embeddings', 'prior condition', options.condition);
  }
  const D = options.condition[0]!.length;
  options.condition.forEach((c, i) => expectLength(c, `prior condition[${i}]`, D, 'TENSOR_SIZE_MISMATCH'));
  const batch = batchSize(options.seeds, options.initialNoise, D, manifest.limits?.maxImages, 'prior');
  if (options.condition.length !== 1 && options.condition.length !== batch) {
    throw invalid(`1 or ${batch} embeddings`, 'prior condition', options.condition);
  }

  // 1. condition rows [B, D] at conditionNorm; unconditional rows are zeros
  const condition = new Float32Array(batch * D);
  for (let b = 0; b < batch; b++) condition.set(options.condition[options.condition.length === 1 ? 0 : b]!, b * D);
  rescaleRows(condition, D, manifest.conditionNorm);
  const guided = isGuided(guidanceScale);
  const conditionRows = guided ? stackUncondCond(new Float32Array(batch * D), condition) : condition;

  // 2. scheduler and x_T
  const schedule = seededSchedule(options, {
    schedulerName,
    config: manifest.scheduler,
    configName: 'prior.scheduler',
    steps,
    rowLength: D,
    domain: NOISE_DOMAINS.priorSample,
    initialNoiseFor: 'the prior',
  });
  const { scheduler } = schedule;

  // 3. the loop; the condition is the same every step: one tensor for the whole run. Shared
  // (continuous batching): this job's rows ride in one call per step with every other job's.
  const rows = guided ? 2 * batch : batch;
  const seat = model.shared?.(D).join(rows, { [inputs.condition]: { data: conditionRows, itemShape: [D] } }, options.signal);
  const runModel = seat
    ? (modelInput: Float32Array, t: number, _guided: boolean, stepsLeft: number) => seat.run(modelInput, t, stepsLeft)
    : denoiserCall(session, model, {
        timesteps: scheduler.timesteps,
        rowsPerCall: rows,
        itemShape: [D],
        constantFeeds: (callRows) => ({ [inputs.condition]: floatTensor(conditionRows, [callRows, D]) }),
        what: 'prior',
      });
  const { sample } = await denoise({
    stage: 'prior',
    ...schedule,
    guidanceScale,
    signal: options.signal,
    runModel,
    onStep: (progress) => options.onStep?.(progress),
  }).finally(() => seat?.leave());

  // 4. back from the normaliser's space: x std + mean, then outputNorm
  const embeddings = Float32Array.from(sample);
  if (manifest.normalizer) {
    const { mean, std } = manifest.normalizer;
    expectLength(mean, 'prior.normalizer.mean', D, 'TENSOR_SIZE_MISMATCH');
    expectLength(std, 'prior.normalizer.std', D, 'TENSOR_SIZE_MISMATCH');
    for (let i = 0; i < embeddings.length; i++) embeddings[i] = embeddings[i]! * std[i % D]! + mean[i % D]!;
  }
  rescaleRows(embeddings, D, manifest.outputNorm);
  return { imageEmbeddings: embeddings, timesteps: scheduler.timesteps };
}
