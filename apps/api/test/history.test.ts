import { describe, expect, it } from 'vitest';
import { generationStatusSchema } from '@a2i/protocol';
import { postJson, send, useStack, waitFor, withTwoKeyApp } from './harness.js';

const QUICK = { inputs: [{ modality: 'text', text: 'a bell' }], steps: 1, previewEvery: 0 };
/** Long enough (200 steps) to be canceled before it finishes. */
const SLOW = { inputs: [{ modality: 'text', text: 'a long bell' }], steps: 200, previewEvery: 0 };

type Entry = { id: string; status: string; createdAt: number; links: { self: string } };

/** Every page of a history, following nextCursor; the ids of each page. */
async function allPages(url: string, query: string, headers: Record<string, string>): Promise<{ pages: string[][]; entries: Entry[] }> {
  const pages: string[][] = [];
  const entries: Entry[] = [];
  let cursor: string | null = null;
  do {
    const answer = await send(`${url}/v1/generations?${query}${cursor ? `&cursor=${cursor}` : ''}`, 'GET', undefined, headers);
    expect(answer.status).toBe(200);
    pages.push(answer.body.data.map((entry: Entry) => entry.id));
    entries.push(...answer.body.data);
    cursor = answer.body.nextCursor;
  } while (cursor !== null && pages.length < 20);
  return { pages, entries };
}

function expectNewestFirst(entries: Entry[]) {
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!, entries[i]!];
    expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
  }
}

describe('GET /v1/generations (history)', () => {
  const run = useStack();

  it('with API keys: each key sees only its own jobs, newest first, in pages without duplicates or gaps', async () => {
    await withTwoKeyApp(run.stack, async ({ url, one, two }) => {
      const mine: string[] = [];
      for (let i = 0; i < 25; i++) mine.push((await postJson(`${url}/v1/generations`, QUICK, one)).body.id);
      const theirs: string[] = [];
      for (let i = 0; i < 3; i++) theirs.push((await postJson(`${url}/v1/generations`, QUICK, two)).body.id);

      const { pages, entries } = await allPages(url, 'limit=10', one);
      expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
      expect(new Set(entries.map((entry) => entry.id)).size).toBe(25);
      expect([...entries.map((entry) => entry.id)].sort()).toEqual([...mine].sort());
      expectNewestFirst(entries);
      // each entry is a status object, as GET /v1/generations/:id answers it
      for (const entry of entries) expect(generationStatusSchema.safeParse(entry).success).toBe(true);

      const second = await send(`${url}/v1/generations`, 'GET', undefined, two);
      expect(second.body.data.map((entry: Entry) => entry.id).sort()).toEqual([...theirs].sort());
      expect(second.body.nextCursor).toBeNull();
      expect(new Set(entries.map((entry) => entry.id)).has(theirs[0]!)).toBe(false);

      expect((await send(`${url}/v1/generations`, 'GET')).status).toBe(401);
      expect((await send(`${url}/v1/generations?limit=0`, 'GET', undefined, one)).status).toBe(400);
      expect((await send(`${url}/v1/generations?limit=101`, 'GET', undefined, one)).status).toBe(400);
      expect((await send(`${url}/v1/generations?status=lost`, 'GET', undefined, one)).status).toBe(400);
      const badCursor = await send(`${url}/v1/generations?cursor=bm90LWEtY3Vyc29y`, 'GET', undefined, one);
      expect([badCursor.status, badCursor.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    });
  });

  it('with API keys: the status filter pages the same way, and an expired job leaves the index when read', async () => {
    await withTwoKeyApp(run.stack, async ({ url, one }) => {
      // key one already has 25 jobs from the test before; they all finish
      await waitFor(async () => {
        const { entries } = await allPages(url, 'limit=100', one);
        return entries.every((entry) => entry.status === 'succeeded') || undefined;
      }, 'the earlier jobs to succeed');
      const slow = [];
      for (let i = 0; i < 3; i++) slow.push(await postJson(`${url}/v1/generations`, SLOW, one));
      for (const created of slow) expect((await send(`${url}/v1/generations/${created.body.id}/cancel`, 'POST', undefined, one)).status).toBe(200);

      const canceled = await allPages(url, 'status=canceled&limit=2', one);
      expect(canceled.pages.map((page) => page.length)).toEqual([2, 1]);
      expect(canceled.entries.map((entry) => entry.id).sort()).toEqual(slow.map((created) => created.body.id).sort());
      expect(canceled.entries.every((entry) => entry.status === 'canceled')).toBe(true);
      expectNewestFirst(canceled.entries);
      const succeeded = await allPages(url, 'status=succeeded&limit=7', one);
      expect(succeeded.pages.map((page) => page.length)).toEqual([7, 7, 7, 4]);
      expectNewestFirst(succeeded.entries);

      // the newest succeeded job's state expires: it is left out, and its id leaves the index
      const gone = succeeded.entries[0]!.id;
      await run.probe.redis.del(run.probe.layout.jobKey(gone));
      const after = await allPages(url, 'status=succeeded&limit=100', one);
      expect(after.entries.map((entry) => entry.id)).toEqual(succeeded.entries.slice(1).map((entry) => entry.id));
      const owners = await run.probe.redis.keys(`${run.probe.layout.prefix}:owner-jobs:*`);
      expect(owners).toHaveLength(2);
      const scores = await Promise.all(owners.map((key) => run.probe.redis.zscore(key, gone)));
      expect(scores).toEqual([null, null]);
    });
  });

  it('without API keys: the jobs whose tokens the client presents in X-Job-Tokens, same order and pages', async () => {
    const created: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < 4; i++) created.push((await postJson(`${run.url}/v1/generations`, QUICK)).body);
    const other = (await postJson(`${run.url}/v1/generations`, QUICK)).body;
    const header = [...created.map((job) => `${job.id}.${job.token}`), `${other.id}.${created[0]!.token}`].join(', ');

    const { pages, entries } = await allPages(run.url, 'limit=3', { 'x-job-tokens': header });
    expect(pages.map((page) => page.length)).toEqual([3, 1]);
    expect(entries.map((entry) => entry.id).sort()).toEqual(created.map((job) => job.id).sort());
    expect(entries.some((entry) => entry.id === other.id)).toBe(false); // a wrong token shows nothing
    expectNewestFirst(entries);

    const none = await send(`${run.url}/v1/generations`, 'GET');
    expect([none.status, none.body]).toEqual([200, { data: [], nextCursor: null }]);
    const tooMany = Array.from({ length: 101 }, () => `${created[0]!.id}.${created[0]!.token}`).join(',');
    const refused = await send(`${run.url}/v1/generations`, 'GET', undefined, { 'x-job-tokens': tooMany });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'LIMIT_EXCEEDED']);
    const malformed = await send(`${run.url}/v1/generations`, 'GET', undefined, { 'x-job-tokens': 'no-dot-here' });
    expect(malformed.status).toBe(400);
  });
});
