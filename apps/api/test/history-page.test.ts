import { describe, expect, it } from 'vitest';
import type { JobState, JobStatus } from '@a2i/protocol';
import { decodeCursor, encodeCursor, historyPage, parseHistoryQuery, type HistoryKey } from '../src/history-page.js';

function state(key: HistoryKey, status: JobStatus): JobState {
  return { ...key, status, seq: 1, updatedAt: key.createdAt, tokenHash: '', owner: '', seed: 0, numImages: 1, format: 'png', attempt: 0 };
}

/** 12 jobs, four to a millisecond (ties), every third one failed. */
const KEYS: HistoryKey[] = Array.from({ length: 12 }, (_, i) => ({ id: `job${String.fromCharCode(97 + ((i * 5) % 12))}`, createdAt: 1000 + Math.floor(i / 4) }));
const STATES = new Map(KEYS.map((key, i) => [key.id, state(key, i % 3 === 0 ? 'failed' : 'succeeded')]));

async function walk(query: Record<string, string>, gone: ReadonlySet<string> = new Set()) {
  const ids: string[] = [];
  let cursor: string | null = null;
  let loads = 0;
  do {
    const page = await historyPage(KEYS, parseHistoryQuery({ ...query, ...(cursor ? { cursor } : {}) }), async (batch) => {
      loads += batch.length;
      return batch.map((id) => (gone.has(id) ? null : STATES.get(id)!));
    });
    ids.push(...page.states.map((s) => s.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { ids, loads };
}

describe('history pages', () => {
  it('orders newest first (same millisecond: larger id first) and pages without duplicates or gaps', async () => {
    const expected = [...KEYS].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id)).map((key) => key.id);
    for (const limit of ['1', '3', '5', '12', '100']) expect((await walk({ limit })).ids).toEqual(expected);
  });

  it('filters by status across pages, and skips jobs that are gone', async () => {
    const failed = (await walk({ limit: '2', status: 'failed' })).ids;
    expect(failed).toHaveLength(4);
    expect(failed.every((id) => STATES.get(id)!.status === 'failed')).toBe(true);
    const gone = new Set([failed[0]!]);
    expect((await walk({ limit: '2', status: 'failed' }, gone)).ids).toEqual(failed.slice(1));
  });

  it('reads only about one page ahead, and refuses cursors it did not make', async () => {
    expect((await historyPage(KEYS, parseHistoryQuery({ limit: '2' }), async (ids) => ids.map((id) => STATES.get(id)!))).states).toHaveLength(2);
    expect((await walk({ limit: '4' })).loads).toBeLessThanOrEqual(12 + 3 * 5);
    expect(decodeCursor(encodeCursor({ id: 'abc', createdAt: 42 }))).toEqual({ id: 'abc', createdAt: 42 });
    expect(() => decodeCursor('garbage!')).toThrow(/cursor/);
    expect(() => parseHistoryQuery({ limit: '0' })).toThrow();
    expect(parseHistoryQuery({}).limit).toBe(20);
  });
});
