import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

/**
 * Redis Sentinel of a test's own on loopback: a master, a replica and `sentinels` sentinels
 * (redis-server in sentinel mode, quorum = a majority) watching it as MASTER_NAME, each in a
 * temporary folder, on free ports. The test crashes the master (SIGKILL): the sentinels agree it
 * is down after down-after-milliseconds (1 s here) and promote the replica.
 */
export interface OwnRedisSentinel {
  /** redis+sentinel://127.0.0.1:<port>,.../<master name> (A2I_REDIS_URL) */
  readonly url: string;
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /**
   * SIGKILLs the master (a crash: its connections are reset), or with 'SIGSTOP' freezes it (a
   * hung host: its connections stay open, silent); resolves once every sentinel names the
   * replica and it says it is master.
   */
  killMaster(signal?: 'SIGKILL' | 'SIGSTOP'): Promise<{ from: number; to: number; ms: number }>;
  dispose(): Promise<void>;
}

export const MASTER_NAME = 'a2i-test';
const START_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a connection to the server (data node or sentinel) on `port`, asks `question`, closes it. */
export async function ask<T>(port: number, question: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  node.on('error', () => undefined);
  try {
    await node.connect();
    return await question(node);
  } finally {
    node.disconnect();
  }
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function startRedisSentinel(options: { sentinels?: number } = {}): Promise<OwnRedisSentinel> {
  const count = options.sentinels ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'a2i-sentinel-'));
  const children: ChildProcess[] = [];
  const killOnExit = () => children.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', killOnExit);
  const stopAll = async () => {
    process.off('exit', killOnExit);
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return null;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
  };
  const dataNode = async (port: number, replicaOf?: number) => {
    const nodeDir = join(dir, String(port));
    await mkdir(nodeDir);
    // prettier-ignore
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--logfile', join(nodeDir, 'redis.log'), '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0'];
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    children.push(spawn('redis-server', args, { stdio: 'ignore' }));
    await until(async () => (await ask(port, (node) => node.ping())) === 'PONG', `redis-server on ${port} to answer`);
  };
  try {
    const masterPort = await freePort();
    const replicaPort = await freePort();
    await dataNode(masterPort);
    await dataNode(replicaPort, masterPort);
    await until(async () => /master_link_status:up/.test(await ask(replicaPort, (node) => node.info('replication'))), 'the replica to sync');
    const sentinelPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      // sentinel rewrites its own config file: one writable file each
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${port}.log`)}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} ${Math.floor(count / 2) + 1}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          '',
        ].join('\n'),
      );
      children.push(spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' }));
      sentinelPorts.push(port);
    }
    // every sentinel knows the replica and the other sentinels
    for (const port of sentinelPorts) {
      await until(async () => {
        const [master] = (await ask(port, (node) => node.call('SENTINEL', 'MASTERS'))) as string[][];
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < (master ?? []).length; i += 2) fields.set(master![i]!, master![i + 1]!);
        return fields.get('num-slaves') === '1' && Number(fields.get('num-other-sentinels')) === count - 1;
      }, `sentinel ${port} to see the replica and the other sentinels`);
    }
    const masterNow = async () => Number(((await ask(sentinelPorts[0]!, (node) => node.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME))) as string[])[1]);
    return {
      url: `redis+sentinel://${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',')}/${MASTER_NAME}`,
      masterPort: masterNow,
      async killMaster(signal = 'SIGKILL') {
        const from = await masterNow();
        const to = from === masterPort ? replicaPort : masterPort;
        const child = children[from === masterPort ? 0 : 1]!;
        const began = Date.now();
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        if (signal === 'SIGKILL') await exited;
        for (const port of sentinelPorts) {
          await until(async () => Number(((await ask(port, (node) => node.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME))) as string[])[1]) === to, `sentinel ${port} to name ${to}`);
        }
        await until(async () => /role:master/.test(await ask(to, (node) => node.info('replication'))), `${to} to be master`);
        return { from, to, ms: Date.now() - began };
      },
      async dispose() {
        await stopAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
