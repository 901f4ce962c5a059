import { unclipGuards } from '../unclip-error.js';
import { DdimScheduler, type DdimOptions } from './ddim.js';
import { DdpmScheduler } from './ddpm.js';
import { DpmSolverMultistepScheduler, type DpmSolverOptions } from './dpm-solver-multistep.js';
import { EulerDiscreteScheduler } from './euler-discrete.js';
import { PndmScheduler, type PndmOptions } from './pndm.js';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './scheduler.js';
import type { SchedulerConfigInput } from './scheduler-config.js';

const { expectOneOf } = unclipGuards;

export type SchedulerOptions = DdimOptions & PndmOptions & DpmSolverOptions;

/**
 * A fresh scheduler of the named kind over a manifest's training schedule.
 * `configName` names the manifest section in error messages.
 */
export function createScheduler(
  name: SchedulerName,
  config: SchedulerConfigInput | undefined,
  options: SchedulerOptions = {},
  configName = 'scheduler',
): Scheduler {
  switch (expectOneOf(name, 'scheduler', SCHEDULER_NAMES)) {
    case 'ddpm': return new DdpmScheduler(config, configName);
    case 'ddim': return new DdimScheduler(config, { eta: options.eta }, configName);
    case 'pndm': return new PndmScheduler(config, { skipPrkSteps: options.skipPrkSteps }, configName);
    case 'euler': return new EulerDiscreteScheduler(config, configName);
    case 'dpmsolver++': return new DpmSolverMultistepScheduler(config, { solverOrder: options.solverOrder }, configName);
  }
}
