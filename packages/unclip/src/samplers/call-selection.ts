/**
 * Which seats of a shared denoiser ride in its next call (issue #15, short jobs' latency).
 *
 * Past the batch-size curve's knee a model row costs no less in a larger call, so a call of every
 * seat only makes each seat's step slower: a 10-step job that shares its steps with 60 rows of
 * 100-step jobs waits for all 60 rows every step. With a row cap the call is filled with the seats
 * that have the fewest steps left (shortest remaining work first, as SRPT scheduling), so short
 * jobs finish at close to their lone speed, while the device still runs calls at the knee, where a
 * row costs what it costs in a full call. A seat is never starved: once it has been left out of
 * as many calls in a row as `maxWaitRounds` rounds take (a round: the calls that every waiting
 * seat's rows need at the cap, as round-robin would run them), it goes first. Counting in rounds
 * keeps the bound meaningful whatever the cap and the rows in flight: in calls, a bound below one
 * round would put nearly every seat first and undo the ordering. Each row's output does not
 * depend on the rows beside it, so which seats ride together changes no image.
 */

/** How a shared denoiser fills a call. */
export interface SharedCallPolicy {
  /** Model rows per call at most; null: every seat in every call. A seat with more rows than this rides alone. */
  maxRows: number | null;
  /** Rounds a seat may be left out for; then it goes first (see above). */
  maxWaitRounds: number;
}

/** Every seat in every call (no cap). */
export const EVERY_SEAT: SharedCallPolicy = { maxRows: null, maxWaitRounds: 1 };

/** What the selection reads of a seat waiting with its rows. */
export interface WaitingSeat {
  /** Model rows the seat hands in per call. */
  rows: number;
  /** Denoising steps it has left, this one included (Infinity: unknown, after every known one). */
  stepsLeft: number;
  /** Calls in a row it was left out of. */
  passedOver: number;
}

/**
 * The seats (indices into `seats`, which is in joining order) of the next call, in joining order:
 * first those overdue (left out of at least maxWaitRounds x ceil(all waiting rows / maxRows)
 * calls in a row), then by fewest steps left, then by joining order; each taken while the call's
 * rows stay within `maxRows` (the first always, whatever its rows).
 */
export function seatsForCall(seats: readonly WaitingSeat[], policy: SharedCallPolicy): number[] {
  const { maxRows } = policy;
  if (maxRows === null) return seats.map((_, i) => i);
  const callsPerRound = Math.ceil(seats.reduce((sum, s) => sum + s.rows, 0) / maxRows);
  const dueAfter = Math.max(1, policy.maxWaitRounds * callsPerRound);
  const overdue = (s: WaitingSeat) => (s.passedOver >= dueAfter ? 0 : 1);
  const order = seats
    .map((_, i) => i)
    .sort((a, b) => overdue(seats[a]!) - overdue(seats[b]!) || seats[a]!.stepsLeft - seats[b]!.stepsLeft || a - b);
  const chosen: number[] = [];
  let rows = 0;
  for (const i of order) {
    const seat = seats[i]!;
    if (chosen.length > 0 && rows + seat.rows > maxRows) continue;
    chosen.push(i);
    rows += seat.rows;
  }
  return chosen.sort((a, b) => a - b);
}

/** The policy's values checked (a setting or an option). */
export function checkSharedCallPolicy(policy: SharedCallPolicy): SharedCallPolicy {
  if (policy.maxRows !== null && !(Number.isInteger(policy.maxRows) && policy.maxRows >= 1)) {
    throw new RangeError(`Expected a whole number >= 1 (or null) for the shared call's maxRows but received ${policy.maxRows}`);
  }
  if (!(Number.isInteger(policy.maxWaitRounds) && policy.maxWaitRounds >= 1)) {
    throw new RangeError(`Expected a whole number >= 1 for the shared call's maxWaitRounds but received ${policy.maxWaitRounds}`);
  }
  return policy;
}
