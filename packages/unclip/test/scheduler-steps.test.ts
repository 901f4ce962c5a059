import { describe, expect, it } from 'vitest';
import {
  DdimScheduler, DdpmScheduler, DpmSolverMultistepScheduler, EulerDiscreteScheduler, PndmScheduler, UnclipError,
  type BetaSchedule, type Scheduler, type SchedulerConfigInput,
} from '../src/index.js';
import { loadFixture, maxScaledError } from './load-fixture.js';

// Whole sampling chains run by diffusers' schedulers (torch 1.13, float32) on fixed model
// outputs; ours runs the same chain on its own outputs. Tolerance 1e-5, absolute up to 1 and
// relative above (Euler's samples live in sigma space, |x| up to ~40).
interface Evaluation {
  t: number; modelInput: number[]; modelOutput: number[]; noise?: number[];
  prevSample: number[]; predOriginalSample?: number[];
}
interface Run {
  scheduler: string; betaSchedule: BetaSchedule; steps: number; eta: number | null;
  config: Record<string, string | number | boolean>;
  initialSample: number[]; evaluations: Evaluation[];
  addNoise: { x0: number[]; noise: number[]; t: number; result: number[] };
}
const runs = loadFixture<Run[]>('steps.json');
const schedules = loadFixture<Record<BetaSchedule, { config: { beta_start?: number; beta_end?: number } }>>('alphas-cumprod.json');
const TOLERANCE = 1e-5;

const CAMEL: Record<string, keyof SchedulerConfigInput> = {
  prediction_type: 'predictionType', timestep_spacing: 'timestepSpacing', steps_offset: 'stepsOffset',
  clip_sample: 'clipSample', clip_sample_range: 'clipSampleRange', set_alpha_to_one: 'setAlphaToOne',
};

function build(run: Run): Scheduler {
  const { beta_start, beta_end } = schedules[run.betaSchedule].config;
  const config: Record<string, unknown> = { betaSchedule: run.betaSchedule, betaStart: beta_start, betaEnd: beta_end };
  for (const [key, value] of Object.entries(run.config)) config[CAMEL[key]!] = value;
  const c = config as SchedulerConfigInput;
  switch (run.scheduler) {
    case 'ddpm': return new DdpmScheduler({ clipSample: false, ...c });
    case 'ddim': return new DdimScheduler({ clipSample: false, ...c }, { eta: run.eta ?? 0 });
    case 'pndm': return new PndmScheduler(c, { skipPrkSteps: true });
    case 'pndm-prk': return new PndmScheduler(c, { skipPrkSteps: false });
    case 'euler': return new EulerDiscreteScheduler(c);
    case 'dpmsolver++': return new DpmSolverMultistepScheduler(c);
    default: throw new Error(run.scheduler);
  }
}

describe('step chains equal diffusers', () => {
  for (const run of runs) {
    it(`${run.scheduler} ${run.betaSchedule} ${JSON.stringify(run.config)} eta=${run.eta ?? 0} x${run.steps}`, () => {
      const scheduler = build(run);
      scheduler.setTimesteps(run.steps);
      expect(scheduler.timesteps).toEqual(run.evaluations.map((e) => e.t));
      let sample: Float32Array = Float32Array.from(run.initialSample);
      for (const [k, ev] of run.evaluations.entries()) {
        const input = scheduler.scaleModelInput(sample, ev.t);
        expect(maxScaledError(input, ev.modelInput), `model input at evaluation ${k}`).toBeLessThan(TOLERANCE);
        const noise = ev.noise ? Float32Array.from(ev.noise) : undefined;
        const result = scheduler.step(Float32Array.from(ev.modelOutput), ev.t, sample, noise ? { noise } : {});
        expect(maxScaledError(result.prevSample, ev.prevSample), `prev sample at evaluation ${k}`).toBeLessThan(TOLERANCE);
        if (ev.predOriginalSample) {
          expect(maxScaledError(result.predOriginalSample, ev.predOriginalSample), `x0 at evaluation ${k}`).toBeLessThan(TOLERANCE);
        }
        sample = result.prevSample;
      }
      const { x0, noise, t, result } = run.addNoise;
      expect(maxScaledError(scheduler.addNoise(Float32Array.from(x0), Float32Array.from(noise), t), result)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('scheduler life and refusals', () => {
  const sd: SchedulerConfigInput = { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, predictionType: 'v_prediction', clipSample: false };
  const all = (): Scheduler[] => [
    new DdpmScheduler(sd), new DdimScheduler(sd), new PndmScheduler(sd), new EulerDiscreteScheduler(sd), new DpmSolverMultistepScheduler(sd),
  ];

  it('step refuses to run before setTimesteps', () => {
    for (const scheduler of all()) {
      expect(() => scheduler.step(new Float32Array(4), 1, new Float32Array(4), { noise: new Float32Array(4) }))
        .toThrowError(expect.objectContaining({ code: 'SCHEDULER_NOT_READY' }) as Error);
    }
  });

  it('refuses unsupported options by name', () => {
    expect(() => new DdimScheduler({ ...sd, thresholding: true })).toThrowError(/thresholding/);
    expect(() => new DdimScheduler({ ...sd, rescaleBetasZeroSnr: true })).toThrowError(/rescaleBetasZeroSnr/);
    expect(() => new DdpmScheduler({ ...sd, varianceType: 'learned_range' })).toThrowError(/varianceType/);
    expect(() => new DdimScheduler({ ...sd, betaSchedule: 'sigmoid' as BetaSchedule })).toThrowError(
      /Expected one of "linear", "scaled_linear", "squaredcos_cap_v2" for scheduler.betaSchedule but received "sigmoid"/,
    );
    expect(() => new DdimScheduler({ ...sd, timestepSpacing: 'karras' as never })).toThrowError(/scheduler.timestepSpacing/);
    expect(() => new PndmScheduler({ ...sd, predictionType: 'sample' })).toThrowError(/predictionType/);
    expect(() => new EulerDiscreteScheduler({ ...sd, clipSample: true })).toThrowError(/clipSample/);
    expect(() => new DpmSolverMultistepScheduler(sd, { solverOrder: 3 })).toThrowError(/solverOrder/);
    expect(() => new DdimScheduler({ ...sd, betaShedule: 'linear' } as SchedulerConfigInput)).toThrowError(/for scheduler key but received "betaShedule"/);
    try {
      new DdimScheduler({ ...sd, thresholding: true });
    } catch (error) {
      expect(error).toBeInstanceOf(UnclipError);
      expect((error as UnclipError).code).toBe('UNSUPPORTED_OPTION');
      expect((error as UnclipError).fault).toBe('input');
    }
  });

  it('refuses step counts outside [1, T] and a DDPM step without noise', () => {
    const ddim = new DdimScheduler(sd);
    expect(() => ddim.setTimesteps(0)).toThrowError(/numInferenceSteps/);
    expect(() => ddim.setTimesteps(1001)).toThrowError(/numInferenceSteps/);
    const ddpm = new DdpmScheduler(sd);
    ddpm.setTimesteps(10);
    expect(() => ddpm.step(new Float32Array(4), ddpm.timesteps[0]!, new Float32Array(4))).toThrowError(
      expect.objectContaining({ code: 'SCHEDULER_NOISE_REQUIRED' }) as Error,
    );
  });

  it('a sigma scheduler refuses a timestep out of order', () => {
    const euler = new EulerDiscreteScheduler(sd);
    euler.setTimesteps(5);
    const x = new Float32Array(4);
    euler.step(x, euler.timesteps[0]!, x);
    expect(() => euler.step(x, euler.timesteps[0]!, x)).toThrowError(expect.objectContaining({ code: 'SCHEDULER_TIMESTEP_MISMATCH' }) as Error);
  });

  it('setTimesteps starts a fresh run (multistep state is cleared)', () => {
    const dpm = new DpmSolverMultistepScheduler(sd);
    const x = Float32Array.from([0.5, -1, 2, 0.25]);
    const out = Float32Array.from([0.1, 0.2, -0.3, 0.4]);
    const first = (): Float32Array[] => {
      dpm.setTimesteps(4);
      return dpm.timesteps.map((t) => dpm.step(out, t, x).prevSample);
    };
    expect(first()).toEqual(first());
  });
});
