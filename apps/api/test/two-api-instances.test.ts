import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, connectSocket, postJson, readSse, recordSocketEvents, startStack, waitFor, type Stack } from './harness.js';

describe('two api instances on one Redis', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ apis: 2, env: { A2I_SYNTHETIC_STEP_MS: '15' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('fan out the same events to subscribers of either instance, and either can cancel', async () => {
    const [first, second] = stack.urls as [string, string];
    // long enough (60 x 15 ms) that both sockets join well before the end, even on a loaded machine
    const created = await postJson(`${first}/v1/generations`, { inputs: [{ modality: 'text', text: 'owl' }], steps: 60, previewEvery: 4 });
    const onFirst = connectSocket(first, { jobId: created.body.id, token: created.body.token });
    const onSecond = connectSocket(second, { jobId: created.body.id, token: created.body.token });
    const a = recordSocketEvents(onFirst);
    const b = recordSocketEvents(onSecond);
    const sse = readSse(`${second}${created.body.links.events}?token=${created.body.token}`);
    await waitFor(() => (a.some((e) => e.type === 'job:succeeded') && b.some((e) => e.type === 'job:succeeded')) || undefined, 'both succeeded');
    const sseEvents = await sse;
    // Every state change after both joined arrives at both, in the same order.
    const stateEvents = (events: typeof a) => events.filter((e) => e.type !== 'job:preview').map((e) => `${e.type}#${e.payload.seq}`);
    const joinedBoth = Math.max(a[0]!.payload.seq as number, b[0]!.payload.seq as number);
    const after = (events: string[]) => events.filter((e) => Number(e.split('#')[1]) > joinedBoth);
    expect(after(stateEvents(a))).toEqual(after(stateEvents(b)));
    expect(after(stateEvents(a)).length).toBeGreaterThan(3);
    expect(sseEvents.at(-1)!.type).toBe('job:succeeded');
    expect(b.some((e) => e.type === 'job:preview')).toBe(true);

    // The status, images and cancel work on the instance that did not take the job.
    const status = await fetch(`${second}/v1/generations/${created.body.id}?token=${created.body.token}`).then(json);
    expect(status.status).toBe('succeeded');
    expect((await fetch(`${second}${status.images[0].url}?token=${created.body.token}`)).status).toBe(200);
    const long = await postJson(`${first}/v1/generations`, { inputs: [{ modality: 'text', text: 'owl' }], steps: 200, previewEvery: 0 });
    const watcher = connectSocket(first, { jobId: long.body.id, token: long.body.token });
    const w = recordSocketEvents(watcher);
    await waitFor(() => w.some((e) => e.type === 'job:progress') || undefined, 'progress');
    const canceled = await fetch(`${second}${long.body.links.cancel}?token=${long.body.token}`, { method: 'POST' });
    expect((await json(canceled)).status).toBe('canceled');
    await waitFor(() => w.some((e) => e.type === 'job:canceled') || undefined, 'canceled on the other instance');
    for (const socket of [onFirst, onSecond, watcher]) socket.close();
  });
});
