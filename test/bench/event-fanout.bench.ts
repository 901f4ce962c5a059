/**
 * Event fan-out benchmark: bytes each api instance receives from Redis pub/sub, with job events
 * on one channel per job (now) against one channel for all jobs (before).
 *
 *   npx tsx test/bench/event-fanout.bench.ts [--apis 4] [--jobs-per-api 2] [--steps 30] [--preview-every 2] [--json PATH]
 *
 * `--apis` api instances and one worker run in this process (createApp, startWorker, each api
 * on its own Redis connections, as separate processes would be) on a real Redis (A2I_REDIS_URL,
 * default 127.0.0.1:6379; a redis+cluster:// URL runs it on a Redis Cluster) under a fresh key prefix deleted at the end, with the synthetic
 * pipeline (A2I_PIPELINE=synthetic: previews are its 64 x 64 WebP frames; progress on every
 * step, A2I_PROGRESS_INTERVAL_MS=0, the worst case for the event path). `apis x jobs-per-api`
 * jobs, each followed by one socket.io client on one instance (`jobs-per-api` per instance).
 *
 * The queue is paused while the jobs are created and followed, then resumed: the window
 * measured runs from every follower in place to every job succeeded.
 * 1. AFTER (measured): each instance's a2i_pubsub_bytes_received_total (/metrics): the sum of
 *    payload + channel name of every message its subscriber connection received (its jobs'
 *    channels and the queue-moved channel).
 * 2. BEFORE (computed): a plain ioredis client subscribed to every job's channel counts every
 *    job message; with one `<prefix>:events` channel every instance received every one of them,
 *    so each instance's bytes were the sum of payload + length of `<prefix>:events` over all.
 *    (The old code's messages were byte for byte these payloads: the envelope did not change.)
 * Skipped, with a note in the JSON, when no Redis answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import { createApp, type ApiApp } from '@a2i/api';
import { createRedisConnection, loadServerConfig, parseRedisTarget, redisAnswers, redisLayout, removeKeysWithPrefix } from '@a2i/protocol';
import { startWorker } from '@a2i/worker';
import { waitFor } from '../support/wait-for.js';
import { positiveInt } from './bench-args.js';

const { values: args } = parseArgs({
  options: {
    apis: { type: 'string', default: '4' },
    'jobs-per-api': { type: 'string', default: '2' },
    steps: { type: 'string', default: '30' },
    'preview-every': { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});

const APIS = positiveInt('apis', args.apis);
const JOBS_PER_API = positiveInt('jobs-per-api', args['jobs-per-api']);
const STEPS = positiveInt('steps', args.steps);
const PREVIEW_EVERY = positiveInt('preview-every', args['preview-every']);
const JOBS = APIS * JOBS_PER_API;

interface Tally {
  messages: number;
  bytes: number;
}
type Intake = Record<'job' | 'queue-moved', Tally>;

/** An instance's pub/sub intake so far from its /metrics, by channel. */
async function pubsubReceived(url: string): Promise<Intake> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string, channel: string) => Number(new RegExp(`^${name}\\{channel="${channel}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const of = (channel: string) => ({ messages: read('a2i_pubsub_messages_received_total', channel), bytes: read('a2i_pubsub_bytes_received_total', channel) });
  return { job: of('job'), 'queue-moved': of('queue-moved') };
}

const minus = (a: Tally, b: Tally): Tally => ({ messages: a.messages - b.messages, bytes: a.bytes - b.bytes });
const plus = (a: Tally, b: Tally): Tally => ({ messages: a.messages + b.messages, bytes: a.bytes + b.bytes });

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-bench-fanout-'));
  const config = loadServerConfig({
    ...process.env,
    A2I_REDIS_PREFIX: `a2i-bench-fanout-${randomBytes(6).toString('hex')}`,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_LOG_LEVEL: 'silent',
    A2I_PIPELINE: 'synthetic',
    A2I_SYNTHETIC_STEP_MS: '10',
    A2I_PROGRESS_INTERVAL_MS: '0',
    A2I_WORKER_CONCURRENCY: String(Math.min(JOBS, 8)),
    A2I_MAX_QUEUE_DEPTH: String(Math.max(JOBS, 100)),
  });
  const report: Record<string, unknown> = {
    bench: 'event-fanout',
    pipeline: 'synthetic',
    pipelineLabel: 'synthetic stand-in (64 x 64 WebP previews)',
    node: process.version,
    redis: parseRedisTarget(config.redis.url).kind,
  };
  const finish = async () => {
    if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  };
  if (!(await redisAnswers(config.redis.url))) {
    report.skipped = `no Redis answers at ${config.redis.url} (start one: redis-server, or npm start starts it)`;
    console.log(`event-fanout bench: SKIPPED: ${report.skipped}`);
    return finish();
  }
  const layout = redisLayout(config.redis.prefix);
  const logger = pino({ level: 'silent' });
  const worker = await startWorker({ config, logger });
  const apis: ApiApp[] = [];
  const urls: string[] = [];
  const sockets: Socket[] = [];
  // ioredis's client of A2I_REDIS_URL's kind: one node, or a Redis Cluster (each job's channel on its own shard)
  const connections = { url: config.redis.url, commandTimeoutMs: 5000, logger };
  const counter = createRedisConnection('subscriber', 'bench-counter', connections);
  const queueConnection = createRedisConnection('blocking', 'bench-queue', connections);
  const queue = new Queue(layout.generationQueue, { connection: queueConnection, prefix: layout.prefix });
  try {
    for (let i = 0; i < APIS; i++) {
      const api = await createApp({ config, logger });
      urls.push(await api.listen(0, '127.0.0.1'));
      apis.push(api);
    }
    await waitFor(async () => (await fetch(`${urls[0]}/readyz`)).status === 200, 'the worker ready', 120_000);

    // 1. Jobs created while the queue is paused, each followed on one instance.
    await queue.pause();
    const jobs: Array<{ id: string; token: string; api: number }> = [];
    for (let j = 0; j < JOBS; j++) {
      const api = j % APIS;
      const response = await fetch(`${urls[api]}/v1/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ modality: 'text', text: `a bell in the fog ${j}` }], steps: STEPS, previewEvery: PREVIEW_EVERY, prior: 'on' }),
      });
      const created = (await response.json()) as { id: string; token: string; error?: { message: string } };
      if (response.status !== 202) throw new Error(`POST /v1/generations answered ${response.status}: ${created.error?.message}`);
      jobs.push({ id: created.id, token: created.token, api });
    }
    // 2. The reference: every job message, as one channel for all would have carried it to every instance.
    const globalChannelBytes = Buffer.byteLength(`${layout.prefix}:events`);
    const everything: Tally = { messages: 0, bytes: 0 };
    counter.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      everything.messages += 1;
      everything.bytes += globalChannelBytes + message.length;
    });
    // one by one: on a Cluster the channels are in different slots
    for (const job of jobs) await counter.ssubscribe(layout.jobEventsChannel(job.id));
    const succeeded = new Set<string>();
    const snapshots = new Set<string>();
    for (const job of jobs) {
      const socket = io(urls[job.api]!, { auth: { jobId: job.id, token: job.token }, transports: ['websocket'], reconnection: false, forceNew: true });
      socket.onAny((type: string) => {
        snapshots.add(job.id);
        if (type === 'job:succeeded') succeeded.add(job.id);
      });
      sockets.push(socket);
    }
    await waitFor(() => snapshots.size === JOBS, 'every follower in place', 120_000);
    const before = await Promise.all(urls.map(pubsubReceived));

    // 3. Run.
    const started = performance.now();
    await queue.resume();
    await waitFor(() => succeeded.size === JOBS, 'every job succeeded', 120_000);
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await Promise.all(urls.map(pubsubReceived));

    const perInstance = urls.map((_, i) => {
      const jobChannels = minus(after[i]!.job, before[i]!.job);
      const queueMoved = minus(after[i]!['queue-moved'], before[i]!['queue-moved']);
      const received = plus(jobChannels, queueMoved);
      return {
        instance: i,
        followedJobs: jobs.filter((job) => job.api === i).length,
        before: { ...everything, how: 'computed: every job message, channel <prefix>:events' },
        after: { ...received, jobChannels, queueMoved, how: 'measured: /metrics a2i_pubsub_*_received_total' },
        ratio: received.bytes > 0 ? everything.bytes / received.bytes : null,
      };
    });
    const totalBefore = everything.bytes * APIS;
    const allAfter = perInstance.reduce((sum, row) => plus(sum, row.after), { messages: 0, bytes: 0 });
    const allQueueMoved = perInstance.reduce((sum, row) => plus(sum, row.after.queueMoved), { messages: 0, bytes: 0 });
    const totalAfter = allAfter.bytes;
    Object.assign(report, {
      apis: APIS,
      jobs: JOBS,
      steps: STEPS,
      previewEvery: PREVIEW_EVERY,
      seconds: Number(seconds.toFixed(2)),
      jobMessages: everything.messages,
      perInstance,
      totals: { beforeBytes: totalBefore, afterBytes: totalAfter, ratio: totalBefore / totalAfter },
      summary: [
        ...perInstance.flatMap((row) => [
          { metric: `api ${row.instance} (${row.followedJobs} jobs followed): before, one channel (computed)`, value: row.before.bytes, unit: 'bytes' },
          { metric: `api ${row.instance}: after, per-job channels (measured)`, value: row.after.bytes, unit: 'bytes' },
        ]),
        { metric: `all ${APIS} instances: before / after`, value: Number((totalBefore / totalAfter).toFixed(2)), unit: 'x' },
      ],
    });

    const rows = [
      ['api', 'followed', 'before msgs', 'before bytes', 'after msgs', 'after bytes', 'of which queue-moved', 'before/after'],
      ...perInstance.map((row) => [
        String(row.instance),
        String(row.followedJobs),
        String(row.before.messages),
        String(row.before.bytes),
        String(row.after.messages),
        String(row.after.bytes),
        `${row.after.queueMoved.messages} msgs, ${row.after.queueMoved.bytes} B`,
        row.ratio === null ? '-' : `${row.ratio.toFixed(2)}x`,
      ]),
      [
        'all',
        String(JOBS),
        String(everything.messages * APIS),
        String(totalBefore),
        String(allAfter.messages),
        String(allAfter.bytes),
        `${allQueueMoved.messages} msgs, ${allQueueMoved.bytes} B`,
        `${(totalBefore / allAfter.bytes).toFixed(2)}x`,
      ],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    console.log(`event-fanout bench: ${APIS} api instances, ${JOBS} jobs (${STEPS} steps, preview every ${PREVIEW_EVERY}), ${seconds.toFixed(1)} s`);
    for (const [r, row] of rows.entries()) {
      console.log(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`);
      if (r === 0) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
    }
    console.log('  before: computed (a client on every job channel counts what one <prefix>:events channel sent every instance); after: measured on each instance (/metrics)');
  } finally {
    for (const socket of sockets) socket.close();
    await counter.quit().catch(() => undefined);
    await queue.close().catch(() => undefined);
    await queueConnection.quit().catch(() => undefined);
    for (const api of apis) await api.close();
    await worker.close();
    await removeKeysWithPrefix(config.redis.url, config.redis.prefix);
    await rm(tmp, { recursive: true, force: true });
    await finish();
  }
}

await main();
