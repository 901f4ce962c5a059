import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seatsForCall, type SharedCallPolicy, type WaitingSeat } from '../src/samplers/call-selection.js';
import { SharedDenoiser, type DenoiserSeat, type SharedCallRecord } from '../src/samplers/shared-batch.js';

// A shared call with a row cap (issue #15, short jobs in a full batch): the seats with the fewest
// steps left ride first, the others keep their rows for the next call, and a seat left out of
// maxWaitRounds rounds of calls (a round: ceil(waiting rows / cap) calls) goes first. The model is a stand-in session (the selection logic,
// no onnxruntime kernels): out = sample / 2 + timestep + condition, row by row.
const ITEM = [2];
const SIGNATURE = { inputs: { sample: 'sample', timestep: 'timestep' }, output: 'out', timestepType: 'float32' as const };

const standInSession = {
  async run(feeds: Record<string, Tensor>) {
    const sample = feeds.sample!.data as Float32Array;
    const timestep = feeds.timestep!.data as Float32Array;
    const condition = feeds.condition!.data as Float32Array;
    const out = sample.map((x, i) => x / 2 + timestep[Math.floor(i / 2)]! + condition[Math.floor(i / 2)]!);
    return { out: new Tensor('float32', out, [timestep.length, ...ITEM]) };
  },
} as unknown as InferenceSession;

const seat = (rows: number, stepsLeft: number, passedOver = 0): WaitingSeat => ({ rows, stepsLeft, passedOver });

describe('seatsForCall', () => {
  const cap = (maxRows: number | null, maxWaitRounds = 4): SharedCallPolicy => ({ maxRows, maxWaitRounds });

  it('takes every seat without a cap', () => {
    expect(seatsForCall([seat(8, 100), seat(2, 3), seat(4, 50)], cap(null))).toEqual([0, 1, 2]);
  });

  it('fills the cap with the fewest steps left, keeps joining order, and skips a seat that does not fit for one that does', () => {
    // 2 (3 left) + 4 (20 left) = 6; 8 rows (10 left) do not fit in 8; 2 rows (60 left) do
    expect(seatsForCall([seat(8, 10), seat(4, 20), seat(2, 3), seat(2, 60), seat(2, 90)], cap(8))).toEqual([1, 2, 3]);
  });

  it('breaks ties in steps left by joining order, and treats steps not told as the most', () => {
    expect(seatsForCall([seat(2, Infinity), seat(2, 5), seat(2, 5), seat(2, 5)], cap(4))).toEqual([1, 2]);
  });

  it('lets the first seat ride alone when it has more rows than the cap', () => {
    expect(seatsForCall([seat(16, 2), seat(2, 40)], cap(8))).toEqual([0]);
  });

  it('puts a seat left out of maxWaitRounds rounds of calls first, whatever its steps left', () => {
    // 12 rows at a cap of 8: 2 calls a round; 3 rounds: 6 calls
    expect(seatsForCall([seat(6, 90, 6), seat(4, 2, 0), seat(2, 4, 0)], cap(8, 3))).toEqual([0, 2]);
    expect(seatsForCall([seat(6, 90, 5), seat(4, 2, 0), seat(2, 4, 0)], cap(8, 3))).toEqual([1, 2]);
    // the same seat among 36 rows (5 calls a round) is not yet due after 6 calls
    expect(seatsForCall([seat(6, 90, 6), seat(4, 2, 0), seat(2, 4, 0), seat(24, 50, 0)], cap(8, 3))).toEqual([1, 2]);
  });
});

/**
 * A job seated now (every job of a test joins before any runs, so the first call sees them all);
 * `run` is its whole loop: x <- model(x, t = steps left, c), as a denoising loop hands in its rows.
 */
function seatJob(denoiser: SharedDenoiser, rows: number, steps: number, c: number) {
  const place = denoiser.join(rows, { condition: { data: new Float32Array(rows).fill(c), itemShape: [1] } });
  return { run: () => runSeat(place, rows, steps, c) };
}

async function runSeat(place: DenoiserSeat, rows: number, steps: number, c: number): Promise<Float32Array> {
  let x: Float32Array = Float32Array.from({ length: rows * 2 }, (_, i) => i + c);
  try {
    for (let k = 0; k < steps; k++) x = await place.run(x, steps - k, steps - k);
  } finally {
    place.leave();
  }
  return x;
}

/** The same loop computed alone, in float32 as the session computes it. */
function alone(rows: number, steps: number, c: number): Float32Array {
  let x = Float32Array.from({ length: rows * 2 }, (_, i) => i + c);
  for (let k = 0; k < steps; k++) x = x.map((v) => v / 2 + (steps - k) + c);
  return x;
}

describe('SharedDenoiser with a row cap', () => {
  it('runs short jobs first within the cap, bounds a long job\'s wait, and gives every job its lone result', async () => {
    const denoiser = new SharedDenoiser(standInSession, SIGNATURE, ITEM, 'UNet', { maxRows: 6, maxWaitRounds: 1 });
    const records: SharedCallRecord[] = [];
    denoiser.onCall = (record) => records.push(record);
    const finished: string[] = [];
    const jobs = { long: [4, 12, 1], short: [2, 3, 2], medium: [2, 6, 3] } as const;
    const seated = Object.entries(jobs).map(([name, [rows, steps, c]]) => [name, seatJob(denoiser, rows, steps, c)] as const);
    const results = await Promise.all(
      seated.map(async ([name, job]) => {
        const out = await job.run();
        finished.push(name);
        return [name, out] as const;
      }),
    );
    for (const [name, out] of results) {
      const [rows, steps, c] = jobs[name as keyof typeof jobs];
      expect(out, name).toEqual(alone(rows, steps, c));
    }
    // the 4-row long job cannot ride with both 2-row jobs (8 > 6): they go first, it waits
    expect(records[0]).toMatchObject({ seatRows: [2, 2], waitingRows: 4 });
    expect(finished).toEqual(['short', 'medium', 'long']);
    expect(records.every((r) => r.seatRows.reduce((a, b) => a + b, 0) <= 6)).toBe(true);
    // never left out of more than one round of calls in a row (8 rows at a cap of 6: 2 calls)
    let run = 0;
    for (const r of records) {
      run = r.seatRows.includes(4) ? 0 : run + 1;
      expect(run).toBeLessThanOrEqual(2);
    }
    expect(records.filter((r) => r.seatRows.includes(4))).toHaveLength(12);
  });

  it('without a cap calls every seat every step, as before', async () => {
    const denoiser = new SharedDenoiser(standInSession, SIGNATURE, ITEM, 'UNet');
    const records: SharedCallRecord[] = [];
    denoiser.onCall = (record) => records.push(record);
    const jobs = [seatJob(denoiser, 4, 5, 1), seatJob(denoiser, 2, 3, 2)];
    const [a, b] = await Promise.all(jobs.map((job) => job.run()));
    expect(a).toEqual(alone(4, 5, 1));
    expect(b).toEqual(alone(2, 3, 2));
    expect(records.map((r) => r.seatRows)).toEqual([[4, 2], [4, 2], [4, 2], [4], [4]]);
    expect(records.every((r) => r.waitingRows === 0)).toBe(true);
  });

  it('takes a canceled job\'s waiting rows out at once: its run rejects, and the next call does not wait for it', async () => {
    // each call takes 5 ms, so the long job is still waiting when it is canceled
    const slowSession = { run: async (feeds: Record<string, Tensor>) => (await new Promise((r) => setTimeout(r, 5)), standInSession.run(feeds)) } as unknown as InferenceSession;
    const denoiser = new SharedDenoiser(slowSession, SIGNATURE, ITEM, 'UNet', { maxRows: 2, maxWaitRounds: 4 });
    const records: SharedCallRecord[] = [];
    denoiser.onCall = (record) => records.push(record);
    const cancel = new AbortController();
    const long = denoiser.join(2, { condition: { data: new Float32Array(2).fill(9), itemShape: [1] } }, cancel.signal);
    const short = seatJob(denoiser, 2, 3, 1);
    // the long job (50 steps left) waits while the short one (3 left) rides
    const waiting = long.run(new Float32Array(4), 50, 50);
    const shortRun = short.run();
    await new Promise((resolve) => setImmediate(resolve));
    cancel.abort('canceled by its owner');
    await expect(waiting).rejects.toMatchObject({ code: 'SAMPLING_ABORTED' });
    expect(await shortRun).toEqual(alone(2, 3, 1));
    expect(records.every((r) => r.seatRows.length === 1)).toBe(true);
    expect(denoiser.size).toBe(0);
    // canceled after it left: nothing happens
    long.leave();
  });

  it('refuses a cap that is not a whole number >= 1, and with a cap of one seat\'s rows calls one seat at a time', async () => {
    expect(() => new SharedDenoiser(standInSession, SIGNATURE, ITEM, 'UNet', { maxRows: 0, maxWaitRounds: 2 })).toThrow(/maxRows/);
    expect(() => new SharedDenoiser(standInSession, SIGNATURE, ITEM, 'UNet', { maxRows: 4, maxWaitRounds: 0 })).toThrow(/maxWaitRounds/);
    const denoiser = new SharedDenoiser(standInSession, SIGNATURE, ITEM, 'UNet', { maxRows: 2, maxWaitRounds: 8 });
    const records: SharedCallRecord[] = [];
    denoiser.onCall = (record) => records.push(record);
    const jobs = [seatJob(denoiser, 2, 2, 1), seatJob(denoiser, 2, 1, 2)];
    await Promise.all(jobs.map((job) => job.run()));
    expect(records.map((r) => r.seatRows.length)).toEqual([1, 1, 1]);
  });
});
