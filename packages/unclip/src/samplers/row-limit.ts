/**
 * The row limit of continuous batching's shared calls (shared-batch.ts): a call that throws with
 * several jobs in it is made again in parts, and a call the device could not hold while its parts
 * ran holds later calls to the largest part's rows (a GPU out of memory). The limit is tried
 * again now and then (a whole call once more): memory another process held may be free again.
 */

/** The row limit changed: lowered or raised after a call failed while its parts ran, or lifted after a whole call ran. */
export type RowLimitRecord =
  /** A call failed while its parts ran: the device holds no more than `limit` rows a call. */
  | { limit: number; failedRows: number; error: string }
  /** A call larger than the limit, tried again, ran whole: no limit from now on. */
  | { limit: null; ranRows: number };

/**
 * Calls split by a row limit before a whole call is tried again; doubled after each try that
 * fails, up to MAX_RETRY_AFTER_CALLS. A choice, not a measurement: on a full batch, one UNet step
 * is one call, so a device that stays short of memory pays one failed call in 200 steps at first,
 * one in 12,800 at most.
 */
export const FIRST_RETRY_AFTER_CALLS = 200;
const MAX_RETRY_AFTER_CALLS = 12_800;

/**
 * Runs `items` in one call (`runAll`). If that throws with several items, each half is run the
 * same way, and an item whose call of its own throws gets `failAlone`: an error that one item's
 * rows cause fails that item only. When a call failed and every part of it then ran, the whole was
 * too large for the device: `partsRan` hears its rows, the largest part's and the error.
 */
export async function runInParts<T>(
  items: readonly T[],
  rowsOf: (item: T) => number,
  runAll: (items: readonly T[]) => Promise<void>,
  failAlone: (item: T, error: unknown) => void,
  partsRan: (failedRows: number, largestRun: number, error: unknown) => void,
): Promise<{ largestRun: number; failedAlone: number }> {
  const rows = items.reduce((sum, item) => sum + rowsOf(item), 0);
  try {
    await runAll(items);
    return { largestRun: rows, failedAlone: 0 };
  } catch (error) {
    if (items.length === 1) {
      failAlone(items[0]!, error);
      return { largestRun: 0, failedAlone: 1 };
    }
    const half = Math.ceil(items.length / 2);
    const first = await runInParts(items.slice(0, half), rowsOf, runAll, failAlone, partsRan);
    const second = await runInParts(items.slice(half), rowsOf, runAll, failAlone, partsRan);
    const run = { largestRun: Math.max(first.largestRun, second.largestRun), failedAlone: first.failedAlone + second.failedAlone };
    if (run.failedAlone === 0) partsRan(rows, run.largestRun, error);
    return run;
  }
}

/**
 * The row limit of a shared model call: none until a call fails while its parts run (runInParts),
 * then the largest part's rows; the calls are then made in groups of at most that (rowGroups).
 * After `retryAfterCalls` calls that the limit split, one is tried whole again: if it runs, the
 * limit is lifted; if it fails and its parts run, the limit becomes the largest part (higher or
 * lower) and the next try waits twice as many calls.
 */
export abstract class RowLimitedCall {
  private limit: number | null = null;
  /** Called when the row limit changes (the worker logs it and shows it in its metrics). */
  onRowLimit: ((record: RowLimitRecord) => void) | null = null;
  /** Split calls before the first try of a whole call again (tests make it small). */
  retryAfterCalls = FIRST_RETRY_AFTER_CALLS;
  private splitCalls = 0;
  private retryWait: number | null = null;

  /** Model rows one call holds at most, or null: no limit (a seat or request with more runs alone). */
  get rowLimit(): number | null {
    return this.limit;
  }

  /**
   * Runs `items` in calls within the row limit (one call while there is none), each made again
   * in parts if it throws (runInParts), and now and then one call of all to try the limit again.
   */
  protected async runWithinRowLimit<T>(
    items: readonly T[],
    rowsOf: (item: T) => number,
    runAll: (items: readonly T[]) => Promise<void>,
    failAlone: (item: T, error: unknown) => void,
  ): Promise<void> {
    const rows = items.map(rowsOf);
    const total = rows.reduce((a, b) => a + b, 0);
    if (this.limit !== null && total > this.limit && ++this.splitCalls >= (this.retryWait ?? this.retryAfterCalls)) {
      this.splitCalls = 0;
      let partsRan: { failedRows: number; largestRun: number; error: unknown } | null = null;
      const run = await runInParts(items, rowsOf, runAll, failAlone, (failedRows, largestRun, error) => (partsRan = { failedRows, largestRun, error }));
      this.retried(total, run, partsRan);
      return;
    }
    for (const [from, to] of rowGroups(rows, this.limit)) await runInParts(items.slice(from, to), rowsOf, runAll, failAlone, this.partsRan);
  }

  private retried(total: number, run: { largestRun: number; failedAlone: number }, partsRan: { failedRows: number; largestRun: number; error: unknown } | null): void {
    if (run.failedAlone === 0 && run.largestRun === total) {
      this.limit = null;
      this.retryWait = null;
      this.onRowLimit?.({ limit: null, ranRows: total });
      return;
    }
    this.retryWait = Math.min(MAX_RETRY_AFTER_CALLS, 2 * (this.retryWait ?? this.retryAfterCalls));
    if (partsRan === null) return; // a job's own rows failed: the limit stands
    const { failedRows, largestRun, error } = partsRan;
    if (largestRun !== this.limit) this.setLimit(largestRun, failedRows, error);
  }

  /** A call failed while its parts ran (not a try): the limit only falls. */
  private readonly partsRan = (failedRows: number, largestRun: number, error: unknown): void => {
    if (largestRun >= (this.limit ?? Infinity)) return;
    this.splitCalls = 0;
    this.setLimit(largestRun, failedRows, error);
  };

  private setLimit(limit: number, failedRows: number, error: unknown): void {
    this.limit = limit;
    this.onRowLimit?.({ limit, failedRows, error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Consecutive groups [from, to) of seats with these rows, each of at most `limit` rows (a seat with
 * more runs alone); null: one group of all.
 */
export function rowGroups(seatRows: readonly number[], limit: number | null): Array<[number, number]> {
  if (seatRows.length === 0) return [];
  if (limit === null) return [[0, seatRows.length]];
  const groups: Array<[number, number]> = [];
  let from = 0;
  let rows = 0;
  for (const [i, r] of seatRows.entries()) {
    if (i > from && rows + r > limit) {
      groups.push([from, i]);
      from = i;
      rows = 0;
    }
    rows += r;
  }
  groups.push([from, seatRows.length]);
  return groups;
}
