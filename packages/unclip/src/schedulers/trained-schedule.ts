import { makeNoiseSchedule } from './noise-schedule.js';
import { resolveSchedulerConfig, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.js';

/**
 * What every scheduler starts from (diffusers' SchedulerMixin + `register_to_config`): its
 * config resolved over the scheduler's defaults, and alpha_bar_t of the training noise
 * schedule. `timesteps` stays empty until `setTimesteps`.
 */
export abstract class TrainedSchedule {
  readonly config: SchedulerConfig;
  /** alpha_bar_t for t in [0, T) (float32 values as diffusers stores them). */
  readonly alphasCumprod: Float64Array;
  timesteps: number[] = [];

  protected constructor(config: SchedulerConfigInput | undefined, defaults: SchedulerConfig, name: string) {
    this.config = resolveSchedulerConfig(config, defaults, name);
    this.alphasCumprod = makeNoiseSchedule(this.config).alphasCumprod;
  }
}
