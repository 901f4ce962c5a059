import { request as httpRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createParser } from 'eventsource-parser';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { freePort } from '../../../test/support/redis-server.js';
import { startApiProcess, type ServerProcess } from '../../../test/support/server-processes.js';
import { tcpBalancer } from '../../../test/support/tcp-balancer.js';
import { REDIS_URL, connectSocket, postJson, recordSocketEvents, removeTestState, silent, testConfig, waitFor, type RecordedEvent, type TestSocket } from './harness.js';

const GRACE_MS = 3_000;
/** main.ts gives Redis 3 s after the grace; a healthy shutdown needs far less. */
const EXIT_MARGIN_MS = 3_000;

/** An SSE follower: its events, and whether the server ended the stream. */
function followSse(url: string): { events: RecordedEvent[]; ended: Promise<void> } {
  const events: RecordedEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push({ type: event.event ?? 'message', payload: JSON.parse(event.data) }) });
  const ended = (async () => {
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`Expected an SSE stream for ${url} but received ${response.status}`);
    const decoder = new TextDecoder();
    for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  })();
  return { events, ended };
}

/** A POST whose JSON body trickles in over `spreadMs` (an upload in flight), or never ends when `spreadMs` is Infinity. */
function slowPost(url: string, body: unknown, spreadMs: number): Promise<{ status: number; text: string } | { error: string }> {
  const bytes = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes.length } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    req.write(bytes.subarray(0, 5));
    if (Number.isFinite(spreadMs)) setTimeout(() => req.end(bytes.subarray(5)), spreadMs);
  });
}

describe('api shutdown (issue #14, defect 6): real api processes', () => {
  let config: Awaited<ReturnType<typeof testConfig>>;
  let worker: RunningWorker;
  let queue: Queue;
  let queueConnection: Redis;
  const processes: ServerProcess[] = [];

  const apiEnv = (port: number): Record<string, string> => ({
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: config.redis.prefix,
    A2I_UPLOADS_DIR: config.dirs.uploads,
    A2I_RESULTS_DIR: config.dirs.results,
    A2I_LOG_LEVEL: 'silent',
    A2I_HOST: '127.0.0.1',
    A2I_PORT: String(port),
    A2I_SHUTDOWN_GRACE_MS: String(GRACE_MS),
  });
  const startApi = async () => {
    const port = await freePort();
    const api = startApiProcess(apiEnv(port));
    processes.push(api);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => ((await fetch(`${url}/readyz`).catch(() => null))?.ok ? true : undefined), `api on ${port} ready`, 30_000);
    return { api, url, port };
  };

  beforeAll(async () => {
    config = await testConfig();
    worker = await startWorker({ config, logger: silent });
    const layout = redisLayout(config.redis.prefix);
    queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
  });
  afterAll(async () => {
    for (const api of processes) await api.stop('SIGKILL');
    await queue?.close();
    await queueConnection?.quit();
    await worker?.close();
    await removeTestState(config);
  });

  it('SIGTERM with SSE and socket.io followers and uploads in flight: every follower is told server:shutdown, the upload that finishes within the grace is accepted, the process exits within grace + margin', async () => {
    await queue.pause();
    const { api, url } = await startApi();
    const job = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'heron' }] });
    expect(job.status).toBe(202);
    const { id, token } = job.body as { id: string; token: string };

    const sse = followSse(`${url}/v1/generations/${id}/events?token=${token}`);
    const byHandshake = connectSocket(url, { jobId: id, token });
    const bySubscribe = connectSocket(url);
    const sockets: TestSocket[] = [byHandshake, bySubscribe];
    const recorded = sockets.map(recordSocketEvents);
    const disconnects = sockets.map((socket) => new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason))));
    await new Promise<void>((resolve) => bySubscribe.on('connect', () => resolve()));
    expect(await bySubscribe.emitWithAck('job:subscribe', { id, token })).toEqual({ ok: true });
    await waitFor(() => (sse.events.length > 0 && recorded.every((events) => events.length > 0)) || undefined, 'every snapshot');

    // An upload that completes within the grace period, and one that never completes.
    const finishing = slowPost(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'egret' }] }, 1_000);
    const stalled = slowPost(`${url}/v1/generations`, { inputs: [{ modality: 'text', text: 'bittern' }] }, Infinity);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const signaled = Date.now();
    const exit = await api.stop('SIGTERM', GRACE_MS + EXIT_MARGIN_MS + 5_000);
    const tookMs = Date.now() - signaled;
    expect(exit).toBe(0);
    // the stalled upload holds it for the grace period, and no longer
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(tookMs).toBeLessThan(GRACE_MS + EXIT_MARGIN_MS);

    await sse.ended;
    const last = sse.events.at(-1)!;
    expect(last.type).toBe('server:shutdown');
    expect(last.payload).toMatchObject({ reason: 'shutdown', graceMs: GRACE_MS });
    for (const events of recorded) {
      const shutdowns = events.filter((e) => e.type === 'server:shutdown');
      expect(shutdowns).toHaveLength(1);
      expect(shutdowns[0]!.payload).toMatchObject({ reason: 'shutdown', graceMs: GRACE_MS });
    }
    // the transport was closed (not a socket.io disconnect): a stock client reconnects on its own
    expect(await Promise.all(disconnects)).toEqual(['transport close', 'transport close']);
    const accepted = await finishing;
    expect('status' in accepted && accepted.status).toBe(202);
    // cut at the end of the grace period: never accepted
    const cut = await stalled;
    expect('status' in cut ? cut.status : 'connection cut').not.toBe(202);
    for (const socket of sockets) socket.close();
    await queue.obliterate({ force: true });
    await queue.resume();
  }, 60_000);

  it('SIGKILL of an api with followers: socket.io clients reconnect through the balancer to another instance and, subscribed again, get the snapshot and the final event', async () => {
    await queue.pause();
    const first = await startApi();
    const second = await startApi();
    const balancer = await tcpBalancer([first.port, second.port]);
    const viaBalancer = `http://127.0.0.1:${balancer.port}`;
    try {
      const job = await postJson(`${viaBalancer}/v1/generations`, { inputs: [{ modality: 'text', text: 'plover' }], steps: 8 });
      expect(job.status).toBe(202);
      const { id, token } = job.body as { id: string; token: string };
      const options = { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200, forceNew: true };
      // resumes on its own: the handshake subscribes again on every connection
      const byHandshake = io(viaBalancer, { ...options, auth: { jobId: id, token } });
      // resumes because it sends job:subscribe on every connection
      const bySubscribe = io(viaBalancer, options);
      bySubscribe.on('connect', () => void bySubscribe.emit('job:subscribe', { id, token }));
      const sockets = [byHandshake, bySubscribe];
      const recorded = sockets.map((socket) => recordSocketEvents(socket as TestSocket));
      const connects = sockets.map(() => 0);
      sockets.forEach((socket, i) => socket.on('connect', () => void (connects[i] = connects[i]! + 1)));
      await waitFor(() => recorded.every((events) => events.some((e) => e.type === 'job:queued')) || undefined, 'the first snapshots');

      await first.api.stop('SIGKILL');
      await waitFor(() => connects.every((n) => n >= 2) || undefined, 'both clients reconnected', 15_000);
      // the snapshot of the new subscription arrives on the second instance
      await waitFor(() => recorded.every((events) => events.filter((e) => e.type === 'job:queued').length >= 2) || undefined, 'the second snapshots');
      await queue.resume();
      await waitFor(() => recorded.every((events) => events.some((e) => e.type === 'job:succeeded')) || undefined, 'job:succeeded on both', 20_000);
      for (const events of recorded) {
        expect(events.filter((e) => e.type === 'job:succeeded')).toHaveLength(1);
        expect(events.at(-1)!.type).toBe('job:succeeded');
      }
      for (const socket of sockets) socket.close();
    } finally {
      balancer.server.close();
      await second.api.stop('SIGTERM');
    }
  }, 90_000);
});
