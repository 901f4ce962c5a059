import { z } from 'zod';
import { ERROR_CODES, JOB_STATUSES, parseOrThrow, type JobState, type JobStatus } from '@a2i/protocol';
import { ApiError } from './api-error.js';

/** Query of GET /v1/generations. */
export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: z.enum(JOB_STATUSES).optional(),
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

export function parseHistoryQuery(query: unknown): HistoryQuery {
  return parseOrThrow(historyQuerySchema, query);
}

/** A job in history order: newest first, ties (same ms) by the larger id first. */
export interface HistoryKey {
  id: string;
  createdAt: number;
}

export function newestFirst(a: HistoryKey, b: HistoryKey): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * The cursor names the last job of a page (its createdAt and id, base64url), so the next page
 * starts strictly after it in history order, whatever was created or expired meanwhile: no
 * job is listed twice and none that still exists is skipped.
 */
export function encodeCursor(key: HistoryKey): string {
  return Buffer.from(`${key.createdAt}.${key.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): HistoryKey {
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ApiError(ERROR_CODES.INVALID_REQUEST, 'Expected a cursor from an earlier page (nextCursor) but received something else');
  return { createdAt: Number(match[1]), id: match[2]! };
}

/**
 * One page of a history: `candidates` (any order) are sorted newest first, those after the
 * cursor read `load` in batches (null: the job has expired) until `limit` + 1 match `status`,
 * so `nextCursor` is null exactly when nothing more matches. `expired` lists the ids that were
 * gone, for the index to forget.
 */
export async function historyPage(
  candidates: readonly HistoryKey[],
  query: HistoryQuery,
  load: (ids: string[]) => Promise<Array<JobState | null>>,
): Promise<{ states: JobState[]; nextCursor: string | null; expired: string[] }> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const ordered = [...candidates].sort(newestFirst).filter((key) => after === undefined || newestFirst(after, key) < 0);
  const matches: JobState[] = [];
  const expired: string[] = [];
  const wanted = query.limit + 1;
  for (let start = 0; start < ordered.length && matches.length < wanted; start += wanted) {
    const batch = ordered.slice(start, start + wanted);
    const states = await load(batch.map((key) => key.id));
    for (const [i, state] of states.entries()) {
      if (state === null) expired.push(batch[i]!.id);
      else if (matchesStatus(state, query.status) && matches.length < wanted) matches.push(state);
    }
  }
  const states = matches.slice(0, query.limit);
  const last = states.at(-1);
  return { states, nextCursor: matches.length > query.limit && last ? encodeCursor(last) : null, expired };
}

function matchesStatus(state: JobState, status: JobStatus | undefined): boolean {
  return status === undefined || state.status === status;
}
