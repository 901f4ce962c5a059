/**
 * Storage benchmark: upload-to-image latency with uploads and results in S3-compatible object
 * storage against the local directory, in the same run.
 *
 *   npx tsx test/bench/storage.bench.ts [--runs 15] [--steps 10] [--seconds 1] [--json PATH]
 *
 * Two stacks in this process, each an api and a worker (createApp, startWorker) on a real Redis
 * (A2I_REDIS_URL, default 127.0.0.1:6379) under its own fresh key prefix, with the synthetic
 * pipeline (A2I_SYNTHETIC_STEP_MS=5, so that storage is a visible share of a job): one with
 * A2I_STORAGE=file:<tmp>, one with A2I_STORAGE=s3://<bucket>/bench on the tests' S3 server
 * (s3rver on loopback, test/support/s3-server.ts). One run: POST a WAV of `--seconds` seconds
 * (multipart), follow the job's Server-Sent Events to job:succeeded, GET the image; timed from
 * the POST to the image's last byte. Runs alternate between the two stores (after one warm-up
 * each), and the medians are compared. What it measures: the storage path's own cost (the
 * upload's PUT at POST, the worker's GET, the result's PUT and the image's GET, through the
 * SDK on loopback), not a network's: a remote bucket adds its round trips to each of those four.
 * Skipped, with a note in the JSON, when no Redis answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp, type ApiApp } from '@a2i/api';
import { loadServerConfig, redisAnswers, removeKeysWithPrefix, type ServerConfig } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { sampleSoundWav } from '../support/sample-sound.js';
import { startTestS3Server, useTestS3Credentials } from '../support/s3-server.js';
import { waitFor } from '../support/wait-for.js';
import { positiveInt } from './bench-args.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    steps: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const RUNS = positiveInt('runs', args.runs);
const STEPS = positiveInt('steps', args.steps);
const SECONDS = positiveInt('seconds', args.seconds);

interface Stack {
  name: 'file' | 's3';
  config: ServerConfig;
  api: ApiApp;
  worker: RunningWorker;
  url: string;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Reads a job's Server-Sent Events until job:succeeded (throws on job:failed / job:canceled). */
async function untilSucceeded(url: string, id: string, token: string): Promise<void> {
  const response = await fetch(`${url}/v1/generations/${id}/events`, { headers: { 'x-job-token': token } });
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes('event: job:succeeded')) return;
    if (/event: job:(failed|canceled)/.test(text)) throw new Error(`Expected job ${id} to succeed but: ${text.slice(-400)}`);
  }
  throw new Error(`The event stream of ${id} ended before job:succeeded`);
}

/** One upload-to-image run; its milliseconds and the image's bytes. */
async function timedRun(stack: Stack, sound: Uint8Array): Promise<{ ms: number; imageBytes: number }> {
  const started = performance.now();
  const form = new FormData();
  form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: STEPS, previewEvery: 0 }));
  form.set('sound', new Blob([sound], { type: 'audio/wav' }), 'sound.wav');
  const answer = await fetch(`${stack.url}/v1/generations`, { method: 'POST', body: form });
  if (answer.status !== 202) throw new Error(`Expected 202 from ${stack.name} but received ${answer.status}: ${await answer.text()}`);
  const { id, token } = (await answer.json()) as { id: string; token: string };
  await untilSucceeded(stack.url, id, token);
  const image = await fetch(`${stack.url}/v1/generations/${id}/images/0`, { headers: { 'x-job-token': token } });
  const bytes = (await image.arrayBuffer()).byteLength;
  if (image.status !== 200) throw new Error(`Expected the image from ${stack.name} but received ${image.status}`);
  return { ms: performance.now() - started, imageBytes: bytes };
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = { bench: 'storage', pipeline: 'synthetic', node: process.version, runs: RUNS, steps: STEPS, soundSeconds: SECONDS };
  const finish = async () => {
    if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  };
  const redisUrl = process.env.A2I_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) {
    report.skipped = `no Redis answers at ${redisUrl} (start one: redis-server, or npm start starts it)`;
    console.log(`storage bench: SKIPPED: ${report.skipped}`);
    return finish();
  }
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-bench-storage-'));
  const s3 = await startTestS3Server();
  useTestS3Credentials(s3);
  const logger = pino({ level: 'silent' });
  const stacks: Stack[] = [];
  try {
    for (const name of ['file', 's3'] as const) {
      const config = loadServerConfig({
        A2I_REDIS_URL: redisUrl,
        A2I_REDIS_PREFIX: `a2i-bench-storage-${name}-${randomBytes(6).toString('hex')}`,
        A2I_STORAGE: name === 'file' ? `file:${join(tmp, 'var')}` : `s3://${s3.bucket}/bench`,
        ...(name === 's3' ? { A2I_S3_ENDPOINT: s3.endpoint, A2I_UPLOADS_DIR: join(tmp, 's3-spool') } : {}),
        A2I_COLLECTIONS_URI: join(tmp, `collections-${name}`),
        A2I_LOG_LEVEL: 'silent',
        A2I_PIPELINE: 'synthetic',
        A2I_SYNTHETIC_STEP_MS: '5',
        A2I_PROGRESS_INTERVAL_MS: '200',
        A2I_RATE_GENERATIONS: 'off',
      });
      const worker = await startWorker({ config, logger });
      const api = await createApp({ config, logger });
      const url = await api.listen(0, '127.0.0.1');
      stacks.push({ name, config, api, worker, url });
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, `the ${name} stack ready`, 60_000);
    }
    const sound = sampleSoundWav({ seconds: SECONDS });
    const times: Record<'file' | 's3', number[]> = { file: [], s3: [] };
    let imageBytes = 0;
    for (const stack of stacks) await timedRun(stack, sound); // warm-up
    for (let run = 0; run < RUNS; run++) {
      // alternate which store goes first, so neither always follows the other
      for (const stack of run % 2 === 0 ? stacks : [...stacks].reverse()) {
        const result = await timedRun(stack, sound);
        times[stack.name].push(result.ms);
        imageBytes = result.imageBytes;
      }
    }
    const file = median(times.file);
    const objectStorage = median(times.s3);
    Object.assign(report, {
      uploadBytes: sound.byteLength,
      imageBytes,
      ms: { file: times.file.map((t) => Number(t.toFixed(2))), s3: times.s3.map((t) => Number(t.toFixed(2))) },
      medianMs: { file: Number(file.toFixed(2)), s3: Number(objectStorage.toFixed(2)) },
      ratio: Number((objectStorage / file).toFixed(3)),
      summary: [
        { metric: `upload-to-image, local directory (median of ${RUNS}; ${STEPS} synthetic steps of 5 ms)`, value: Number(file.toFixed(1)), unit: 'ms' },
        { metric: 'upload-to-image, S3 (s3rver on loopback)', value: Number(objectStorage.toFixed(1)), unit: 'ms' },
        { metric: 'S3 / local directory', value: Number((objectStorage / file).toFixed(2)), unit: 'x' },
        { metric: 'S3 - local directory: the storage path\'s own cost', value: Number((objectStorage - file).toFixed(1)), unit: 'ms' },
      ],
    });
    console.log(`storage bench: ${RUNS} runs each, a ${SECONDS} s WAV (${sound.byteLength} bytes) to a ${imageBytes}-byte PNG, ${STEPS} synthetic steps`);
    console.log(`  local directory: median ${file.toFixed(1)} ms`);
    console.log(`  S3 (s3rver, loopback): median ${objectStorage.toFixed(1)} ms  (${(objectStorage / file).toFixed(2)}x, +${(objectStorage - file).toFixed(1)} ms)`);
  } finally {
    for (const stack of stacks) {
      await stack.api.close();
      await stack.worker.close();
      await removeKeysWithPrefix(redisUrl, stack.config.redis.prefix);
    }
    await s3.close();
    await rm(tmp, { recursive: true, force: true });
    await finish();
  }
}

await main();
