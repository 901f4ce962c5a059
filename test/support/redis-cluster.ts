import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

/**
 * A real Redis Cluster of a test's own on loopback: `masters` redis-server processes in cluster
 * mode, each with `replicas` replicas, joined by `redis-cli --cluster create`, every node on
 * free ports of its own (a client port and, with Redis 7's cluster-port, a bus port) and in a
 * temporary folder. Append-only files (fsync every second), as a deployment would run it.
 * The test fails over a master (CLUSTER FAILOVER on a replica: the replica takes over without
 * losing a write) or kills one (a crash: the replica is promoted after cluster-node-timeout).
 */
export interface OwnRedisCluster {
  /** redis+cluster://127.0.0.1:<port>,... (A2I_REDIS_URL) */
  readonly url: string;
  readonly ports: readonly number[];
  /** The port of the master that owns `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Fails the master owning `key` over to one of its replicas (CLUSTER FAILOVER); resolves with the new master's port once the cluster agrees. */
  failover(key: string): Promise<{ from: number; to: number; ms: number }>;
  /** SIGKILLs the master owning `key`; resolves once a replica has taken its slots. */
  killMaster(key: string): Promise<{ from: number; to: number; ms: number }>;
  /** Stops every node and removes the folder. */
  dispose(): Promise<void>;
}

/** cluster-node-timeout: how long a master may be unreachable before its replica is promoted. */
const NODE_TIMEOUT_MS = 1000;
const START_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilTrue(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One short-lived client per question (a node that was killed must not keep a client retrying). */
async function ask<T>(port: number, question: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  node.on('error', () => undefined);
  try {
    await node.connect();
    return await question(node);
  } finally {
    node.disconnect();
  }
}

/**
 * The master of `slot` and its live replicas, as CLUSTER NODES tells from `port` (CLUSTER SLOTS
 * of Redis 7 leaves out replicas whose replication offset is still 0: a cluster without writes).
 */
async function ownersOf(port: number, slot: number): Promise<{ master: number; replicas: number[] }> {
  const lines = ((await ask(port, (node) => node.call('CLUSTER', 'NODES'))) as string).trim().split('\n');
  // <id> <ip:port@bus> <flags> <master id or -> <ping> <pong> <epoch> <link> <slot ranges...>
  const nodes = lines.map((line) => {
    const [id, address, flags, masterId, , , , , ...ranges] = line.split(' ');
    return { id: id!, port: Number(/:(\d+)@/.exec(address!)![1]), flags: flags!.split(','), masterId: masterId!, ranges };
  });
  const owns = (ranges: string[]) =>
    ranges.some((range) => {
      const [start, end = start] = range.split('-').map(Number);
      return start !== undefined && end !== undefined && slot >= start && slot <= end;
    });
  const master = nodes.find((node) => node.flags.includes('master') && !node.flags.includes('fail') && owns(node.ranges));
  if (!master) throw new Error(`Expected slot ${slot} to have a master`);
  const replicas = nodes.filter((node) => node.masterId === master.id && !node.flags.includes('fail') && !node.flags.includes('fail?')).map((node) => node.port);
  return { master: master.port, replicas };
}

export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<OwnRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  if (spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('redis-cli is needed to create the test cluster');
  const dir = await mkdtemp(join(tmpdir(), 'a2i-cluster-'));
  const count = masters * (1 + replicas);
  const ports: number[] = [];
  const used = new Set<number>();
  const distinctPort = async () => {
    for (;;) {
      const port = await freePort();
      if (!used.has(port)) {
        used.add(port);
        return port;
      }
    }
  };
  const processes = new Map<number, ChildProcess>();
  // a test process that dies without disposing (a crash, a timeout) takes its nodes with it
  const killOnExit = () => {
    for (const child of processes.values()) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stopAll = async () => {
    process.off('exit', killOnExit);
    await Promise.all(
      [...processes.values()].map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return null;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await distinctPort();
      const busPort = await distinctPort();
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir);
      // prettier-ignore
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--daemonize', 'no', '--logfile', join(nodeDir, 'redis.log'),
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort),
        '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
        // a crashed master's replica takes over however far behind it is (a test has no stale replica to fear)
        '--cluster-replica-validity-factor', '0',
        '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
        // a replica's first full sync at once, not after the default 5 s wait for more replicas
        '--repl-diskless-sync-delay', '0',
      ];
      processes.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
      ports.push(port);
    }
    for (const port of ports) await untilTrue(async () => (await ask(port, (node) => node.ping())) === 'PONG', `redis-server on ${port} to answer`, START_TIMEOUT_MS);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: START_TIMEOUT_MS,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
    // every node sees the cluster whole, and every replica has its master's data
    for (const port of ports) {
      await untilTrue(
        async () => {
          const info = await ask(port, (node) => node.call('CLUSTER', 'INFO') as Promise<string>);
          if (!/cluster_state:ok/.test(info) || !new RegExp(`cluster_known_nodes:${count}\\b`).test(info)) return false;
          const replication = await ask(port, (node) => node.info('replication'));
          return /role:master/.test(replication) || /master_link_status:up/.test(replication);
        },
        `node ${port} to join the cluster`,
        START_TIMEOUT_MS,
      );
    }
  } catch (error) {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const alive = () =>
    ports.filter((port) => {
      const child = processes.get(port)!;
      return child.exitCode === null && child.signalCode === null;
    });
  const slotOf = (key: string) => ask(alive()[0]!, (node) => node.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
  /** Waits until every live node says `slot` belongs to `port`, and the cluster is ok. */
  const untilOwner = async (slot: number, port: number) => {
    for (const node of alive()) {
      await untilTrue(
        async () => (await ownersOf(node, slot)).master === port && /cluster_state:ok/.test(await ask(node, (n) => n.call('CLUSTER', 'INFO') as Promise<string>)),
        `node ${node} to see ${port} own slot ${slot}`,
        20_000,
      );
    }
  };

  return {
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    async masterOf(key) {
      return (await ownersOf(alive()[0]!, await slotOf(key))).master;
    },
    async failover(key) {
      const slot = await slotOf(key);
      const { master, replicas: standby } = await ownersOf(alive()[0]!, slot);
      const to = standby[0];
      if (to === undefined) throw new Error(`Expected a replica of ${master} to fail over to`);
      const began = Date.now();
      await ask(to, (node) => node.call('CLUSTER', 'FAILOVER'));
      await untilOwner(slot, to);
      const ms = Date.now() - began;
      // settled: every node sees the old master as the new one's replica
      for (const node of alive()) await untilTrue(async () => (await ownersOf(node, slot)).replicas.includes(master), `node ${node} to see ${master} replicate ${to}`, 20_000);
      return { from: master, to, ms };
    },
    async killMaster(key) {
      const slot = await slotOf(key);
      const { master, replicas: standby } = await ownersOf(alive()[0]!, slot);
      const child = processes.get(master)!;
      const began = Date.now();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await untilTrue(async () => (await ownersOf(alive()[0]!, slot)).master !== master, `a replica of ${master} (${standby.join(', ') || 'none known'}) to take over slot ${slot}`, 20_000);
      const to = (await ownersOf(alive()[0]!, slot)).master;
      await untilOwner(slot, to);
      return { from: master, to, ms: Date.now() - began };
    },
    async dispose() {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
