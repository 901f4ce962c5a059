export { UnclipError } from './unclip-error.js';
export {
  SCHEDULER_NAMES, type Scheduler, type SchedulerName, type StepOptions, type StepResult,
} from './schedulers/scheduler.js';
export {
  BETA_SCHEDULES, PREDICTION_TYPES, TIMESTEP_SPACINGS, resolveSchedulerConfig,
  type BetaSchedule, type PredictionType, type SchedulerConfig, type SchedulerConfigInput, type TimestepSpacing,
} from './schedulers/scheduler-config.js';
export { makeNoiseSchedule, betasForAlphaBar, sigmasFromAlphasCumprod, type NoiseSchedule } from './schedulers/noise-schedule.js';
export { createScheduler, type SchedulerOptions } from './schedulers/create-scheduler.js';
export { DdpmScheduler } from './schedulers/ddpm.js';
export { DdimScheduler, type DdimOptions } from './schedulers/ddim.js';
export { PndmScheduler, type PndmOptions } from './schedulers/pndm.js';
export { EulerDiscreteScheduler } from './schedulers/euler-discrete.js';
export { DpmSolverMultistepScheduler, type DpmSolverOptions } from './schedulers/dpm-solver-multistep.js';
export { classifierFreeGuidance, duplicateBatch, stackUncondCond } from './samplers/denoise-loop.js';
export { timestepEmbedding, type TimestepEmbeddingOptions } from './noise-augmentation.js';
export { NoiseAugmentation, type NoiseAugmentationConfig } from './noise-augmentation.js';
export {
  NOISE_DOMAINS, philox4x32, philoxNormals, seededNormal, seededNormalRows, type NoiseStream,
} from './seeded-noise.js';
export { sampleDecoder, prepareDecoder, type PrepareOptions, type DecoderModel, type DecoderSource, type SampleDecoderOptions, type SampleDecoderResult, type DecoderPreview } from './samplers/sample-decoder.js';
export { samplePrior, preparePrior, type PriorModel, type PriorSource, type SamplePriorOptions, type SamplePriorResult } from './samplers/sample-prior.js';
export { denoise, type StepProgress, type SamplingStage } from './samplers/denoise-loop.js';
export { LatentPreview, previewFactor, upscaleNearest } from './samplers/latent-preview.js';
export { decodeLatents, prepareVae, type VaeModel } from './samplers/vae-decode.js';
export type { RgbImage } from './samplers/vae-decode.js';
export type { DecoderManifest, PriorManifest } from './samplers/manifest-sections.js';
export { SharedDenoiser, SharedTurnCall, rowTimestepTensor, type DenoiserSeat, type SeatConstant, type SharedCallRecord } from './samplers/shared-batch.js';
export { EVERY_SEAT, seatsForCall, type SharedCallPolicy, type WaitingSeat } from './samplers/call-selection.js';
export type { RowLimitRecord } from './samplers/row-limit.js';
