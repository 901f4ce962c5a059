/**
 * Connections and queue-position benchmark (issue #14, defects 4 and 10).
 *
 *   npx tsx test/bench/connections.bench.ts [--cycles 10000] [--concurrent 2000] [--backlog 500]
 *       [--before-rev <git rev>] [--only memory|queue] [--json PATH]
 *
 * Everything runs on a redis-server of its own (a free loopback port, removed at the end), so
 * INFO commandstats counts this bench's commands and nobody else's.
 *
 * memory: one api PROCESS (`tsx apps/api/src/main.ts`, as in production) started with
 *   `--inspect` on a free loopback port; before each RSS reading the bench forces a full GC in
 *   it through the inspector (HeapProfiler.collectGarbage), so the figures are live memory plus
 *   what the allocator kept, not garbage not yet collected. RSS from /proc/<pid>/status.
 *   1. start (after 100 warm-up cycles), 2. after `--cycles` connect-with-auth { jobId, token }
 *   then close cycles (50 at a time, half closed as soon as connected, half during the
 *   handshake), 3. with `--concurrent` socket.io connections open (each subscribed to the job
 *   by its handshake): /healthz latency (200 requests one after another), 4. after they close.
 *   The a2i_event_subscribers gauge is read after each phase (must be back to 0).
 * queue: `--backlog` jobs queued while the queue is paused, every one followed by a socket.io
 *   client (8 connections of at most 63 subscriptions), then the queue resumed until all have
 *   succeeded (synthetic pipeline, 2 steps). Counted from CONFIG RESETSTAT before the first
 *   POST: SPUBLISH / PUBLISH calls (commandstats counts those the Lua scripts make too), the
 *   job:queued messages published on the jobs' channels (a plain client subscribed to all of
 *   them), the position reads (ZRANK calls), and the job:queued events each follower got.
 *   AFTER is this tree; BEFORE (with --before-rev) the same run against that revision's
 *   apps/api (extracted with `git archive` to a temp dir, on this tree's packages), so both
 *   sides are measured, not computed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { decodeEnvelope, loadServerConfig, redisLayout, type ServerConfig } from '@a2i/protocol';
import { startWorker } from '@a2i/worker';
import { freePort, startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { startApiProcess, type ServerProcess } from '../support/server-processes.js';
import { shardChannels } from '../support/shard-channels.js';
import { waitFor } from '../support/wait-for.js';
import { positiveInt } from './bench-args.js';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10000' },
    concurrent: { type: 'string', default: '2000' },
    backlog: { type: 'string', default: '500' },
    'before-rev': { type: 'string' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});
const CYCLES = positiveInt('cycles', args.cycles);
const CONCURRENT = positiveInt('concurrent', args.concurrent);
const BACKLOG = positiveInt('backlog', args.backlog);
if (args.only !== undefined && !['memory', 'queue'].includes(args.only)) throw new TypeError(`Expected memory or queue for --only but received ${args.only}`);

const logger = pino({ level: 'silent' });
/** The bench is one client opening thousands of connections: per-client limits and caps out of the way. */
const RATE_LIMITS_OFF = {
  A2I_RATE_GENERATIONS: 'off',
  A2I_RATE_EMBEDDINGS: 'off',
  A2I_RATE_CONNECTIONS: 'off',
  A2I_SOCKETS_PER_ADDRESS: '100000',
  A2I_SOCKETS_TOTAL: '100000',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function benchConfig(redisUrl: string, tmp: string, env: Record<string, string> = {}): ServerConfig {
  return loadServerConfig({
    A2I_REDIS_URL: redisUrl,
    A2I_REDIS_PREFIX: `a2i-bench-conn-${randomBytes(4).toString('hex')}`,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_LOG_LEVEL: 'silent',
    A2I_PIPELINE: 'synthetic',
    A2I_SYNTHETIC_STEP_MS: '1',
    A2I_HEARTBEAT_INTERVAL_MS: '500',
    ...RATE_LIMITS_OFF,
    ...env,
  });
}

async function submit(url: string, text: string): Promise<{ id: string; token: string }> {
  const response = await fetch(`${url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ modality: 'text', text }], steps: 2 }),
  });
  const body = (await response.json()) as { id: string; token: string; error?: { message: string } };
  if (response.status !== 202) throw new Error(`Expected 202 for POST /v1/generations but received ${response.status}: ${body.error?.message}`);
  return body;
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (-?[\\d.e+]+)`, 'm').exec(text)?.[1] ?? NaN);
}

const connected = (socket: Socket) =>
  new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
const clientOptions = { transports: ['websocket'], reconnection: false, forceNew: true };

// ---- memory ----------------------------------------------------------------------------------

/** A full GC in another node process, through its inspector (Chrome DevTools Protocol). */
async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
      if (reply.id !== 1) return;
      if (reply.error) reject(new Error(reply.error.message));
      else resolve();
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

async function measuredRss(api: ServerProcess, inspectPort: number): Promise<number> {
  await sleep(500);
  await collectGarbage(inspectPort);
  await sleep(200);
  await collectGarbage(inspectPort);
  return Number((await rssMb(api.child.pid!)).toFixed(1));
}

async function memoryScenario(redis: OwnRedis): Promise<Record<string, unknown>> {
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-bench-conn-'));
  const config = benchConfig(redis.url, tmp);
  const port = await freePort();
  const inspectPort = await freePort();
  const api = startApiProcess({
    A2I_REDIS_URL: redis.url,
    A2I_REDIS_PREFIX: config.redis.prefix,
    A2I_UPLOADS_DIR: config.dirs.uploads,
    A2I_RESULTS_DIR: config.dirs.results,
    A2I_LOG_LEVEL: 'silent',
    A2I_HOST: '127.0.0.1',
    A2I_PORT: String(port),
    ...RATE_LIMITS_OFF,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:${inspectPort}`.trim(),
  });
  const url = `http://127.0.0.1:${port}`;
  const worker = await startWorker({ config, logger });
  const queueConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const layout = redisLayout(config.redis.prefix);
  const queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
  try {
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok === true, 'the api ready', 60_000);
    await queue.pause();
    const job = await submit(url, 'a kettle on the boil');
    const auth = { jobId: job.id, token: job.token };
    // how the cycles ended: let in (connect), refused (connect_error), or closed before either
    const outcomes = { connected: 0, refused: 0, closedEarly: 0 };
    const cycle = async (i: number) => {
      const socket = io(url, { ...clientOptions, auth });
      if (i % 2 === 0) {
        await connected(socket).then(
          () => void (outcomes.connected += 1),
          () => void (outcomes.refused += 1),
        );
      } else {
        await sleep(i % 5);
        if (socket.connected) outcomes.connected += 1;
        else outcomes.closedEarly += 1;
      }
      socket.close();
    };
    const cycles = async (count: number) => {
      for (let start = 0; start < count; start += 50) await Promise.all(Array.from({ length: Math.min(50, count - start) }, (_, k) => cycle(start + k)));
    };
    await cycles(100);
    if (outcomes.connected === 0 || outcomes.refused > 0) throw new Error(`Expected the warm-up connections let in but received ${JSON.stringify(outcomes)}`);
    const startRss = await measuredRss(api, inspectPort);
    console.log(`memory: api RSS at start ${startRss} MB`);

    Object.assign(outcomes, { connected: 0, refused: 0, closedEarly: 0 });
    const cyclesStarted = performance.now();
    await cycles(CYCLES);
    if (outcomes.refused > 0) throw new Error(`Expected no connection refused but received ${JSON.stringify(outcomes)}`);
    const cyclesSeconds = (performance.now() - cyclesStarted) / 1000;
    await waitFor(async () => (await gauge(url, 'a2i_event_subscribers')) === 0, 'subscribers back to 0', 30_000);
    const afterCyclesRss = await measuredRss(api, inspectPort);
    const subscribersAfterCycles = await gauge(url, 'a2i_event_subscribers');
    const inspector = new Redis(redis.url);
    const shardChannelsAfterCycles = (await shardChannels(inspector, layout.prefix)).length;
    await inspector.quit();
    console.log(`memory: ${CYCLES} connect/close cycles in ${cyclesSeconds.toFixed(1)} s (${JSON.stringify(outcomes)}); RSS ${afterCyclesRss} MB, subscribers ${subscribersAfterCycles}`);

    const open: Socket[] = [];
    for (let start = 0; start < CONCURRENT; start += 100) {
      const batch = Array.from({ length: Math.min(100, CONCURRENT - start) }, () => io(url, { ...clientOptions, auth }));
      await Promise.all(batch.map(connected));
      open.push(...batch);
    }
    await waitFor(async () => (await gauge(url, 'a2i_event_subscribers')) === CONCURRENT, `${CONCURRENT} subscribers`, 60_000);
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const quantile = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2));
    const openRss = await measuredRss(api, inspectPort);
    console.log(`memory: ${CONCURRENT} connections open: RSS ${openRss} MB, /healthz p50 ${quantile(0.5)} ms p99 ${quantile(0.99)} ms`);
    for (const socket of open) socket.close();
    await waitFor(async () => (await gauge(url, 'a2i_event_subscribers')) === 0 && (await gauge(url, 'a2i_socket_connections')) === 0, 'all closed', 60_000);
    const afterCloseRss = await measuredRss(api, inspectPort);
    console.log(`memory: after they closed: RSS ${afterCloseRss} MB`);
    const within = (rss: number) => Number((((rss - startRss) / startRss) * 100).toFixed(1));
    return {
      how: 'api process; full GC forced through its inspector (HeapProfiler.collectGarbage, twice) before each reading; RSS = VmRSS',
      startRssMb: startRss,
      cycles: CYCLES,
      cyclesSeconds: Number(cyclesSeconds.toFixed(1)),
      cycleOutcomes: outcomes,
      afterCyclesRssMb: afterCyclesRss,
      afterCyclesGrowthPercent: within(afterCyclesRss),
      subscribersAfterCycles,
      shardChannelsAfterCycles,
      concurrent: CONCURRENT,
      openRssMb: openRss,
      healthzMs: { p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), max: quantile(1) },
      afterCloseRssMb: afterCloseRss,
      afterCloseGrowthPercent: within(afterCloseRss),
    };
  } finally {
    await api.stop('SIGTERM', 15_000);
    await queue.close();
    await queueConnection.quit();
    await worker.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

// ---- queue positions -------------------------------------------------------------------------

interface QueueFigures {
  tree: string;
  jobs: number;
  seconds: number;
  /** SPUBLISH calls while the jobs were submitted (before anyone followed them). */
  spublishAtSubmitPerJob: number;
  positionReadsAtSubmitPerJob: number;
  spublishPerJob: number;
  publishPerJob: number;
  /** job:queued messages on the jobs' channels once they were followed (position refreshes, if published). */
  jobQueuedPublishedWhileFollowedPerJob: number;
  /** SPUBLISH calls after the submissions that were not on a job's channel: queue-moved cues. */
  queueMovedAfterSubmitPerJob: number;
  zrankCalls: number;
  zrankPerJob: number;
  hgetallPerJob: number;
  jobQueuedDeliveredPerFollowedJob: { mean: number; max: number };
}

async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const text = (await redis.info('commandstats')) as string;
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

async function queueScenario(redisUrl: string, tree: string, label: string): Promise<QueueFigures> {
  const { createApp } = (await import(join(tree, 'apps/api/src/create-app.ts'))) as typeof import('../../apps/api/src/create-app.js');
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-bench-queue-'));
  const config = benchConfig(redisUrl, tmp, { A2I_MAX_QUEUE_DEPTH: String(BACKLOG * 2), A2I_WORKER_CONCURRENCY: '2', A2I_PROGRESS_INTERVAL_MS: '0' });
  const layout = redisLayout(config.redis.prefix);
  const admin = new Redis(redisUrl);
  const counter = new Redis(redisUrl);
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
  const worker = await startWorker({ config, logger });
  const api = await createApp({ config, logger });
  const url = await api.listen(0, '127.0.0.1');
  const sockets: Socket[] = [];
  try {
    await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 'the api ready', 60_000);
    await queue.pause();
    await admin.config('RESETSTAT');
    const started = performance.now();
    const jobs: Array<{ id: string; token: string }> = [];
    for (let start = 0; start < BACKLOG; start += 20) {
      jobs.push(...(await Promise.all(Array.from({ length: Math.min(20, BACKLOG - start) }, (_, k) => submit(url, `rain on a tin roof ${start + k}`)))));
    }
    const atSubmit = await commandCalls(admin);
    // every job message on the jobs' channels, by type (the jobs' channels only exist once the ids are known)
    const publishedByType = new Map<string, number>();
    counter.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      const type = decodeEnvelope(message).event.type;
      publishedByType.set(type, (publishedByType.get(type) ?? 0) + 1);
    });
    for (let start = 0; start < jobs.length; start += 100) await counter.ssubscribe(...jobs.slice(start, start + 100).map((job) => layout.jobEventsChannel(job.id)));
    const delivered = new Map<string, number>();
    const succeeded = new Set<string>();
    for (let start = 0; start < jobs.length; start += 63) {
      const socket = io(url, clientOptions);
      sockets.push(socket);
      socket.on('job:queued', (payload: { id: string }) => delivered.set(payload.id, (delivered.get(payload.id) ?? 0) + 1));
      socket.on('job:succeeded', (payload: { id: string }) => succeeded.add(payload.id));
      await connected(socket);
      const acks = await Promise.all(jobs.slice(start, start + 63).map((job) => socket.emitWithAck('job:subscribe', { id: job.id, token: job.token })));
      const refused = acks.find((ack: { ok?: boolean }) => ack.ok !== true);
      if (refused) throw new Error(`Expected every job:subscribe accepted but received ${JSON.stringify(refused)}`);
    }
    await queue.resume();
    await waitFor(() => succeeded.size === jobs.length, 'every job succeeded', 300_000);
    await sleep(300);
    const seconds = (performance.now() - started) / 1000;
    const calls = await commandCalls(admin);
    const perJob = (n: number) => Number((n / jobs.length).toFixed(3));
    const counts = jobs.map((job) => delivered.get(job.id) ?? 0);
    const jobMessages = [...publishedByType.values()].reduce((a, b) => a + b, 0);
    const figures: QueueFigures = {
      tree: label,
      jobs: jobs.length,
      seconds: Number(seconds.toFixed(1)),
      spublishAtSubmitPerJob: perJob(atSubmit.spublish ?? 0),
      positionReadsAtSubmitPerJob: perJob(atSubmit.zrank ?? 0),
      spublishPerJob: perJob(calls.spublish ?? 0),
      publishPerJob: perJob(calls.publish ?? 0),
      jobQueuedPublishedWhileFollowedPerJob: perJob(publishedByType.get('job:queued') ?? 0),
      queueMovedAfterSubmitPerJob: perJob((calls.spublish ?? 0) - (atSubmit.spublish ?? 0) - jobMessages),
      zrankCalls: calls.zrank ?? 0,
      zrankPerJob: perJob(calls.zrank ?? 0),
      hgetallPerJob: perJob(calls.hgetall ?? 0),
      jobQueuedDeliveredPerFollowedJob: { mean: Number((counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(2)), max: Math.max(...counts) },
    };
    console.log(`queue (${label}): ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    for (const socket of sockets) socket.close();
    await api.close({ graceMs: 1000 });
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await queueConnection.quit();
    await counter.quit();
    await admin.quit();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** `rev`'s apps/api in a temp dir beside this tree's node_modules (so its packages are this tree's). */
async function treeAt(rev: string): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'a2i-bench-rev-'));
  const archive = execFileSync('git', ['-C', ROOT, 'archive', rev, 'apps/api'], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const report: Record<string, unknown> = { bench: 'connections', node: process.version, pipeline: 'synthetic' };
  const summary: Array<{ metric: string; value: number | string | null; unit: string }> = [];
  const redis = await startOwnRedis();
  try {
    if (args.only !== 'queue') {
      const memory = await memoryScenario(redis);
      report.memory = memory;
      summary.push(
        { metric: 'api RSS at start (GC forced)', value: memory.startRssMb as number, unit: 'MB' },
        { metric: `api RSS after ${CYCLES} connect-with-auth/close cycles`, value: memory.afterCyclesRssMb as number, unit: 'MB' },
        { metric: '  growth over start (target < 10 %)', value: memory.afterCyclesGrowthPercent as number, unit: '%' },
        { metric: '  event subscribers left', value: memory.subscribersAfterCycles as number, unit: '' },
        { metric: `api RSS with ${CONCURRENT} socket.io connections open`, value: memory.openRssMb as number, unit: 'MB' },
        { metric: `/healthz p50 / p99 with ${CONCURRENT} open`, value: `${(memory.healthzMs as { p50: number }).p50} / ${(memory.healthzMs as { p99: number }).p99}`, unit: 'ms' },
        { metric: `api RSS after the ${CONCURRENT} closed`, value: memory.afterCloseRssMb as number, unit: 'MB' },
        { metric: '  growth over start (target < 10 %)', value: memory.afterCloseGrowthPercent as number, unit: '%' },
      );
    }
    if (args.only !== 'memory') {
      const runs: QueueFigures[] = [];
      if (args['before-rev']) {
        const before = await treeAt(args['before-rev']).catch((error: unknown) => {
          report.beforeSkipped = `no apps/api at ${args['before-rev']}: ${(error as Error).message.split('\n')[0]}`;
          return null;
        });
        if (before) {
          try {
            runs.push(await queueScenario(redis.url, before.dir, `before (${args['before-rev']})`));
          } finally {
            await before.dispose();
          }
        }
      }
      runs.push(await queueScenario(redis.url, ROOT, 'after (this tree)'));
      report.queue = runs;
      for (const run of runs) {
        summary.push(
          { metric: `${run.tree}: SPUBLISH per job at submit (${run.jobs}-job backlog)`, value: run.spublishAtSubmitPerJob, unit: '' },
          { metric: `${run.tree}: SPUBLISH per job, whole run`, value: run.spublishPerJob, unit: '' },
          { metric: `${run.tree}:   job:queued published while followed / queue-moved cues after submit`, value: `${run.jobQueuedPublishedWhileFollowedPerJob} / ${run.queueMovedAfterSubmitPerJob}`, unit: '' },
          { metric: `${run.tree}: position reads per job (ZRANK / HGETALL)`, value: `${run.zrankPerJob} / ${run.hgetallPerJob}`, unit: '' },
          { metric: `${run.tree}: job:queued delivered per followed job (mean / max)`, value: `${run.jobQueuedDeliveredPerFollowedJob.mean} / ${run.jobQueuedDeliveredPerFollowedJob.max}`, unit: '' },
        );
      }
    }
  } finally {
    await redis.dispose();
  }
  report.summary = summary;
  const width = Math.max(...summary.map((row) => row.metric.length));
  console.log(`\n${'metric'.padEnd(width)}  value`);
  for (const row of summary) console.log(`${row.metric.padEnd(width)}  ${row.value} ${row.unit}`);
  if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
process.exit(0);
