import { UnclipError, unclipGuards } from '../unclip-error.js';

const { invalid, expectBoolean, expectIntegerInRange, expectKnownKeys, expectNumberInRange, expectOneOf } = unclipGuards;

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;

export type BetaSchedule = (typeof BETA_SCHEDULES)[number];
export type PredictionType = (typeof PREDICTION_TYPES)[number];
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/**
 * The training noise schedule and sampling conventions, as a manifest's `scheduler` section
 * spells them (diffusers' scheduler_config.json in camelCase). Every field resolved.
 */
export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaSchedule: BetaSchedule;
  betaStart: number;
  betaEnd: number;
  predictionType: PredictionType;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  clipSample: boolean;
  clipSampleRange: number;
  setAlphaToOne: boolean;
}

/**
 * What a manifest may hold. Absent fields take the diffusers default of the scheduler class
 * being built (e.g. DDIM's clip_sample=True, set_alpha_to_one=True; Euler's spacing
 * "linspace"). Options this package does not implement are accepted only with their
 * "off" value and otherwise refused by name.
 */
export interface SchedulerConfigInput extends Partial<SchedulerConfig> {
  thresholding?: boolean;
  rescaleBetasZeroSnr?: boolean;
  varianceType?: string;
  trainedBetas?: null;
}

const KNOWN_KEYS = [
  'numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'predictionType', 'timestepSpacing',
  'stepsOffset', 'clipSample', 'clipSampleRange', 'setAlphaToOne',
  'thresholding', 'rescaleBetasZeroSnr', 'varianceType', 'trainedBetas',
] as const;

/** diffusers' __init__ defaults shared by DDPM, DDIM, PNDM, Euler and DPM-Solver (scheduling_*.py). */
export const DIFFUSERS_COMMON_DEFAULTS: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaSchedule: 'linear',
  betaStart: 0.0001,
  betaEnd: 0.02,
  predictionType: 'epsilon',
  timestepSpacing: 'leading',
  stepsOffset: 0,
  clipSample: false,
  clipSampleRange: 1.0,
  setAlphaToOne: false,
};

/**
 * Validates a manifest scheduler section and fills it with `defaults`.
 * `name` prefixes option names in messages (e.g. "decoder.scheduler").
 */
export function resolveSchedulerConfig(
  input: SchedulerConfigInput | undefined,
  defaults: SchedulerConfig,
  name: string,
): SchedulerConfig {
  const raw = input ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('an object', name, raw);
  expectKnownKeys(raw, name, KNOWN_KEYS, 'UNSUPPORTED_OPTION');
  const pick = <K extends keyof SchedulerConfig>(key: K): unknown => (raw[key] === undefined ? defaults[key] : raw[key]);

  if (raw.thresholding !== undefined && expectBoolean(raw.thresholding, `${name}.thresholding`)) {
    throw unsupported(`${name}.thresholding`, 'dynamic thresholding is not implemented');
  }
  if (raw.rescaleBetasZeroSnr !== undefined && expectBoolean(raw.rescaleBetasZeroSnr, `${name}.rescaleBetasZeroSnr`)) {
    throw unsupported(`${name}.rescaleBetasZeroSnr`, 'zero-terminal-SNR rescaling is not implemented');
  }
  if (raw.varianceType !== undefined && raw.varianceType !== 'fixed_small') {
    throw unsupported(`${name}.varianceType`, `only "fixed_small" is implemented, not ${JSON.stringify(raw.varianceType)}`);
  }
  if (raw.trainedBetas !== undefined && raw.trainedBetas !== null) {
    throw unsupported(`${name}.trainedBetas`, 'give a betaSchedule instead');
  }

  const config: SchedulerConfig = {
    numTrainTimesteps: expectIntegerInRange(pick('numTrainTimesteps'), `${name}.numTrainTimesteps`, 2, 100_000),
    betaSchedule: expectOneOf(pick('betaSchedule'), `${name}.betaSchedule`, BETA_SCHEDULES),
    betaStart: expectNumberInRange(pick('betaStart'), `${name}.betaStart`, 0, 1),
    betaEnd: expectNumberInRange(pick('betaEnd'), `${name}.betaEnd`, 0, 1),
    predictionType: expectOneOf(pick('predictionType'), `${name}.predictionType`, PREDICTION_TYPES),
    timestepSpacing: expectOneOf(pick('timestepSpacing'), `${name}.timestepSpacing`, TIMESTEP_SPACINGS),
    stepsOffset: expectIntegerInRange(pick('stepsOffset'), `${name}.stepsOffset`, 0, 1000),
    clipSample: expectBoolean(pick('clipSample'), `${name}.clipSample`),
    clipSampleRange: expectNumberInRange(pick('clipSampleRange'), `${name}.clipSampleRange`, 0),
    setAlphaToOne: expectBoolean(pick('setAlphaToOne'), `${name}.setAlphaToOne`),
  };
  return config;
}

export function unsupported(option: string, why: string): UnclipError {
  return new UnclipError('UNSUPPORTED_OPTION', `Unsupported option ${option}: ${why}`);
}
