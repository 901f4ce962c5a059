import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { PRIORITY_KEY, REDIS_URL, connectSocket, json, postJson, readSse, recordSocketEvents, useStack, waitFor, type RecordedEvent, type TestSocket } from './harness.js';
import { shardChannels } from '../../../test/support/shard-channels.js';

/** What one api instance received from Redis pub/sub so far, from its /metrics. */
async function pubsubReceived(url: string): Promise<Record<'job' | 'queue-moved', { messages: number; bytes: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string, channel: string) => Number(new RegExp(`^${name}\\{channel="${channel}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const of = (channel: string) => ({ messages: read('a2i_pubsub_messages_received_total', channel), bytes: read('a2i_pubsub_bytes_received_total', channel) });
  return { job: of('job'), 'queue-moved': of('queue-moved') };
}

/** The guarantees a follower relies on, whichever instance it is on. */
function expectInOrder(events: RecordedEvent[]): void {
  expect(events[0]!.type).toBe('job:queued');
  expect(events.at(-1)!.type).toBe('job:succeeded');
  const seqs = events.map((e) => e.payload.seq as number);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  const stateSeqs = events.filter((e) => !['job:preview', 'job:queued'].includes(e.type)).map((e) => e.payload.seq as number);
  expect(new Set(stateSeqs).size).toBe(stateSeqs.length);
  const decode = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'decode').map((e) => e.payload.step as number);
  expect(decode.length).toBeGreaterThan(3);
  expect(decode).toEqual([...decode].sort((a, b) => a - b));
  expect(events.some((e) => e.type === 'job:preview')).toBe(true);
}

describe('job events delivered per job (three api instances, sharded pub/sub)', () => {
  const run = useStack({ apis: 3, env: { A2I_SYNTHETIC_STEP_MS: '10' } });

  it('an instance receives no message of a job none of its clients follow; followers on any instance get every event in order', async () => {
    const [first, second] = run.stack.urls as [string, string, string];
    // Paused, so every follower (and the reference counter below) is in place before the jobs make events.
    await run.probe.queue.pause();
    const request = (text: string) => ({ inputs: [{ modality: 'text', text }], steps: 24, previewEvery: 3 });
    const x = await postJson(`${first}/v1/generations`, request('owl'));
    const y = await postJson(`${second}/v1/generations`, request('lark'));
    // A plain client on both jobs' channels: every message either job's followers could get.
    const counter = new Redis(REDIS_URL);
    const published = new Map<string, { messages: number; bytes: number }>();
    counter.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const tally = published.get(channel.toString()) ?? { messages: 0, bytes: 0 };
      published.set(channel.toString(), { messages: tally.messages + 1, bytes: tally.bytes + channel.length + message.length });
    });
    await counter.ssubscribe(run.probe.layout.jobEventsChannel(x.body.id), run.probe.layout.jobEventsChannel(y.body.id));
    const before = await Promise.all(run.stack.urls.map(pubsubReceived));

    const onFirst = connectSocket(first, { jobId: x.body.id, token: x.body.token });
    const onSecond = connectSocket(second, { jobId: y.body.id, token: y.body.token });
    const a = recordSocketEvents(onFirst);
    const b = recordSocketEvents(onSecond);
    const sse = readSse(`${second}${y.body.links.events}?token=${y.body.token}`);
    await waitFor(() => (a.length > 0 && b.length > 0) || undefined, 'both snapshots');
    await run.probe.queue.resume();
    await waitFor(() => (a.some((e) => e.type === 'job:succeeded') && b.some((e) => e.type === 'job:succeeded')) || undefined, 'both succeeded');
    const sseEvents = await sse;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await Promise.all(run.stack.urls.map(pubsubReceived));
    const delta = (i: number, channel: 'job' | 'queue-moved') => ({
      messages: after[i]![channel].messages - before[i]![channel].messages,
      bytes: after[i]![channel].bytes - before[i]![channel].bytes,
    });

    // Each instance received its own job's messages, all of them, and nothing else.
    expect(delta(0, 'job')).toEqual(published.get(run.probe.layout.jobEventsChannel(x.body.id)));
    expect(delta(1, 'job')).toEqual(published.get(run.probe.layout.jobEventsChannel(y.body.id)));
    expect(delta(0, 'job').messages).toBeGreaterThan(20);
    // The third follows nothing: not one message, not even the queue's moves.
    expect(delta(2, 'job')).toEqual({ messages: 0, bytes: 0 });
    expect(delta(2, 'queue-moved')).toEqual({ messages: 0, bytes: 0 });
    expect(after[2]).toEqual(before[2]);
    for (const events of [a, b, sseEvents]) expectInOrder(events);
    for (const socket of [onFirst, onSecond]) socket.close();
    await counter.quit();
    // Finished jobs' channels are let go: none is left.
    await waitFor(async () => ((await shardChannels(run.probe.redis, run.probe.layout.prefix)).length === 0 ? true : undefined), 'no shard channel left');
  });

  it('subscribe / unsubscribe / disconnect churn leaves no subscription behind, and queue positions still reach followers on any instance', async () => {
    await run.probe.queue.pause();
    const ahead = await postJson(`${run.stack.urls[0]}/v1/generations`, { inputs: [{ modality: 'text', text: 'hawk' }], priority: 'high' }, { 'x-api-key': PRIORITY_KEY });
    const behind = await postJson(`${run.stack.urls[0]}/v1/generations`, { inputs: [{ modality: 'text', text: 'wren' }], priority: 'low' });
    const channel = run.probe.layout.jobEventsChannel(behind.body.id);
    const auth = { jobId: behind.body.id, token: behind.body.token };
    // A follower that stays, on the instance that took neither job.
    const steady = connectSocket(run.stack.urls[2]!, auth);
    const seen = recordSocketEvents(steady);
    await waitFor(() => seen.find((e) => e.type === 'job:queued'), 'snapshot');
    const firstPosition = seen[0]!.payload.position;

    // 60 clients on the two other instances, each leaving in its own way, many before their subscription is done.
    const connected = (socket: TestSocket) => new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    const churn = Array.from({ length: 60 }, async (_, i) => {
      const url = run.stack.urls[i % 2]!;
      switch (i % 5) {
        case 0: {
          // handshake subscription, gone at once
          const socket = connectSocket(url, auth);
          await connected(socket);
          socket.close();
          return;
        }
        case 1: {
          // closed before the handshake finishes
          const socket = connectSocket(url, auth);
          await new Promise((resolve) => setTimeout(resolve, i % 7));
          socket.close();
          return;
        }
        case 2: {
          // unsubscribe sent right behind the subscribe, no waiting for its ack
          const socket = connectSocket(url);
          await connected(socket);
          socket.emit('job:subscribe', { id: behind.body.id, token: behind.body.token });
          await socket.emitWithAck('job:unsubscribe', { id: behind.body.id });
          await new Promise((resolve) => setTimeout(resolve, 50));
          socket.close();
          return;
        }
        case 3: {
          // subscribed, then unsubscribed, and the connection kept
          const socket = connectSocket(url);
          await connected(socket);
          expect(await socket.emitWithAck('job:subscribe', { id: behind.body.id, token: behind.body.token })).toEqual({ ok: true });
          expect(await socket.emitWithAck('job:unsubscribe', { id: behind.body.id })).toEqual({ ok: true });
          return socket;
        }
        default: {
          // subscribe sent, connection dropped without waiting
          const socket = connectSocket(url);
          await connected(socket);
          socket.emit('job:subscribe', { id: behind.body.id, token: behind.body.token });
          socket.close();
          return;
        }
      }
    });
    const kept = (await Promise.all(churn)).filter((socket): socket is TestSocket => socket !== undefined);

    // Only the steady follower's instance holds the job's channel (and, its job being queued, the queue's).
    const expected = [channel, run.probe.layout.queueMovedChannel].sort();
    await waitFor(async () => {
      const channels = await shardChannels(run.probe.redis, run.probe.layout.prefix);
      const [, subscribers] = (await run.probe.redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
      return JSON.stringify(channels) === JSON.stringify(expected) && Number(subscribers) === 1 ? true : undefined;
    }, 'only the steady subscription left');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await shardChannels(run.probe.redis, run.probe.layout.prefix)).toEqual(expected);
    expect((await run.probe.redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number]).toEqual([channel, 1]);

    // The job ahead is canceled on another instance: the steady follower sees the queue move.
    const canceled = await fetch(`${run.stack.urls[1]}${ahead.body.links.cancel}?token=${ahead.body.token}`, { method: 'POST' });
    expect((await json(canceled)).status).toBe('canceled');
    await waitFor(() => seen.find((e) => e.type === 'job:queued' && e.payload.position !== firstPosition), 'a new position');
    expect(seen.at(-1)!.payload.position).toBe(1);

    for (const socket of [steady, ...kept]) socket.close();
    await waitFor(async () => ((await shardChannels(run.probe.redis, run.probe.layout.prefix)).length === 0 ? true : undefined), 'no shard channel left');
    await run.probe.queue.resume();
  });
});
