import { describe, expect, it } from 'vitest';
import { ProgressReporter } from '../src/index.js';

describe('ProgressReporter', () => {
  const after = (stage: string) => (stage === 'prior' ? 10 : 0);

  it('throttles to one event per interval but always passes the first and last step of a stage', () => {
    const reporter = new ProgressReporter(100, after, 0);
    const emitted = [];
    for (let step = 1; step <= 10; step++) emitted.push(reporter.report({ stage: 'decode', step, steps: 10 }, step * 30));
    expect(emitted.map((e) => e?.step ?? null)).toEqual([1, null, null, null, 5, null, null, null, 9, 10]);
  });

  it('drops reports that do not move forward within a stage, and restarts at a new stage', () => {
    const reporter = new ProgressReporter(0, after, 0);
    expect(reporter.report({ stage: 'prior', step: 2, steps: 10 }, 10)).not.toBeNull();
    expect(reporter.report({ stage: 'prior', step: 2, steps: 10 }, 20)).toBeNull();
    expect(reporter.report({ stage: 'prior', step: 1, steps: 10 }, 30)).toBeNull();
    expect(reporter.report({ stage: 'decode', step: 1, steps: 10 }, 40)).toMatchObject({ stage: 'decode', step: 1 });
  });

  it('estimates the time left from the current stage rate, counting the stages still to come', () => {
    const reporter = new ProgressReporter(0, after, 1000);
    // 2 prior steps in 100 ms: 50 ms a step; 8 prior + 10 decode steps left.
    expect(reporter.report({ stage: 'prior', step: 2, steps: 10 }, 1100)!.etaMs).toBe(900);
    // Decode began at the last prior report (t=1100); 4 steps in 200 ms, 6 left.
    expect(reporter.report({ stage: 'decode', step: 4, steps: 10 }, 1300)!.etaMs).toBe(300);
    expect(reporter.report({ stage: 'decode', step: 10, steps: 10 }, 1600)!.etaMs).toBe(0);
  });
});
