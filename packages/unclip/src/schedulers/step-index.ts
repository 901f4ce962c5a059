import { UnclipError } from '../unclip-error.js';
import type { SchedulerName } from './scheduler.js';

/**
 * Where a sigma-indexed scheduler (Euler, DPM-Solver) is in its schedule. The first `step`
 * finds its timestep in the schedule as diffusers' `index_for_timestep` does (the second
 * match when t occurs twice); later steps must pass the next scheduled timestep.
 */
export class StepIndex {
  private index: number | null = null;

  reset(): void {
    this.index = null;
  }

  current(timesteps: readonly number[], t: number, name: SchedulerName): number {
    if (this.index === null) {
      this.index = indexForTimestep(timesteps, t, name);
    } else if (timesteps[this.index] !== t) {
      throw new UnclipError(
        'SCHEDULER_TIMESTEP_MISMATCH',
        `Expected timestep ${String(timesteps[this.index])} (step ${this.index}) for the ${name} scheduler but received ${t}`,
      );
    }
    return this.index;
  }

  advance(): void {
    if (this.index !== null) this.index += 1;
  }
}

export function indexForTimestep(timesteps: readonly number[], t: number, name: SchedulerName): number {
  const matches: number[] = [];
  timesteps.forEach((value, i) => {
    if (value === t) matches.push(i);
  });
  const index = matches.length > 1 ? matches[1] : matches[0];
  if (index === undefined) {
    throw new UnclipError('SCHEDULER_TIMESTEP_UNKNOWN', `Timestep ${t} is not one of the ${name} scheduler's timesteps`);
  }
  return index;
}
