import { checkSeed } from '../seeded-noise.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../schedulers/scheduler.js';
import { UnclipError, unclipGuards } from '../unclip-error.js';

const { invalid, expectIntegerInRange, expectNumberInRange, expectOneOf } = unclipGuards;

/** Checks the options every sampler shares; `what` names the stage in messages. */
export function checkCommonOptions(
  options: { steps: unknown; guidanceScale: unknown; scheduler: unknown },
  limits: { maxSteps?: number } | undefined,
  what: string,
): { steps: number; guidanceScale: number; scheduler: SchedulerName } {
  const steps = expectIntegerInRange(options.steps, `${what} steps`, 1, limits?.maxSteps ?? 1000);
  const guidanceScale = expectNumberInRange(options.guidanceScale, `${what} guidanceScale`, 0, 100);
  const scheduler = expectOneOf(options.scheduler, `${what} scheduler`, SCHEDULER_NAMES);
  return { steps, guidanceScale, scheduler };
}

/**
 * The batch size from `seeds` or `initialNoise` [B, ...item] (both must agree), within maxImages.
 */
export function batchSize(
  seeds: readonly number[] | undefined,
  initialNoise: Float32Array | undefined,
  itemLength: number,
  maxImages: number | undefined,
  what: string,
): number {
  if (seeds !== undefined) {
    if (!Array.isArray(seeds) || seeds.length === 0) throw invalid('a non-empty array of seeds', `${what} seeds`, seeds);
    seeds.forEach((seed, i) => checkSeed(seed, `${what} seeds[${i}]`));
  }
  if (initialNoise !== undefined && (initialNoise.length === 0 || initialNoise.length % itemLength !== 0)) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected ${what} initialNoise to hold [B, ${itemLength}] values but received ${initialNoise.length}`);
  }
  const fromNoise = initialNoise ? initialNoise.length / itemLength : undefined;
  const batch = seeds?.length ?? fromNoise;
  if (batch === undefined) throw new UnclipError('SEEDS_REQUIRED', `Give ${what} seeds (one per image) or initialNoise`);
  if (fromNoise !== undefined && fromNoise !== batch) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `${what} initialNoise holds ${fromNoise} images but ${batch} seeds were given`);
  }
  return expectIntegerInRange(batch, `${what} number of images`, 1, maxImages ?? 64);
}

export function requireSeeds(seeds: readonly number[] | undefined, what: string): readonly number[] {
  if (!seeds) throw new UnclipError('SEEDS_REQUIRED', `Give seeds: ${what} needs noise and no seeds were given`);
  return seeds;
}
