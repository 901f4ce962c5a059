import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** The shared Redis the tests use (127.0.0.1:6379 unless A2I_TEST_REDIS_URL says otherwise). */
export const REDIS_URL = process.env.A2I_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A redis-server of a test's own, on a free loopback port, so the test can stop and restart it
 * (fault tests) without touching the shared one on 6379. Persistence: none (like the shared
 * one), or append-only (`appendonly: true`, every write fsynced so a restart loses nothing).
 */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (SIGTERM: with append-only, it flushes; SIGKILL: a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and dir (the AOF, if any, is replayed). */
  start(): Promise<void>;
  /** Stops it and removes its dir. */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startOwnRedis(options: { appendonly?: boolean; port?: number } = {}): Promise<OwnRedis> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'a2i-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
  if (options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');

  const own: OwnRedis = {
    port,
    url,
    dir,
    async start() {
      if (child) return;
      child = spawn('redis-server', args, { stdio: 'ignore' });
      const started = Date.now();
      while (!(await answers(url))) {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode} (log: ${join(dir, 'redis.log')})`);
        if (Date.now() - started > 10_000) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      const running = child;
      if (!running) return;
      child = null;
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((r) => running.once('exit', r));
        running.kill(signal);
        await exited;
      }
    },
    async dispose() {
      await own.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
