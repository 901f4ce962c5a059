import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { UnclipError } from '../unclip-error.js';
import { firstNonFinite, type DenoiserSignature, type TimestepType } from './onnx-io.js';
import { EVERY_SEAT, checkSharedCallPolicy, seatsForCall, type SharedCallPolicy } from './call-selection.js';
import { samplingAborted } from './denoise-loop.js';
import { RowLimitedCall } from './row-limit.js';

/**
 * Continuous batching (issue #15): one model call per denoising step shared by every job the
 * pipeline holds at that stage. A job takes a seat when its loop starts (`join`), hands in its
 * rows once per step (`seat.run`), and gives the seat up when it ends, fails or is canceled
 * (`seat.leave`). The shared call runs as soon as every seated job has handed in its rows: a job
 * that joins waits at most for the step in flight, and nobody waits for a job that is not there.
 * Each job keeps its own scheduler, noise, guidance and step count (denoise-loop.ts); here only
 * its rows travel, with ITS timestep on each of them (the graph's timestep input is [batch]).
 * Rows are laid out seat after seat in joining order, each seat's rows as the job made them
 * ([uncond; cond] when guided), and each job gets back exactly its rows of the output. With a row
 * cap (SharedCallPolicy, call-selection.ts) a call takes the seats with the fewest steps left up
 * to the cap, and the others keep their rows for the next call.
 */

/** A tensor input that stays the same for a seat's whole run (condition, class labels, prompt states), [rows, ...item]. */
export interface SeatConstant {
  data: Float32Array;
  /** One row's shape. */
  itemShape: readonly number[];
}

interface Pending {
  sample: Float32Array;
  timestep: number;
  /** Steps the seat's job has left, this one included (Infinity: not told). */
  stepsLeft: number;
  resolve(output: Float32Array): void;
  reject(error: unknown): void;
}

/** One job's place in a SharedDenoiser. */
export interface DenoiserSeat {
  /**
   * Runs this job's rows at timestep t in a shared call (the next, unless a row cap leaves it for a
   * later one); resolves with its rows of the output. `stepsLeft` (this one included) orders the
   * seats under a row cap: fewest first.
   */
  run(sample: Float32Array, timestep: number, stepsLeft?: number): Promise<Float32Array>;
  /** Leaves the batch (idempotent): the others' next call no longer waits for this job. */
  leave(): void;
}

class Seat implements DenoiserSeat {
  pending: Pending | null = null;
  left = false;
  /** Calls in a row this seat was left out of (a row cap). */
  passedOver = 0;

  constructor(
    private readonly owner: SharedDenoiser,
    readonly rows: number,
    readonly constants: Readonly<Record<string, SeatConstant>>,
    private readonly signal: AbortSignal | undefined,
  ) {
    // canceled while its rows wait for a call (a row cap left them out): out at once, not when they would have ridden
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => {
    const waiting = this.pending;
    this.pending = null;
    this.leave();
    waiting?.reject(samplingAborted('Sampling was cancelled while its rows waited for a shared call', this.signal?.reason));
  };

  run(sample: Float32Array, timestep: number, stepsLeft = Infinity): Promise<Float32Array> {
    if (this.left) return Promise.reject(new UnclipError('INVALID_OPTION', 'This seat has left its shared batch'));
    if (this.pending) return Promise.reject(new UnclipError('INVALID_OPTION', 'A seat runs one step at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { sample, timestep, stepsLeft, resolve, reject };
      this.owner.maybeFlush();
    });
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.owner.remove(this);
  }
}

/** What one shared call was made of: for measurements and tests. */
export interface SharedCallRecord {
  /** Model rows of each seat in the call, in order. */
  seatRows: number[];
  /** Model rows of the seats waiting with their rows that a row cap left for a later call. */
  waitingRows: number;
  /** Timestep of each seat's rows. */
  timesteps: number[];
  /** performance.now() when the call began (the step period is the time between two calls' starts). */
  startedAt: number;
  /** Milliseconds inside session.run, and of the whole call (feeds, run, split, checks). */
  runMs: number;
  totalMs: number;
}

/**
 * A denoising model (the prior, the UNet) shared by the jobs at its stage. `constantNames` are
 * the inputs besides sample and timestep, each fed from the seats' constants.
 */
export class SharedDenoiser extends RowLimitedCall {
  private seats: Seat[] = [];
  private inFlight = false;
  /** The seats' constants concatenated, per group of seats called together, rebuilt only when the seating changes. */
  private constantCache: Array<{ seats: Seat[]; feeds: Record<string, Tensor> }> = [];
  /** Called after every shared call (bench, tests, the worker's metrics). */
  onCall: ((record: SharedCallRecord) => void) | null = null;
  /** How a call is filled: every seat (the default), or up to a row cap, fewest steps left first. */
  readonly policy: SharedCallPolicy;

  constructor(
    private readonly session: InferenceSession,
    private readonly signature: DenoiserSignature,
    /** One row's shape of the sample input. */
    private readonly itemShape: readonly number[],
    private readonly what: string,
    policy: SharedCallPolicy = EVERY_SEAT,
  ) {
    super();
    this.policy = checkSharedCallPolicy(policy);
  }

  /** Seats in the batch now. */
  get size(): number {
    return this.seats.length;
  }

  /**
   * A seat for `rows` model rows whose constant inputs are `constants` ([rows, ...item] each).
   * When `signal` aborts while the seat's rows wait for a call, they are taken out and its run
   * rejects (SAMPLING_ABORTED); rows already in a call finish it.
   */
  join(rows: number, constants: Record<string, SeatConstant>, signal?: AbortSignal): DenoiserSeat {
    for (const [name, constant] of Object.entries(constants)) {
      const itemLength = constant.itemShape.reduce((a, b) => a * b, 1);
      if (constant.data.length !== rows * itemLength) {
        throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected ${rows * itemLength} values for the ${this.what} input "${name}" but received ${constant.data.length}`);
      }
    }
    const seat = new Seat(this, rows, constants, signal);
    this.seats.push(seat);
    return seat;
  }

  /** @internal a seat left */
  remove(seat: Seat): void {
    this.seats = this.seats.filter((s) => s !== seat);
    this.maybeFlush();
  }

  /** @internal runs the shared call once every seat has handed in its rows and none is in flight. */
  maybeFlush(): void {
    if (this.inFlight || this.seats.length === 0 || this.seats.some((s) => !s.pending)) return;
    const chosen = new Set(seatsForCall(this.seats.map((s) => ({ rows: s.rows, stepsLeft: s.pending!.stepsLeft, passedOver: s.passedOver })), this.policy));
    const seats = this.seats.filter((_, i) => chosen.has(i));
    let waitingRows = 0;
    for (const [i, s] of this.seats.entries()) {
      if (chosen.has(i)) {
        s.passedOver = 0;
        continue;
      }
      s.passedOver++;
      waitingRows += s.rows;
    }
    const pending = seats.map((s) => s.pending!);
    for (const s of seats) s.pending = null;
    this.inFlight = true;
    this.runWithinLimit(seats, pending, waitingRows)
      .then(
        (outputs) => pending.forEach((p, i) => (outputs[i] instanceof Error ? p.reject(outputs[i]) : p.resolve(outputs[i] as Float32Array))),
        (error: unknown) => pending.forEach((p) => p.reject(error)),
      )
      .finally(() => {
        this.inFlight = false;
        // a seat that joined during the call may be the only one left waiting
        this.maybeFlush();
      });
  }

  /**
   * Every seat's rows, in calls of at most rowLimit rows (one call while there is none); a call
   * that throws is made again in parts (runInParts): a device out of memory lowers the limit, a
   * seat whose own rows fail gets its error and the others their rows.
   */
  private async runWithinLimit(seats: Seat[], pending: Pending[], waitingRows: number): Promise<Array<Float32Array | Error>> {
    const parts = seats.map((seat, i) => ({ seat, pending: pending[i]! }));
    const outputs = new Map<(typeof parts)[number], Float32Array | Error>();
    await this.runWithinRowLimit(
      parts,
      (part) => part.seat.rows,
      async (group) => {
        const out = await this.call(group.map((g) => g.seat), group.map((g) => g.pending), waitingRows);
        group.forEach((g, i) => outputs.set(g, out[i]!));
      },
      (part, error) => outputs.set(part, error instanceof Error ? error : new Error(String(error))),
    );
    return parts.map((part) => outputs.get(part)!);
  }

  private async call(seats: Seat[], pending: Pending[], waitingRows: number): Promise<Array<Float32Array | Error>> {
    const started = performance.now();
    const itemLength = this.itemShape.reduce((a, b) => a * b, 1);
    const rows = seats.reduce((sum, s) => sum + s.rows, 0);
    // 1. the samples, seat after seat; each seat's timestep on each of its rows
    const sample = new Float32Array(rows * itemLength);
    const timesteps: number[] = [];
    let row = 0;
    for (const [i, seat] of seats.entries()) {
      const p = pending[i]!;
      if (p.sample.length !== seat.rows * itemLength) {
        throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected ${seat.rows * itemLength} sample values from a seat of the ${this.what} batch but received ${p.sample.length}`);
      }
      sample.set(p.sample, row * itemLength);
      for (let r = 0; r < seat.rows; r++) timesteps.push(p.timestep);
      row += seat.rows;
    }
    const feeds: Record<string, Tensor> = {
      ...this.constantFeeds(seats, rows),
      [this.signature.inputs.sample]: new Tensor('float32', sample, [rows, ...this.itemShape]),
      [this.signature.inputs.timestep]: rowTimestepTensor(this.signature.timestepType, timesteps, this.what),
    };
    // 2. one model call for every seat
    const runStarted = performance.now();
    const results = await this.session.run(feeds, [this.signature.output]);
    const runMs = performance.now() - runStarted;
    const tensor = results[this.signature.output];
    if (!tensor || tensor.type !== 'float32' || tensor.data.length !== rows * itemLength) {
      throw new UnclipError('MODEL_OUTPUT_INVALID', `Expected ${rows * itemLength} float32 values from the ${this.what} model's output "${this.signature.output}"`);
    }
    // 3. each seat's rows back, checked on their own: a non-finite row fails its job only
    const data = tensor.data as Float32Array;
    const outputs: Array<Float32Array | Error> = [];
    row = 0;
    for (const seat of seats) {
      const part = data.slice(row * itemLength, (row + seat.rows) * itemLength);
      const bad = firstNonFinite(part);
      outputs.push(
        bad < 0
          ? part
          : new UnclipError('MODEL_OUTPUT_INVALID', `The ${this.what} model's output "${this.signature.output}" has a non-finite value (${part[bad]} at index ${bad})`),
      );
      row += seat.rows;
    }
    this.onCall?.({ seatRows: seats.map((s) => s.rows), waitingRows, timesteps: pending.map((p) => p.timestep), startedAt: started, runMs, totalMs: performance.now() - started });
    return outputs;
  }

  private constantFeeds(seats: Seat[], rows: number): Record<string, Tensor> {
    const cached = this.constantCache.find((c) => c.seats.length === seats.length && c.seats.every((s, i) => s === seats[i]));
    if (cached) return cached.feeds;
    const feeds: Record<string, Tensor> = {};
    for (const name of Object.keys(seats[0]!.constants)) {
      const { itemShape } = seats[0]!.constants[name]!;
      const itemLength = itemShape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(rows * itemLength);
      let row = 0;
      for (const seat of seats) {
        const constant = seat.constants[name];
        if (!constant) throw new UnclipError('TENSOR_SIZE_MISMATCH', `A seat of the ${this.what} batch has no "${name}" input`);
        data.set(constant.data, row * itemLength);
        row += seat.rows;
      }
      feeds[name] = new Tensor('float32', data, [rows, ...itemShape]);
    }
    // one entry per group called together (one when no row limit is in force); a new seating replaces them
    if (this.constantCache.some((c) => c.seats.some((s) => !this.seats.includes(s)))) this.constantCache = [];
    this.constantCache.push({ seats, feeds });
    const groups = this.rowLimit === null && this.policy.maxRows === null ? 1 : MAX_CACHED_GROUPS;
    if (this.constantCache.length > groups) this.constantCache.shift();
    return feeds;
  }
}

/** Groups of constant feeds kept (a limited or capped batch runs a few groups a step). */
const MAX_CACHED_GROUPS = 8;

/** One timestep per row [rows], in the model's element type. */
export function rowTimestepTensor(type: TimestepType, timesteps: readonly number[], what: string): Tensor {
  if (type === 'float32') return new Tensor('float32', Float32Array.from(timesteps), [timesteps.length]);
  const values = new BigInt64Array(timesteps.length);
  for (const [i, t] of timesteps.entries()) {
    if (!Number.isInteger(t)) {
      throw new UnclipError(
        'TIMESTEP_NOT_INTEGER',
        `The ${what} model takes int64 timesteps but the scheduler gave ${t}; use a spacing with integer timesteps ("leading" or "trailing") or another scheduler`,
      );
    }
    values[i] = BigInt(t);
  }
  return new Tensor('int64', values, [timesteps.length]);
}

/** One request of a SharedTurnCall: its rows' input, and where their output goes. */
interface TurnRequest {
  input: Float32Array;
  rows: number;
  resolve(output: Float32Array): void;
  reject(error: unknown): void;
}

/**
 * A model call without a step loop (the VAE decode) shared by the jobs that reach it in the same
 * turn of the event loop: jobs that finish their last step in the same shared step decode in one
 * call. `run` gets every request's rows concatenated and returns the concatenated output. A call
 * that throws is made again in parts as SharedDenoiser's are (runInParts, rowLimit).
 */
export class SharedTurnCall extends RowLimitedCall {
  private queue: TurnRequest[] = [];
  private scheduled = false;

  constructor(
    private readonly inputRowLength: number,
    private readonly outputRowLength: number,
    private readonly run: (input: Float32Array, rows: number) => Promise<Float32Array>,
  ) {
    super();
  }

  call(input: Float32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, rows, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    await this.runWithinRowLimit(batch, (b) => b.rows, (group) => this.runRequests(group), (b, error) => b.reject(error));
  }

  /** One call for `group`: their inputs concatenated, each answered with its rows of the output. */
  private async runRequests(group: readonly TurnRequest[]): Promise<void> {
    const rows = group.reduce((sum, b) => sum + b.rows, 0);
    const input = new Float32Array(rows * this.inputRowLength);
    let row = 0;
    for (const b of group) {
      input.set(b.input, row * this.inputRowLength);
      row += b.rows;
    }
    const output = await this.run(input, rows);
    let at = 0;
    for (const b of group) {
      b.resolve(output.slice(at * this.outputRowLength, (at + b.rows) * this.outputRowLength));
      at += b.rows;
    }
  }
}
