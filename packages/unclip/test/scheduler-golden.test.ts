import { describe, expect, it } from 'vitest';
import {
  DdimScheduler, DdpmScheduler, DpmSolverMultistepScheduler, EulerDiscreteScheduler, PndmScheduler,
  type BetaSchedule, type Scheduler, type SchedulerConfigInput, type TimestepSpacing,
} from '../src/index.js';
import { loadFixture, maxAbsError, maxScaledError } from './load-fixture.js';

// Golden numbers from diffusers' own scheduler classes run with torch 1.13 (fixtures/README.md).
type ScheduleFixture = Record<BetaSchedule, { config: { beta_start?: number; beta_end?: number }; alphasCumprod: number[] }>;
interface TimestepCase {
  scheduler: string; betaSchedule: BetaSchedule; timestepSpacing: TimestepSpacing; stepsOffset: number;
  steps: number; timesteps: number[]; sigmas?: number[]; initNoiseSigma?: number;
}
const schedules = loadFixture<ScheduleFixture>('alphas-cumprod.json');
const timestepCases = loadFixture<TimestepCase[]>('timesteps.json');

function configFor(betaSchedule: BetaSchedule, extra: SchedulerConfigInput = {}): SchedulerConfigInput {
  const { beta_start, beta_end } = schedules[betaSchedule].config;
  return {
    betaSchedule, clipSample: false,
    ...(beta_start === undefined ? {} : { betaStart: beta_start, betaEnd: beta_end }),
    ...extra,
  };
}

function build(name: string, config: SchedulerConfigInput): Scheduler {
  switch (name) {
    case 'ddpm': return new DdpmScheduler(config);
    case 'ddim': return new DdimScheduler(config);
    case 'pndm': return new PndmScheduler(config, { skipPrkSteps: true });
    case 'pndm-prk': return new PndmScheduler(config, { skipPrkSteps: false });
    case 'euler': return new EulerDiscreteScheduler(config);
    case 'dpmsolver++': return new DpmSolverMultistepScheduler(config);
    default: throw new Error(name);
  }
}

const NAMES = ['ddpm', 'ddim', 'pndm', 'pndm-prk', 'euler', 'dpmsolver++'];

describe('alphas_cumprod equal diffusers to 1e-6', () => {
  for (const betaSchedule of Object.keys(schedules) as BetaSchedule[]) {
    for (const name of NAMES) {
      it(`${name} ${betaSchedule}`, () => {
        const scheduler = build(name, configFor(betaSchedule));
        expect(scheduler.alphasCumprod).toHaveLength(1000);
        expect(maxAbsError(scheduler.alphasCumprod, schedules[betaSchedule].alphasCumprod)).toBeLessThan(1e-6);
      });
    }
  }
});

describe('timesteps and sigmas after setTimesteps equal diffusers', () => {
  for (const c of timestepCases) {
    const label = `${c.scheduler} ${c.betaSchedule} ${c.timestepSpacing} offset ${c.stepsOffset} x${c.steps}`;
    it(label, () => {
      const scheduler = build(c.scheduler, configFor(c.betaSchedule, { timestepSpacing: c.timestepSpacing, stepsOffset: c.stepsOffset }));
      scheduler.setTimesteps(c.steps);
      // timesteps: integers exactly; Euler's float32 linspace values to 1e-6
      expect(scheduler.timesteps).toHaveLength(c.timesteps.length);
      expect(maxAbsError(scheduler.timesteps, c.timesteps)).toBeLessThan(1e-6);
      if (c.sigmas) {
        // sigmas reach ~1e3 (cosine schedule): 1e-6 absolute up to 1, relative above
        const sigmas = (scheduler as EulerDiscreteScheduler | DpmSolverMultistepScheduler).sigmas;
        expect(maxScaledError(sigmas, c.sigmas)).toBeLessThan(1e-6);
        expect(Math.abs(scheduler.initNoiseSigma - c.initNoiseSigma!) / Math.max(1, c.initNoiseSigma!)).toBeLessThan(1e-6);
      }
    });
  }
});

describe('golden timesteps from the diffusers docs', () => {
  it('DDIM with 5 steps and steps_offset 1 gives [801, 601, 401, 201, 1]', () => {
    const ddim = new DdimScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, stepsOffset: 1 });
    ddim.setTimesteps(5);
    expect(ddim.timesteps).toEqual([801, 601, 401, 201, 1]);
  });
});
