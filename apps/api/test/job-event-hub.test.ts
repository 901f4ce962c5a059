import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStateStore, redisLayout, type JobEvent, type RedisLayout } from '@a2i/protocol';
import { JobEventHub, ShardSubscriptions, type EventSink } from '../src/job-event-hub.js';
import type { QueuePositions } from '../src/queue-position.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { shardChannels } from '../../../test/support/shard-channels.js';
import { REDIS_URL } from '../../../test/support/redis-server.js';

// Not from harness.ts: this test builds hubs alone, without the app.
const silent = pino({ level: 'silent' });

const noPositions = { position: async () => null } as unknown as QueuePositions;
const PREVIEW = { stage: 'decode', index: 0, width: 1, height: 1, mime: 'image/webp', image: new Uint8Array([1, 2, 3]) } as const;

/** Subscribers of `channel` in Redis (all connections). */
async function shardSubscribers(redis: Redis, channel: string): Promise<number> {
  const reply = (await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

function recordingSink(): EventSink & { events: JobEvent[] } {
  const events: JobEvent[] = [];
  return { events, send: (event) => void events.push(event) };
}

const terminal = (sink: { events: JobEvent[] }) => sink.events.some((e) => e.type === 'job:succeeded') || undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JobEventHub on per-job shard channels (real Redis)', () => {
  let layout: RedisLayout;
  let redis: Redis;
  let store: JobStateStore;
  const hubs: JobEventHub[] = [];
  const connections: Redis[] = [];

  /** One api instance's hub on its own subscriber connection; `channels` lists what that connection received. */
  async function instance(hubStore: JobStateStore = store) {
    const subscriber = new Redis(REDIS_URL);
    const channels: string[] = [];
    subscriber.on('smessageBuffer', (channel: Buffer) => channels.push(channel.toString()));
    const hub = new JobEventHub(subscriber, layout, hubStore, noPositions, silent);
    await hub.start();
    hubs.push(hub);
    return { hub, subscriber, channels };
  }

  async function runningJob(id: string): Promise<void> {
    await store.create({ id, tokenHash: 'ab', owner: '', seed: 1, numImages: 1, format: 'png', createdAt: 1 }, 60);
    await store.started(id, 1);
  }

  beforeEach(() => {
    layout = redisLayout(`a2i-test-hub-${randomBytes(6).toString('hex')}`);
    redis = new Redis(REDIS_URL);
    connections.push(redis);
    store = new JobStateStore(redis, layout);
  });
  afterEach(async () => {
    for (const hub of hubs.splice(0)) await hub.close();
    const keys = await redis.keys(`${layout.prefix}:*`);
    if (keys.length) await redis.del(...keys);
    for (const connection of connections.splice(0)) await connection.quit();
  });

  it('an instance receives only the messages of the jobs its subscribers follow, each follower every event in order', async () => {
    const a = await instance();
    const b = await instance();
    const idle = await instance();
    for (const id of ['j1', 'j2', 'j3']) await runningJob(id);
    const onA = recordingSink();
    const onB = recordingSink();
    await a.hub.subscribe('j1', onA);
    await b.hub.subscribe('j2', onB);
    // j3 is followed nowhere: its events reach no instance.
    for (let step = 1; step <= 20; step++) {
      for (const id of ['j1', 'j2', 'j3']) {
        await store.progress(id, { stage: 'decode', step, steps: 20, etaMs: null });
        await store.publishPreview(id, { ...PREVIEW, step });
      }
    }
    for (const id of ['j1', 'j2', 'j3']) await store.succeeded(id, [{ index: 0, url: '/x', width: 1, height: 1, seed: 1, format: 'png', bytes: 1 }], 60);
    await waitFor(() => (terminal(onA) && terminal(onB)) || undefined, 'both succeeded');
    await sleep(50);

    expect(new Set(a.channels)).toEqual(new Set([layout.jobEventsChannel('j1')]));
    expect(new Set(b.channels)).toEqual(new Set([layout.jobEventsChannel('j2')]));
    expect(a.channels).toHaveLength(41);
    expect(idle.channels).toEqual([]);
    for (const sink of [onA, onB]) {
      // snapshot (started + nothing yet), then 20 x (progress, preview), then succeeded
      expect(sink.events.map((e) => e.type)).toEqual([
        'job:started',
        ...Array.from({ length: 20 }, () => ['job:progress', 'job:preview']).flat(),
        'job:succeeded',
      ]);
      const seqs = sink.events.map((e) => e.payload.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(sink.events.filter((e) => e.type === 'job:progress').map((e) => (e.payload as { step: number }).step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
    // Finished jobs send nothing more: their channels are let go even before the followers leave.
    // (Redis forgets a channel a moment before the hub reads its answer, so both are waited for.)
    const released = () => a.hub.subscribedChannels.size + b.hub.subscribedChannels.size === 0;
    await waitFor(async () => (released() && (await shardChannels(redis, layout.prefix)).length === 0 ? true : undefined), 'no shard channel left');
  });

  it('snapshot then gate: the channel is live before the state is read, so an event crossing the snapshot is neither lost nor sent twice', async () => {
    await runningJob('job1');
    await store.progress('job1', { stage: 'decode', step: 1, steps: 9, etaMs: null });
    let liveAtRead: number | undefined;
    const crossing = Object.create(store) as JobStateStore;
    crossing.get = async (id: string) => {
      liveAtRead = await shardSubscribers(redis, layout.jobEventsChannel(id));
      // published after the subscription, before the read: in the snapshot and live (dropped as stale)
      await store.progress(id, { stage: 'decode', step: 2, steps: 9, etaMs: null });
      const state = await store.get(id);
      // published after the read, before the snapshot is sent: only live, must not be lost
      await store.progress(id, { stage: 'decode', step: 3, steps: 9, etaMs: null });
      await store.publishPreview(id, { ...PREVIEW, step: 3 });
      await sleep(20);
      return state;
    };
    const { hub } = await instance(crossing);
    const sink = recordingSink();
    await hub.subscribe('job1', sink);
    await store.succeeded('job1', [{ index: 0, url: '/x', width: 1, height: 1, seed: 1, format: 'png', bytes: 1 }], 60);
    await waitFor(() => terminal(sink), 'succeeded');

    expect(liveAtRead).toBe(1);
    expect(sink.events.map((e) => [e.type, e.payload.seq, 'step' in e.payload ? e.payload.step : null])).toEqual([
      ['job:started', 4, null],
      ['job:progress', 4, 2],
      ['job:progress', 5, 3],
      ['job:preview', 5, 3],
      ['job:succeeded', 6, null],
    ]);
  });

  it('concurrent subscribers of a job share one Redis subscription, and churn with racing unsubscribes leaves none behind', async () => {
    await runningJob('job1');
    const { hub, subscriber } = await instance();
    const channel = layout.jobEventsChannel('job1');
    let ssubscribes = 0;
    const ssubscribe = subscriber.ssubscribe.bind(subscriber);
    subscriber.ssubscribe = ((...args: Parameters<typeof ssubscribe>) => {
      if (args[0] === channel) ssubscribes++;
      return ssubscribe(...args);
    }) as typeof ssubscribe;

    // 10 at once: one SSUBSCRIBE.
    const first = await Promise.all(Array.from({ length: 10 }, () => hub.subscribe('job1', recordingSink())));
    expect(ssubscribes).toBe(1);
    expect(await shardSubscribers(redis, channel)).toBe(1);

    // Churn: 200 subscribes, each let go at a random moment (some before their subscribe resolved),
    // while the first 10 come and go too.
    let random = 12345;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const churn = Array.from({ length: 200 }, async (_, i) => {
      await sleep(Math.floor(next() * 5));
      const subscribing = hub.subscribe('job1', recordingSink());
      if (next() < 0.5) return (await subscribing)();
      const unsubscribe = await subscribing;
      await sleep(Math.floor(next() * 5));
      unsubscribe();
      if (i % 20 === 0) first.pop()?.();
    });
    await Promise.all(churn);
    for (const unsubscribe of first) unsubscribe();
    first.length = 0;
    // double unsubscribe is harmless
    const once = await hub.subscribe('job1', recordingSink());
    once();
    once();
    await waitFor(async () => (hub.subscribedChannels.size === 0 && (await shardChannels(redis, layout.prefix)).length === 0 ? true : undefined), 'no shard channel left');
    expect(hub.subscriberCount).toBe(0);

    // And one left holding keeps exactly one subscription.
    const kept = await hub.subscribe('job1', recordingSink());
    const gone = await hub.subscribe('job1', recordingSink());
    gone();
    await sleep(20);
    expect(await shardSubscribers(redis, channel)).toBe(1);
    kept();
  });

  it('ShardSubscriptions ends subscribed exactly when a hold is left, whatever the interleaving of acquire and release', async () => {
    const connection = new Redis(REDIS_URL);
    connections.push(connection);
    const subscriptions = new ShardSubscriptions(connection);
    const channels = ['a', 'b', 'c'].map((name) => `${layout.prefix}:events:${name}`);
    let random = 777;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const held = new Map(channels.map((channel) => [channel, 0]));
    const inFlight: Promise<void>[] = [];
    for (let op = 0; op < 300; op++) {
      const channel = channels[Math.floor(next() * channels.length)]!;
      const holds = held.get(channel)!;
      if (holds > 0 && next() < 0.5) {
        held.set(channel, holds - 1);
        inFlight.push(subscriptions.release(channel));
      } else {
        held.set(channel, holds + 1);
        inFlight.push(subscriptions.acquire(channel));
      }
      if (next() < 0.2) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
    for (const channel of channels) {
      expect(await shardSubscribers(redis, channel), channel).toBe(held.get(channel)! > 0 ? 1 : 0);
      expect(subscriptions.holdsOn(channel)).toBe(held.get(channel));
    }
    expect(() => subscriptions.release(`${layout.prefix}:events:never`)).toThrow(/Expected a hold/);
  });
});
