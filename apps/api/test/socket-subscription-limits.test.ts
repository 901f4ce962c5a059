import { beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, postJson, recordSocketEvents, useStack, waitFor, type TestSocket } from './harness.js';
import { shardChannels } from '../../../test/support/shard-channels.js';

/** The a2i_event_subscribers gauge of one api instance (its hub's local subscribers). */
async function subscriberCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^a2i_event_subscribers (\d+)/m.exec(text)?.[1] ?? NaN);
}

const connected = (socket: TestSocket) =>
  new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

/** Defect 4 of issue #14: the per-connection limit, duplicate subscribes, and subscriptions that outlive their socket. */
describe('socket.io subscriptions: limit, duplicates, and nothing left behind', () => {
  const run = useStack({
    // one client opening 1,000 connections and 100 jobs: the per-client limits out of the way
    env: { A2I_SYNTHETIC_STEP_MS: '2', A2I_MAX_QUEUE_DEPTH: '1000', A2I_RATE_GENERATIONS: 'off', A2I_RATE_CONNECTIONS: 'off', A2I_SOCKETS_PER_ADDRESS: '1000' },
  });
  beforeAll(async () => {
    await waitFor(async () => ((await fetch(`${run.url}/readyz`)).ok ? true : undefined), 'a ready api');
  });

  const submit = async (text: string) => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text }], steps: 4 });
    expect(created.status).toBe(202);
    return created.body as { id: string; token: string };
  };

  it('100 job:subscribe sent at once on one socket: at most 64 accepted, the rest refused with LIMIT_EXCEEDED', async () => {
    await run.probe.queue.pause();
    const jobs = await Promise.all(Array.from({ length: 100 }, (_, i) => submit(`sparrow ${i}`)));
    const socket = connectSocket(run.url);
    await connected(socket);
    const acks = await Promise.all(jobs.map((job) => socket.emitWithAck('job:subscribe', { id: job.id, token: job.token })));
    const accepted = acks.filter((ack) => 'ok' in ack && ack.ok);
    const refused = acks.filter((ack) => 'error' in ack);
    expect(accepted.length).toBe(64);
    expect(refused.length).toBe(36);
    for (const ack of refused) expect((ack as { error: { code: string } }).error.code).toBe('LIMIT_EXCEEDED');
    expect(await subscriberCount(run.url)).toBe(64);
    // A place freed by an unsubscribe can be taken again.
    const firstAccepted = jobs[acks.findIndex((ack) => 'ok' in ack)]!;
    const firstRefused = jobs[acks.findIndex((ack) => 'error' in ack)]!;
    expect(await socket.emitWithAck('job:unsubscribe', { id: firstAccepted.id })).toEqual({ ok: true });
    expect(await socket.emitWithAck('job:subscribe', { id: firstRefused.id, token: firstRefused.token })).toEqual({ ok: true });
    socket.close();
    await waitFor(async () => ((await subscriberCount(run.url)) === 0 ? true : undefined), 'no subscriber left');
    await waitFor(async () => ((await shardChannels(run.probe.redis, run.probe.layout.prefix)).length === 0 ? true : undefined), 'no shard channel left');
    await run.probe.queue.obliterate({ force: true });
    await run.probe.queue.resume();
  });

  it('three concurrent job:subscribe to one job deliver each event once', async () => {
    await run.probe.queue.pause();
    const job = await submit('finch');
    const socket = connectSocket(run.url);
    await connected(socket);
    const events = recordSocketEvents(socket);
    const acks = await Promise.all([1, 2, 3].map(() => socket.emitWithAck('job:subscribe', { id: job.id, token: job.token })));
    expect(acks).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(await subscriberCount(run.url)).toBe(1);
    await run.probe.queue.resume();
    await waitFor(() => events.some((e) => e.type === 'job:succeeded') || undefined, 'job:succeeded');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect(count('job:succeeded')).toBe(1);
    expect(count('job:started')).toBe(1);
    const stateSeqs = events.filter((e) => !['job:preview', 'job:queued'].includes(e.type)).map((e) => e.payload.seq as number);
    expect(new Set(stateSeqs).size).toBe(stateSeqs.length);
    socket.close();
  });

  it('1,000 connections with auth { jobId, token } closed at once leave no subscriber and no shard subscription', async () => {
    await run.probe.queue.pause();
    const job = await submit('starling');
    const url = run.url;
    const auth = { jobId: job.id, token: job.token };
    const cycle = async (i: number) => {
      const socket = connectSocket(url, auth);
      if (i % 2 === 0) {
        // gone as soon as the server let it in: its handshake subscription is still on its way
        await connected(socket).catch(() => undefined);
      } else {
        // gone while the handshake's authorization runs
        await new Promise((resolve) => setTimeout(resolve, i % 5));
      }
      socket.close();
    };
    const total = 1_000;
    const parallel = 50;
    for (let start = 0; start < total; start += parallel) {
      await Promise.all(Array.from({ length: parallel }, (_, k) => cycle(start + k)));
    }
    await waitFor(async () => ((await subscriberCount(url)) === 0 ? true : undefined), 'subscriber count back to 0', 10_000);
    await waitFor(async () => ((await shardChannels(run.probe.redis, run.probe.layout.prefix)).length === 0 ? true : undefined), 'no shard channel left', 10_000);
    // and it stays so: no late subscription completes after the cleanup
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await subscriberCount(url)).toBe(0);
    expect(await shardChannels(run.probe.redis, run.probe.layout.prefix)).toEqual([]);
    const socketsGauge = Number(/^a2i_socket_connections (-?\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    expect(socketsGauge).toBe(0);
    await run.probe.queue.resume();
  }, 120_000);
});
