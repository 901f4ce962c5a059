import { readFile } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3Server, type TestS3Server } from '../../../test/support/s3-server.js';
import { S3Store, S3_CALLS, createS3Client, readObject } from '../src/index.js';

/**
 * The contract with an S3-compatible provider: exactly which S3 API calls each ObjectStore
 * method sends (recorded from the SDK as they are answered), so an operator can check that a
 * provider supports them (README "Storage" lists the same calls; a presigned URL is a
 * GetObject the client sends itself). Run against a real S3-protocol server on loopback.
 */

/**
 * The S3 operations a client sent and got an answer to, in order (a middleware at the SDK's
 * deserialize step, which a presigned URL never reaches). Once per command: the retry middleware
 * sits above this step, so a call the SDK retried under load would show once per attempt; its
 * attempts share one context, counted once.
 */
export function recordS3Calls(client: S3Client): string[] {
  const calls: string[] = [];
  const counted = new WeakSet<object>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const answer = await next(args);
      if (!counted.has(context)) {
        counted.add(context);
        calls.push(String(context.commandName).replace(/Command$/, ''));
      }
      return answer;
    },
    { step: 'deserialize', name: 'a2iRecordS3Calls' },
  );
  return calls;
}

describe('the S3 calls of each store method', () => {
  let server: TestS3Server;
  let calls: string[];
  let store: S3Store;

  beforeAll(async () => {
    server = await startTestS3Server();
    const client = createS3Client({ endpoint: server.endpoint, credentials: server.credentials });
    calls = recordS3Calls(client);
    store = new S3Store(client, server.bucket, 'contract');
  });
  afterAll(() => server.close());

  /** The calls `run` made. */
  async function callsOf(run: () => Promise<unknown>): Promise<string[]> {
    calls.length = 0;
    await run();
    return [...calls];
  }

  it('sends one documented call per method (deletePrefix: a listing, then one DeleteObject per key)', async () => {
    const table: Array<[string, () => Promise<unknown>, string[]]> = [
      ['check', () => store.check(), ['HeadBucket']],
      ['put', () => store.put('job/0.png', Buffer.from('png')), ['PutObject']],
      ['put (again)', () => store.put('job/1.png', Buffer.from('png')), ['PutObject']],
      ['get', () => readObject(store, 'job/0.png'), ['GetObject']],
      ['get (missing)', () => store.get('job/9.png'), ['GetObject']],
      ['head', () => store.head('job/0.png'), ['HeadObject']],
      ['list', async () => { for await (const _ of store.list('job/')); }, ['ListObjectsV2']],
      ['topLevel', () => store.topLevel(), ['ListObjectsV2']],
      ['delete', () => store.delete('job/1.png'), ['DeleteObject']],
      ['deletePrefix', () => store.deletePrefix('job/'), ['ListObjectsV2', 'DeleteObject']],
      ['presignGet', () => store.presignGet('job/0.png', { expiresInSeconds: 60 }), []],
    ];
    const used = new Set<string>();
    for (const [method, run, expected] of table) {
      const sent = await callsOf(run);
      expect({ method, sent }).toEqual({ method, sent: expected });
      for (const call of sent) used.add(call);
    }
    // the list the README gives (S3_CALLS) is exactly what the methods send
    expect([...used].sort()).toEqual([...S3_CALLS].sort());
  });

  it('pages through more than one listing (ListObjectsV2 continuation) and deletes every key', async () => {
    const count = 1005;
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => store.put(`many/${String(i + j).padStart(4, '0')}`, Buffer.from('x'))));
    }
    const sent = await callsOf(async () => {
      let seen = 0;
      for await (const _ of store.list('many/')) seen++;
      expect(seen).toBe(count);
    });
    expect(sent).toEqual(['ListObjectsV2', 'ListObjectsV2']);
    const deleting = await callsOf(() => store.deletePrefix('many/'));
    expect(deleting.filter((call) => call === 'DeleteObject')).toHaveLength(count);
    expect(deleting.filter((call) => call === 'ListObjectsV2')).toHaveLength(2);
    expect(await store.topLevel()).toEqual([]);
  }, 60_000);

  it('is the list the README documents', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Storage'));
    for (const call of S3_CALLS) expect({ call, documented: section.includes(`\`${call}\``) }).toEqual({ call, documented: true });
  });
});
