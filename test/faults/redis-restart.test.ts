import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startApiProcess, startWorkerProcess, type ServerProcess } from '../support/server-processes.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #14 ("Nothing lost in a fault"), on real processes: one api and two synthetic workers
 * on a redis-server of the test's own, which is killed (SIGKILL) mid-load and started again
 * after DOWN_MS on the same port.
 * - append-only Redis: every accepted job ends exactly once (job:succeeded), and every follower
 *   (socket.io and SSE) gets it, although some jobs finish while Redis is away (their events
 *   cannot be published then: the worker records them when Redis is back, the api re-reads the
 *   followed jobs when its subscriber is back); no upload is left behind.
 * - no persistence: Redis itself forgets every job; a follower of a job whose state is gone
 *   gets job:failed JOB_STATE_LOST (never a hang), and the job's status is 404.
 * - both: while Redis is away, POST and GET answer 503 NOT_READY with Retry-After within the
 *   command timeout (+ margin), /readyz answers 503 at once; it is ready again soon after Redis
 *   returns; no process dies or writes "Unhandled error event"; each connection logs its loss once.
 * Figures (time to 503, to readiness, to the last terminal event) are printed.
 */

const JOBS = 24;
const WITH_UPLOAD = 8;
const SSE_FOLLOWERS = 2;
const STEPS = 15;
const STEP_MS = 25;
const DOWN_MS = 4000;
const COMMAND_TIMEOUT_MS = 1000;
/** Slack on top of the configured bound for a 503 (a loaded 2-core CI box). */
const MARGIN_MS = 1000;
const READYZ_DOWN_MS = 250;
const READY_AGAIN_MS = 10_000;
// Jobs still queued when Redis returns run after it: on a 2-core CI box shared with other test
// files, a follower waited more than 30 s for its terminal event once (the test passed alone).
const FOLLOWERS_DONE_MS = 60_000;
/** Append-only case: times the api's subscriber connection is killed (CLIENT KILL), 250 ms apart, after Redis is back. */
const SUBSCRIBER_BLIPS = 10;

/** The upload folders still in `uploads` (each named after its job) and every log line of `processes` that names one. */
async function uploadsLeftReport(uploads: string, processes: ServerProcess[]): Promise<string> {
  const left = await readdir(uploads);
  const lines = processes.flatMap((process, n) =>
    `${process.output.stdout}\n${process.output.stderr}`.split('\n').filter((line) => left.some((name) => line.includes(name))).map((line) => `[process ${n}] ${line}`),
  );
  return `left: ${left.join(', ')}; their log lines:\n${lines.join('\n')}`;
}

interface Seen {
  type: string;
  seq: number;
  code?: string;
  at: number;
}

interface Follower {
  id: string;
  token: string;
  via: 'socket.io' | 'sse';
  events: Seen[];
  close(): void;
}

const TERMINAL = new Set(['job:succeeded', 'job:failed', 'job:canceled']);
const EVENT_TYPES = ['job:queued', 'job:started', 'job:progress', 'job:preview', 'job:succeeded', 'job:failed', 'job:canceled'];

const noThrow = <T>(work: Promise<T>): Promise<T | undefined> => work.catch(() => undefined);

async function submit(url: string, i: number): Promise<{ id: string; token: string }> {
  const request = { steps: STEPS, prior: 'off', previewEvery: 0, seed: i };
  let response: Response;
  if (i < WITH_UPLOAD) {
    const form = new FormData();
    form.set('request', JSON.stringify({ ...request, inputs: [{ modality: 'audio', file: 'sound', weight: 1 }] }));
    form.set('sound', new Blob([Buffer.from(sampleSoundWav({ seconds: 0.5 }))]), 'sound.wav');
    response = await fetch(`${url}/v1/generations`, { method: 'POST', body: form });
  } else {
    response = await fetch(`${url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...request, inputs: [{ modality: 'text', text: `a quiet sea at dawn ${i}` }] }),
    });
  }
  const body = (await response.json()) as { id: string; token: string };
  if (response.status !== 202) throw new Error(`Expected 202 for job ${i} but received ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function followBySocket(url: string, job: { id: string; token: string }): Follower {
  const events: Seen[] = [];
  const socket: Socket = io(url, { auth: { jobId: job.id, token: job.token }, transports: ['websocket'], reconnection: true });
  for (const type of EVENT_TYPES) {
    socket.on(type, (payload: { seq: number; code?: string }) => events.push({ type, seq: payload.seq, code: payload.code, at: Date.now() }));
  }
  return { ...job, via: 'socket.io', events, close: () => socket.disconnect() };
}

function followBySse(url: string, job: { id: string; token: string }): Follower {
  const events: Seen[] = [];
  const abort = new AbortController();
  const parser = createParser({
    onEvent: (event) => {
      const payload = JSON.parse(event.data) as { seq: number; code?: string };
      events.push({ type: event.event ?? 'message', seq: payload.seq, code: payload.code, at: Date.now() });
    },
  });
  void (async () => {
    const response = await fetch(`${url}/v1/generations/${job.id}/events`, { headers: { 'x-job-token': job.token }, signal: abort.signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  })().catch(() => undefined);
  return { ...job, via: 'sse', events, close: () => abort.abort() };
}

async function timed(work: () => Promise<Response>): Promise<{ ms: number; status: number; retryAfter: string | null; body: any }> {
  const started = performance.now();
  const response = await work();
  const body = await response.json().catch(() => null);
  return { ms: performance.now() - started, status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

/** pino lines of a process whose `msg` is `message`, by the `connection` they name. */
function logLinesByConnection(output: string, message: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; connection?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // the last line may still be half-written
    }
    if (entry.msg === message) counts.set(entry.connection ?? '?', (counts.get(entry.connection ?? '?') ?? 0) + 1);
  }
  return counts;
}

describe('Redis restarted under load (api + 2 workers as processes, own redis-server)', () => {
  let redis: OwnRedis | undefined;
  let processes: ServerProcess[] = [];
  let followers: Follower[] = [];
  let tmp: string | undefined;

  afterEach(async () => {
    for (const follower of followers) follower.close();
    await Promise.all(processes.map((process) => process.stop('SIGTERM', 5000)));
    await redis?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    processes = [];
    followers = [];
    redis = undefined;
    tmp = undefined;
  });

  for (const appendonly of [true, false]) {
    it(`${appendonly ? 'append-only' : 'no persistence'}: fast 503s while away, ready again, ${appendonly ? 'every job ends exactly once and every follower sees it' : 'followers of lost jobs get JOB_STATE_LOST'}`, async () => {
      const testStarted = Date.now();
      redis = await startOwnRedis({ appendonly });
      tmp = await mkdtemp(join(tmpdir(), 'a2i-fault-'));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const uploads = join(tmp, 'uploads');
      const env = {
        A2I_REDIS_URL: redis.url,
        A2I_REDIS_PREFIX: 'a2i-fault',
        A2I_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
        A2I_HOST: '127.0.0.1',
        A2I_PORT: String(port),
        A2I_UPLOADS_DIR: uploads,
        A2I_RESULTS_DIR: join(tmp, 'results'),
        A2I_PIPELINE: 'synthetic',
        A2I_SYNTHETIC_STEP_MS: String(STEP_MS),
        A2I_PROGRESS_INTERVAL_MS: '0',
        A2I_HEARTBEAT_INTERVAL_MS: '300',
        A2I_LOG_LEVEL: 'info',
        // one test client on one address opens every job and socket: per-client rate limits off
        A2I_RATE_GENERATIONS: 'off',
        A2I_RATE_CONNECTIONS: 'off',
      };
      const api = startApiProcess(env, 'pipe');
      const workers = [0, 1].map((n) => startWorkerProcess({ ...env, A2I_WORKER_NAME: `fault-worker-${n}` }, 'synthetic', 'pipe'));
      processes = [api, ...workers];
      await waitFor(async () => ((await noThrow(fetch(`${url}/readyz`)))?.status === 200 ? true : undefined), 'the api ready with 2 workers', 60_000, 200);

      // 1. Load: JOBS jobs (WITH_UPLOAD of them with an upload), each followed (SSE_FOLLOWERS over SSE).
      const jobs: Array<{ id: string; token: string }> = [];
      for (let i = 0; i < JOBS; i++) jobs.push(await submit(url, i));
      followers = jobs.map((job, i) => (i < SSE_FOLLOWERS ? followBySse(url, job) : followBySocket(url, job)));
      // Wait until the workers are busy and some jobs are done: the outage falls mid-load.
      await waitFor(() => (followers.filter((f) => f.events.some((e) => TERMINAL.has(e.type))).length >= 4 ? true : undefined), 'four jobs finished', 20_000);

      // 2. Redis dies.
      await redis.stop('SIGKILL');
      const downAt = Date.now();
      const finishedBefore = new Set(followers.filter((f) => f.events.some((e) => TERMINAL.has(e.type))).map((f) => f.id));
      const post = await timed(() =>
        fetch(`${url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ modality: 'text', text: 'x' }] }) }),
      );
      const get = await timed(() => fetch(`${url}/v1/generations/${jobs[0]!.id}`, { headers: { 'x-job-token': jobs[0]!.token } }));
      const readyz = await timed(() => fetch(`${url}/readyz`));
      for (const [name, answer] of [['POST /v1/generations', post], ['GET /v1/generations/:id', get]] as const) {
        expect({ name, status: answer.status, code: answer.body?.error?.code, retryAfter: answer.retryAfter !== null }).toEqual({ name, status: 503, code: 'NOT_READY', retryAfter: true });
        expect(answer.ms, `${name} answered within the command timeout + margin`).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
      }
      expect(readyz.status).toBe(503);
      expect(readyz.body?.error?.code).toBe('NOT_READY');
      expect(readyz.ms, '/readyz answered at once while Redis is away').toBeLessThan(READYZ_DOWN_MS);

      // 3. Redis comes back on the same port after DOWN_MS.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, DOWN_MS - (Date.now() - downAt))));
      await redis.start();
      const backAt = Date.now();
      await waitFor(async () => ((await noThrow(fetch(`${url}/readyz`)))?.status === 200 ? true : undefined), 'the api ready again', READY_AGAIN_MS);
      const readyAgainMs = Date.now() - backAt;

      // 3b. Append-only: blips of the api's subscriber alone while the jobs left finish (the
      //     defect of #14: final events published while it reconnects are lost to it).
      let blips = 0;
      if (appendonly) {
        const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        for (let i = 0; i < SUBSCRIBER_BLIPS; i++) {
          const list = String(await admin.client('LIST'));
          const line = list.split('\n').find((entry) => entry.includes(' name=a2i-api-events '));
          const id = line ? /^id=(\d+) /.exec(line)?.[1] : undefined;
          if (id) blips += Number(await admin.client('KILL', 'ID', id));
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        await admin.quit();
        expect(blips, 'subscriber connections killed').toBeGreaterThan(0);
      }

      // 4. No follower left hanging.
      await waitFor(() => (followers.every((f) => f.events.some((e) => TERMINAL.has(e.type))) ? true : undefined), 'a terminal event for every follower', FOLLOWERS_DONE_MS, 100);
      await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate, if any, would show now
      const lastTerminalMs = Math.max(...followers.map((f) => f.events.find((e) => TERMINAL.has(e.type))!.at)) - backAt;

      for (const follower of followers) {
        const terminals = follower.events.filter((e) => TERMINAL.has(e.type));
        expect(terminals.length, `terminal events of ${follower.id} (${follower.via})`).toBe(1);
        expect(follower.events.at(-1)!.type, `the last event of ${follower.id} is its terminal one`).toBe(terminals[0]!.type);
        const seqs = follower.events.map((e) => e.seq);
        expect(seqs, `seqs of ${follower.id} never go back`).toEqual([...seqs].sort((a, b) => a - b));
      }
      const outcome = new Map(followers.map((f) => [f.id, f.events.find((e) => TERMINAL.has(e.type))!]));
      const statuses = await Promise.all(jobs.map((job) => fetch(`${url}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } }).then(async (r) => ({ http: r.status, body: (await r.json()) as { status?: string } }))));

      let lost = 0;
      if (appendonly) {
        // Exactly once: every job succeeded, and its followers saw that one outcome once.
        expect(jobs.map((job) => outcome.get(job.id)!.type)).toEqual(jobs.map(() => 'job:succeeded'));
        expect(statuses.map((s) => s.body.status)).toEqual(jobs.map(() => 'succeeded'));
        await waitFor(async () => ((await readdir(uploads)).length === 0 ? true : undefined), `no upload left in ${uploads}`, 10_000).catch(async (error: Error) => {
          // seen once in CI and not reproduced since: name the folders left and what the processes logged of their jobs
          throw new Error(`${error.message}\n${await uploadsLeftReport(uploads, processes)}`);
        });
      } else {
        // Jobs Redis forgot: JOB_STATE_LOST to their followers, 404 to GET; the others succeeded before the outage.
        expect(statuses.map((s) => s.http)).toEqual(jobs.map(() => 404));
        for (const job of jobs) {
          const seen = outcome.get(job.id)!;
          if (seen.type !== 'job:succeeded') {
            lost += 1;
            expect({ id: job.id, type: seen.type, code: seen.code }).toEqual({ id: job.id, type: 'job:failed', code: 'JOB_STATE_LOST' });
          }
        }
        expect(lost, 'jobs Redis forgot mid-load').toBeGreaterThan(0);
      }

      // 5. Processes alive and quiet: no unhandled ioredis error, each connection's loss logged once.
      for (const process of processes) expect(process.alive()).toBe(true);
      const unhandled = processes.map((process) => process.output.stderr.split('\n').filter((line) => line.includes('Unhandled error event')).length);
      expect(unhandled).toEqual(processes.map(() => 0));
      for (const process of processes) {
        const lostLines = logLinesByConnection(process.output.stdout, 'Redis connection lost; reconnecting');
        expect(lostLines.size, 'connections that logged their loss').toBeGreaterThan(0);
        for (const [connection, count] of lostLines) expect(count, `"connection lost" lines of ${connection}`).toBe(connection === 'api-events' ? 1 + blips : 1);
      }
      const apiLost = logLinesByConnection(api.output.stdout, 'Redis connection lost; reconnecting');
      expect([...apiLost.keys()].sort()).toEqual(['api-commands', 'api-embedding-events', 'api-events']);

      console.log(
        `[redis-restart ${appendonly ? 'append-only' : 'no persistence'}] 503 after POST ${post.ms.toFixed(0)} ms, GET ${get.ms.toFixed(0)} ms; ` +
          `/readyz while away ${readyz.ms.toFixed(0)} ms; ready ${readyAgainMs} ms after Redis returned; ` +
          `last terminal event ${lastTerminalMs} ms after it; jobs finished before the outage ${finishedBefore.size}/${JOBS}, ` +
          `subscriber blips ${blips}, lost ${lost}, duplicated 0, followers hanging 0; test ${((Date.now() - testStarted) / 1000).toFixed(1)} s`,
      );
    }, 120_000);
  }
});
