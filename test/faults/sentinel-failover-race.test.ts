import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisClientOf, redisOptionsFor } from '../../packages/protocol/src/redis-connections.js';
import { parseRedisTarget } from '../../packages/protocol/src/redis-target.js';
import { ask, MASTER_NAME, startRedisSentinel, type OwnRedisSentinel } from '../support/redis-sentinel.js';
import { waitFor } from '../support/wait-for.js';

const CLIENTS = 16;

/**
 * A TCP relay to a sentinel on loopback. While held, new connections are accepted and wait
 * (their commands unanswered); the ones already open go on. Released, the waiting ones and every
 * later one go through.
 */
interface GatedRelay {
  server: Server;
  port: number;
  hold(): void;
  release(): void;
}
function gatedRelay(port: number): Promise<GatedRelay> {
  let held = false;
  const waiting: Array<() => void> = [];
  const server = createServer((client: Socket) => {
    client.pause();
    client.on('error', () => undefined);
    const open = () => {
      const upstream = connect(port, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.once('connect', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    if (held) waiting.push(open);
    else open();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        hold: () => void (held = true),
        release: () => {
          held = false;
          for (const open of waiting.splice(0)) open();
        },
      }),
    ),
  );
}

/**
 * Issue #18, found by a clean-clone CI run: after the Sentinel master crashed, some connections
 * of the worker never came back. ioredis's own failover detector (`failoverDetector: true`)
 * disconnects its connector on +switch-master; a client that is at that moment asking a sentinel
 * for the master (it is reconnecting after the crash) gets "Connection is closed." from its
 * connector and ends for good. Here the clients reach the sentinels through relays that hold new
 * connections from the crash until the sentinels have announced the new master, so every
 * reconnecting client is in that window when +switch-master comes (on a loaded machine some are,
 * by chance): with ioredis's detector they end (the reason for sentinel-failover.ts, and the check
 * that it is still needed), with ours every client reaches the promoted replica.
 */
describe('Sentinel failover while clients are reconnecting', () => {
  let sentinel: OwnRedisSentinel | null = null;
  const relays: GatedRelay[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const relay of relays.splice(0)) relay.server.close();
    await sentinel?.dispose();
    sentinel = null;
  });

  async function sentinelsBehindRelays(): Promise<{ url: string; sentinels: Array<{ host: string; port: number }> }> {
    sentinel = await startRedisSentinel({ sentinels: 3 });
    const target = parseRedisTarget(sentinel.url);
    if (target.kind !== 'sentinel') throw new Error(`Expected a sentinel URL but received ${sentinel.url}`);
    const sentinels: Array<{ host: string; port: number }> = [];
    for (const { port } of target.sentinels) {
      const relay = await gatedRelay(port!);
      relays.push(relay);
      sentinels.push({ host: '127.0.0.1', port: relay.port });
    }
    return { url: `redis+sentinel://${sentinels.map(({ port }) => `127.0.0.1:${port}`).join(',')}/${MASTER_NAME}`, sentinels };
  }

  /**
   * Crashes (or freezes) the master while every client writes every 20 ms, the relays (if any)
   * holding new sentinel connections from the crash until 500 ms after every sentinel names the
   * replica; resolves with the clients' states 5 s after that.
   */
  async function crashMaster(signal: 'SIGKILL' | 'SIGSTOP' = 'SIGKILL'): Promise<Record<string, number>> {
    await waitFor(() => clients.every((client) => client.status === 'ready'), 'every client to be ready', 20_000);
    const writes = setInterval(() => clients.forEach((client, i) => void client.set(`race:${i}`, Date.now()).catch(() => undefined)), 20);
    try {
      for (const relay of relays) relay.hold();
      await sentinel!.killMaster(signal);
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const relay of relays) relay.release();
      await new Promise((resolve) => setTimeout(resolve, 5000));
    } finally {
      clearInterval(writes);
      for (const relay of relays) relay.release();
    }
    const states: Record<string, number> = {};
    for (const client of clients) states[client.status] = (states[client.status] ?? 0) + 1;
    return states;
  }

  it("ioredis's own failoverDetector ends every reconnecting client for good (why sentinel-failover.ts exists)", async () => {
    const { sentinels } = await sentinelsBehindRelays();
    for (let i = 0; i < CLIENTS; i++) {
      const client = new Redis({ sentinels, name: MASTER_NAME, failoverDetector: true, maxRetriesPerRequest: null });
      client.on('error', () => undefined);
      clients.push(client);
    }
    const states = await crashMaster();
    console.info(`ioredis failoverDetector after the crash: ${JSON.stringify(states)}`);
    expect(states).toEqual({ end: CLIENTS });
  }, 60_000);

  /** CLIENTS of ours (redisClientOf), blocking and background uses in turn. */
  function openOurClients(url: string): void {
    const target = parseRedisTarget(url);
    for (let i = 0; i < CLIENTS; i++) {
      const client = redisClientOf(target, redisOptionsFor(i % 2 === 0 ? 'blocking' : 'background', 1000)) as Redis;
      client.on('error', () => undefined);
      clients.push(client);
    }
  }

  async function expectEveryClientOnThePromotedReplica(): Promise<void> {
    const promoted = await sentinel!.masterPort();
    const within = <T>(promise: Promise<T>) =>
      Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Expected every client to write within 5 s but some did not')), 5000))]);
    const written = await within(Promise.all(clients.map((client, i) => client.set(`after:${i}`, 'ok'))));
    expect(written).toEqual(Array(CLIENTS).fill('OK'));
    const ports = await Promise.all(clients.map(async (client) => Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1])));
    expect(ports).toEqual(Array(CLIENTS).fill(promoted));
  }

  it('with FailoverAwareSentinelConnector every client is on the promoted replica and writes', async () => {
    openOurClients((await sentinelsBehindRelays()).url);
    const states = await crashMaster();
    console.info(`FailoverAwareSentinelConnector after the crash: ${JSON.stringify(states)}`);
    expect(states).toEqual({ ready: CLIENTS });
    await expectEveryClientOnThePromotedReplica();
  }, 60_000);

  it('a frozen master (a hung host: its connections stay open) is left on +switch-master, not at the next failed command', async () => {
    sentinel = await startRedisSentinel({ sentinels: 3 });
    openOurClients(sentinel.url);
    const states = await crashMaster('SIGSTOP');
    console.info(`FailoverAwareSentinelConnector after the master froze: ${JSON.stringify(states)}`);
    expect(states).toEqual({ ready: CLIENTS });
    await expectEveryClientOnThePromotedReplica();

    // the +switch-master subscriptions are shared (one per sentinel) and close with the last client
    const target = parseRedisTarget(sentinel.url);
    if (target.kind !== 'sentinel') throw new Error('Expected a sentinel target');
    const watchers = async () => {
      let count = 0;
      for (const { port } of target.sentinels) {
        const list = (await ask(port!, (node) => node.call('CLIENT', 'LIST'))) as string;
        count += list.split('\n').filter((line) => line.includes('name=a2i-sentinel-watch')).length;
      }
      return count;
    };
    expect(await watchers()).toBe(target.sentinels.length);
    for (const client of clients.splice(0)) client.disconnect();
    await waitFor(async () => (await watchers()) === 0, 'the sentinel subscriptions to close with the last client', 5000, 200);
  }, 60_000);
});
