import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { SharedDenoiser, SharedTurnCall, type SharedCallRecord } from '../src/samplers/shared-batch.js';
import { rowGroups, type RowLimitRecord } from '../src/samplers/row-limit.js';

// A shared call too large for its device (a GPU out of memory) must not fail every job in it:
// SharedDenoiser runs the call again in halves, and once every part has run, holds its calls to
// the largest part's rows. The model here is a stand-in session (a unit test of that logic, no
// onnxruntime kernels): out = sample * 2 + timestep + condition, row by row, and it throws
// like onnxruntime's CUDA allocator when a call has more than `deviceRows` rows, or when a row's
// condition is the `poison` value (an error one job's rows cause).
const ITEM = [2];
const SIGNATURE = { inputs: { sample: 'sample', timestep: 'timestep' }, output: 'out', timestepType: 'float32' as const };
const POISON = -999;

function standInSession(deviceRows: number) {
  const calls: number[] = [];
  const device = { rows: deviceRows };
  const session = {
    async run(feeds: Record<string, Tensor>) {
      const sample = feeds.sample!.data as Float32Array;
      const timestep = feeds.timestep!.data as Float32Array;
      const condition = feeds.condition!.data as Float32Array;
      const rows = timestep.length;
      calls.push(rows);
      if (rows > device.rows) throw new Error(`Failed to allocate memory for requested buffer of size ${rows * 1_000_000}`);
      if (condition.includes(POISON)) throw new Error('Non-zero status code returned while running Conv node');
      const out = new Float32Array(sample.length);
      for (let i = 0; i < sample.length; i++) out[i] = sample[i]! * 2 + timestep[Math.floor(i / 2)]! + condition[Math.floor(i / 2)]!;
      return { out: new Tensor('float32', out, [rows, ...ITEM]) };
    },
  };
  return { session: session as unknown as InferenceSession, calls, device };
}

/** A job's seat with `rows` rows, condition `c` on each; runs one step at timestep t and returns its output. */
function seatOf(denoiser: SharedDenoiser, rows: number, c = 0) {
  const seat = denoiser.join(rows, { condition: { data: new Float32Array(rows).fill(c), itemShape: [1] } });
  return (t: number) => seat.run(Float32Array.from({ length: rows * 2 }, (_, i) => i + rows), t);
}
/** What a seat of `rows` rows with condition c gets back at timestep t, alone. */
const expected = (rows: number, t: number, c = 0) => Float32Array.from({ length: rows * 2 }, (_, i) => (i + rows) * 2 + t + c);

describe('SharedDenoiser: a call too large for the device', () => {
  it('is run again in halves, every job gets its own rows, and later calls hold at most the largest part that ran', async () => {
    const { session, calls } = standInSession(6);
    const denoiser = new SharedDenoiser(session, SIGNATURE, ITEM, 'UNet');
    const limits: RowLimitRecord[] = [];
    const records: SharedCallRecord[] = [];
    denoiser.onRowLimit = (record) => limits.push(record);
    denoiser.onCall = (record) => records.push(record);
    const seats = [2, 2, 2, 2, 2].map((rows) => seatOf(denoiser, rows));

    // 10 rows: fails; halves of 3 seats (6 rows) and 2 seats (4 rows) run
    const step1 = await Promise.all(seats.map((run, i) => run(10 + i)));
    step1.forEach((out, i) => expect(out).toEqual(expected(2, 10 + i)));
    expect(calls).toEqual([10, 6, 4]);
    expect(limits).toEqual([{ limit: 6, failedRows: 10, error: 'Failed to allocate memory for requested buffer of size 10000000' }]);
    expect(denoiser.rowLimit).toBe(6);

    // the next step is called in groups of at most 6 rows, with no failed call
    calls.length = 0;
    const step2 = await Promise.all(seats.map((run, i) => run(20 + i)));
    step2.forEach((out, i) => expect(out).toEqual(expected(2, 20 + i)));
    expect(calls).toEqual([6, 4]);
    expect(records.slice(-2).map((r) => r.seatRows)).toEqual([[2, 2, 2], [2, 2]]);
    expect(limits).toHaveLength(1);
  });

  it('fails only the job whose own rows make the model throw, and keeps no limit for it', async () => {
    const { session, calls } = standInSession(100);
    const denoiser = new SharedDenoiser(session, SIGNATURE, ITEM, 'UNet');
    const limits: RowLimitRecord[] = [];
    denoiser.onRowLimit = (record) => limits.push(record);
    const good = [seatOf(denoiser, 1), seatOf(denoiser, 3)];
    const bad = seatOf(denoiser, 2, POISON);
    const last = seatOf(denoiser, 1);
    const results = await Promise.allSettled([good[0]!(5), good[1]!(5), bad(5), last(5)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<Float32Array>).value).toEqual(expected(1, 5));
    expect((results[1] as PromiseFulfilledResult<Float32Array>).value).toEqual(expected(3, 5));
    expect((results[3] as PromiseFulfilledResult<Float32Array>).value).toEqual(expected(1, 5));
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain('Non-zero status code');
    // all 7 rows, then halves [1, 3] and [2, 1], then the poisoned half's seats alone
    expect(calls).toEqual([7, 4, 3, 2, 1]);
    expect(limits).toEqual([]);
    expect(denoiser.rowLimit).toBeNull();
  });

  it('runs a seat with more rows than the limit on its own, and fails it alone if even that does not fit', async () => {
    const { session } = standInSession(4);
    const denoiser = new SharedDenoiser(session, SIGNATURE, ITEM, 'UNet');
    const small = seatOf(denoiser, 2);
    const big = seatOf(denoiser, 6);
    const results = await Promise.allSettled([small(1), big(1)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: expected(2, 1) });
    expect(results[1]!.status).toBe('rejected');
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('Failed to allocate memory');
    // one seat failed alone: the failure is not taken for a size the device cannot hold
    expect(denoiser.rowLimit).toBeNull();
  });
});

describe('SharedDenoiser: the row limit tried again', () => {
  /** Runs `steps` shared steps of `seats`, each seat checked against its lone output; returns the calls each step made. */
  async function steps(seats: Array<(t: number) => Promise<Float32Array>>, rows: number[], count: number, calls: number[]): Promise<number[][]> {
    const made: number[][] = [];
    for (let step = 0; step < count; step++) {
      const before = calls.length;
      const outs = await Promise.all(seats.map((run, i) => run(step + i)));
      outs.forEach((out, i) => expect(out).toEqual(expected(rows[i]!, step + i)));
      made.push(calls.slice(before));
    }
    return made;
  }

  /** A denoiser on a stand-in device of `deviceRows` rows that tries a whole call after `retryAfterCalls` split ones, its limit changes heard, and one seat for each of `rows`. */
  function triedAgain(deviceRows: number, retryAfterCalls: number, rows: number[]) {
    const { session, calls, device } = standInSession(deviceRows);
    const denoiser = new SharedDenoiser(session, SIGNATURE, ITEM, 'UNet');
    denoiser.retryAfterCalls = retryAfterCalls;
    const limits: RowLimitRecord[] = [];
    denoiser.onRowLimit = (record) => limits.push(record);
    return { denoiser, calls, device, limits, seats: rows.map((r) => seatOf(denoiser, r)) };
  }

  it('tries a whole call after retryAfterCalls split calls, twice as many after a try that fails, and lifts the limit once one runs', async () => {
    const rows = [2, 2, 2, 2, 2];
    const { denoiser, calls, device, limits, seats } = triedAgain(6, 3, rows);
    // the first step learns the limit (10 fails, 6 + 4 run); then 2 split steps; the third split
    // call is a try of all 10 rows, which still fails and runs in parts: the limit stands
    expect(await steps(seats, rows, 4, calls)).toEqual([[10, 6, 4], [6, 4], [6, 4], [10, 6, 4]]);
    expect(limits).toEqual([{ limit: 6, failedRows: 10, error: 'Failed to allocate memory for requested buffer of size 10000000' }]);
    // the device has room again, but the next try waits twice as many split calls (6)
    device.rows = 100;
    expect(await steps(seats, rows, 7, calls)).toEqual([[6, 4], [6, 4], [6, 4], [6, 4], [6, 4], [10], [10]]);
    expect(limits.at(-1)).toEqual({ limit: null, ranRows: 10 });
    expect(denoiser.rowLimit).toBeNull();
  });

  it('raises the limit to the largest part when a tried whole call fails but larger parts than the limit run', async () => {
    const rows = [1, 1, 1, 1, 1, 1, 1, 1];
    const { denoiser, calls, device, limits, seats } = triedAgain(3, 1, rows);
    // 8 fails, 4 fails, 2 + 2 run (twice): a limit of 2
    expect(await steps(seats, rows, 1, calls)).toEqual([[8, 4, 2, 2, 4, 2, 2]]);
    expect(denoiser.rowLimit).toBe(2);
    device.rows = 5;
    // the next split call is a try: 8 fails, 4 + 4 run: the limit rises to 4, and holds the step after
    expect(await steps(seats, rows, 2, calls)).toEqual([[8, 4, 4], [4, 4]]);
    expect(limits.map((l) => l.limit)).toEqual([2, 4]);
    expect(denoiser.rowLimit).toBe(4);
  });
});

describe('SharedTurnCall (the VAE decode of jobs that end together): a call too large for the device', () => {
  /** A stand-in decode: each input value doubled, one value a row; throws above `deviceRows` rows or on a poisoned row. */
  function standInDecode(deviceRows: number) {
    const calls: number[] = [];
    const device = { rows: deviceRows };
    const run = async (input: Float32Array, rows: number) => {
      calls.push(rows);
      if (rows > device.rows) throw new Error('Failed to allocate memory');
      if (input.includes(POISON)) throw new Error('Non-zero status code');
      return input.map((v) => v * 2);
    };
    return { calls, device, turn: new SharedTurnCall(1, 1, run) };
  }

  it('decodes in halves, each job gets its own rows, and the next turn is called in groups within the limit', async () => {
    const { calls, device, turn } = standInDecode(3);
    const limits: RowLimitRecord[] = [];
    turn.onRowLimit = (record) => limits.push(record);
    const outputs = await Promise.all([1, 2, 1, 2].map((rows, i) => turn.call(new Float32Array(rows).fill(i + 1), rows)));
    expect(outputs).toEqual([[2], [4, 4], [6], [8, 8]].map((x) => Float32Array.from(x)));
    expect(calls).toEqual([6, 3, 3]);
    // the limit is learned once the last part has run, just after its requests are answered
    await new Promise((resolve) => setImmediate(resolve));
    expect(limits).toEqual([{ limit: 3, failedRows: 6, error: 'Failed to allocate memory' }]);
    calls.length = 0;
    await Promise.all([1, 2, 1, 2].map((rows) => turn.call(new Float32Array(rows), rows)));
    expect(calls).toEqual([3, 3]);
    expect(turn.rowLimit).toBe(3);
    // with room again, the next split turn is tried whole (retryAfterCalls 2: this turn's split is the second)
    turn.retryAfterCalls = 2;
    device.rows = 100;
    calls.length = 0;
    expect(await Promise.all([1, 2].map((rows) => turn.call(new Float32Array(rows).fill(5), rows)))).toEqual([[10], [10, 10]].map((x) => Float32Array.from(x)));
    await Promise.all([1, 2, 1, 2].map((rows) => turn.call(new Float32Array(rows), rows)));
    expect(calls).toEqual([3, 6]);
    await new Promise((resolve) => setImmediate(resolve)); // the change is made just after the call's requests are answered
    expect(turn.rowLimit).toBeNull();
    expect(limits.at(-1)).toEqual({ limit: null, ranRows: 6 });
  });

  it('fails only the job whose own rows make the decode throw, and keeps no limit', async () => {
    const { turn } = standInDecode(100);
    const results = await Promise.allSettled([turn.call(Float32Array.from([1]), 1), turn.call(Float32Array.from([POISON]), 1), turn.call(Float32Array.from([3]), 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<Float32Array>).value).toEqual(Float32Array.from([6]));
    expect(turn.rowLimit).toBeNull();
  });
});

describe('rowGroups', () => {
  it('groups consecutive seats up to the limit, a larger seat alone, all in one group without a limit', () => {
    expect(rowGroups([2, 2, 2, 2, 2], null)).toEqual([[0, 5]]);
    expect(rowGroups([2, 2, 2, 2, 2], 6)).toEqual([[0, 3], [3, 5]]);
    expect(rowGroups([1, 8, 1, 1], 4)).toEqual([[0, 1], [1, 2], [2, 4]]);
    expect(rowGroups([4, 4], 4)).toEqual([[0, 1], [1, 2]]);
    expect(rowGroups([], 4)).toEqual([]);
  });
});
