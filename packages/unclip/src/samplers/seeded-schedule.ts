import { createScheduler, type SchedulerOptions } from '../schedulers/create-scheduler.js';
import type { Scheduler, SchedulerName } from '../schedulers/scheduler.js';
import type { SchedulerConfigInput } from '../schedulers/scheduler-config.js';
import { seededNormalRows } from '../seeded-noise.js';
import { requireSeeds } from './sampling-options.js';

/** The noise and scheduler choices every sampler's options carry. */
export interface SamplerNoiseOptions {
  seeds?: readonly number[];
  /** x_T's noise [B, rowLength] when given; else seeded N(0, I) rows from `seeds`. */
  initialNoise?: Float32Array;
  schedulerOptions?: SchedulerOptions;
}

/** What differs between the stages. */
export interface ScheduleStage {
  schedulerName: SchedulerName;
  steps: number;
  /** The manifest's training schedule; `configName` names its section in error messages. */
  config: SchedulerConfigInput | undefined;
  configName: string;
  rowLength: number;
  /** The noise domain (NOISE_DOMAINS) of x_T and of the per-step noise. */
  domain: number;
  /** What needs the initial noise, for the message when there are no seeds. */
  initialNoiseFor: string;
}

/** What `denoise` starts from: the scheduler set to `steps`, x_T, and the noise for step k. */
export interface SeededSchedule {
  scheduler: Scheduler;
  /** x_T = initNoiseSigma * noise. */
  initialSample: Float32Array;
  /** Seeded N(0, I) rows on lane k + 1 of the same seeds and domain as x_T (lane 0). */
  stepNoise: (stepIndex: number) => Float32Array;
}

/** The scheduler and noise of one sampling run (the prior's and the decoder's alike). */
export function seededSchedule(options: SamplerNoiseOptions, stage: ScheduleStage): SeededSchedule {
  const { seeds } = options;
  const { schedulerName, rowLength, domain } = stage;
  const scheduler = createScheduler(schedulerName, stage.config, options.schedulerOptions, stage.configName);
  scheduler.setTimesteps(stage.steps);
  const noise = options.initialNoise ?? seededNormalRows(requireSeeds(seeds, stage.initialNoiseFor), rowLength, { domain });
  return {
    scheduler,
    initialSample: noise.map((x) => x * scheduler.initNoiseSigma),
    stepNoise: (k) => seededNormalRows(requireSeeds(seeds, `the ${schedulerName} scheduler`), rowLength, { lane: k + 1, domain }),
  };
}
