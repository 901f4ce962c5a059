/**
 * The row limit of continuous batching's shared calls (shared-batch.ts): a call that throws with
 * several jobs in it is made again in parts, and a call the device could not hold while its parts
 * ran holds later calls to the largest part's rows (a GPU out of memory).
 */

/** A shared call that failed while its parts ran: the device holds no more than `limit` rows a call. */
export interface RowLimitRecord {
  /** Model rows a call may hold from now on (the largest part that ran). */
  limit: number;
  /** The rows of the call that failed, and why. */
  failedRows: number;
  error: string;
}

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
 */
export abstract class RowLimitedCall {
  private limit: number | null = null;
  /** Called when a failed call lowers the row limit (the worker logs it). */
  onRowLimit: ((record: RowLimitRecord) => void) | null = null;

  /** Model rows one call holds at most, or null: no limit (a seat or request with more runs alone). */
  get rowLimit(): number | null {
    return this.limit;
  }

  protected readonly partsRan = (failedRows: number, largestRun: number, error: unknown): void => {
    if (largestRun >= (this.limit ?? Infinity)) return;
    this.limit = largestRun;
    this.onRowLimit?.({ limit: largestRun, failedRows, error: error instanceof Error ? error.message : String(error) });
  };
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
