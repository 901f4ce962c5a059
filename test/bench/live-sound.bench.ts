/**
 * Live sound (issue #19, part 2): how soon a picture follows the sound, and what a stream costs
 * the ordinary jobs, on the demo pack.
 *
 *   npx tsx test/bench/live-sound.bench.ts [--seconds 30] [--chunk-ms 250] [--steps 25] [--json PATH]
 *
 * An api and one worker in this process (the ONNX pipeline on models/demo, one onnxruntime
 * thread), on a real Redis under a fresh prefix. A client streams a demo-world recording in real
 * time (chunks of `--chunk-ms`, 16 kHz 16-bit) through @a2i/client's live(); another posts
 * ordinary generations (`--steps` decoder steps, prior auto, one at a time, back to back). Three
 * phases of `--seconds` each:
 *   ordinary   the ordinary jobs alone: jobs per minute
 *   both       the stream and the ordinary jobs together: jobs per minute, and the stream's latency
 *   live       the stream alone: its latency
 * Latency, two ways: per picture, the api's own figure (`latencyMs`: the arrival of the newest
 * chunk of the painted window to the live:image event); per chunk, on the client's clock, from
 * sending a chunk to receiving the first picture whose window holds it (whose newest chunk
 * arrived after that one was sent). p50 / p99 of each.
 * Skipped, with a note in the JSON, without the demo pack or Redis.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp } from '@a2i/api';
import { A2iClient, type LiveSession } from '@a2i/client';
import { decodeAudio } from '@a2i/media';
import { loadServerConfig, redisAnswers, removeKeysWithPrefix, type LiveImageEvent } from '@a2i/protocol';
import { startWorker } from '@a2i/worker';
import { positiveInt, writeReport } from './bench-args.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'chunk-ms': { type: 'string', default: '250' },
    steps: { type: 'string', default: '25' },
    json: { type: 'string' },
  },
});
const SECONDS = positiveInt('seconds', args.seconds);
const CHUNK_MS = positiveInt('chunk-ms', args['chunk-ms']);
const STEPS = positiveInt('steps', args.steps);
const DEMO = fileURLToPath(new URL('../../models/demo', import.meta.url));
const REDIS_URL = process.env.A2I_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RATE = 16_000;

const percentile = (values: number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The demo samples as one 16 kHz mono recording, played in a loop. */
async function recording(): Promise<Int16Array> {
  const parts: Float32Array[] = [];
  for (const name of ['sea-bell', 'meadow-boop', 'desert-buzz', 'night-chirp']) {
    const pcm = await decodeAudio(await readFile(join(DEMO, 'samples', `${name}.wav`)));
    if (pcm.sampleRate !== RATE) throw new Error(`Expected the demo samples at ${RATE} Hz but ${name} is ${pcm.sampleRate} Hz`);
    parts.push(pcm.channels[0]!);
  }
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(Int16Array.from(part, (x) => Math.round(Math.max(-1, Math.min(1, x)) * 32767)), offset);
    offset += part.length;
  }
  return all;
}

interface StreamFigures {
  chunks: number;
  pictures: number;
  skipped: number;
  perPictureMs: { p50: number | null; p99: number | null };
  perChunkMs: { p50: number | null; p99: number | null };
}

/** Streams `sound` in real time for `seconds` and measures the latencies. */
async function stream(client: A2iClient, sound: Int16Array, seconds: number): Promise<StreamFigures> {
  const images: Array<LiveImageEvent & { receivedAt: number }> = [];
  let stats = { chunks: 0, refused: 0, pictures: 0, skipped: 0 };
  const session: LiveSession = await client.live({ sampleRate: RATE }, {
    onImage: (event) => images.push({ ...event, receivedAt: Date.now() }),
    onEnded: (event) => (stats = event.stats),
  });
  const perChunk = (RATE * CHUNK_MS) / 1000;
  const sent: number[] = [];
  const began = Date.now();
  for (let k = 0; Date.now() - began < seconds * 1000; k++) {
    const start = (k * perChunk) % (sound.length - perChunk);
    sent.push(Date.now());
    session.send(sound.slice(start, start + perChunk));
    // real time: the k+1th chunk goes (k+1) chunks after the start
    await sleep(Math.max(0, began + (k + 1) * CHUNK_MS - Date.now()));
  }
  // the last pictures come, then the stream ends
  await sleep(2000);
  await session.stop();
  await sleep(200);
  const perChunkMs = sent.flatMap((at) => {
    const first = images.find((image) => image.chunkAt >= at);
    return first ? [first.receivedAt - at] : [];
  });
  return {
    chunks: stats.chunks,
    pictures: images.length,
    skipped: stats.skipped,
    perPictureMs: { p50: percentile(images.map((i) => i.latencyMs), 50), p99: percentile(images.map((i) => i.latencyMs), 99) },
    perChunkMs: { p50: percentile(perChunkMs, 50), p99: percentile(perChunkMs, 99) },
  };
}

/** Ordinary generations one after another until `stop()`; resolves with how many succeeded and the time. */
function ordinaryJobs(client: A2iClient) {
  let running = true;
  const began = Date.now();
  let done = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const job = await client.generate({ inputs: [{ modality: 'text', text: `a large red star in the sea ${i}` }], steps: STEPS, previewEvery: 0 });
      const end = await client.follow(job);
      if (end.type === 'job:succeeded') done++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { jobs: done, jobsPerMinute: (done * 60_000) / (Date.now() - began) };
    },
  };
}

async function main(): Promise<void> {
  const skipped = [existsSync(join(DEMO, 'manifest.json')) ? null : 'no demo pack (models/demo/manifest.json)', (await redisAnswers(REDIS_URL)) ? null : `no Redis at ${REDIS_URL}`].filter(
    (why): why is string => why !== null,
  );
  if (skipped.length > 0) return report({ skipped });
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-live-bench-'));
  const config = loadServerConfig({
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: `a2i-bench-live-${randomBytes(4).toString('hex')}`,
    A2I_STORAGE: `file:${join(tmp, 'var')}`,
    A2I_COLLECTIONS_URI: join(tmp, 'collections'),
    A2I_COLLECTIONS_MEDIA_DIR: join(tmp, 'collections-media'),
    A2I_PIPELINE: 'onnx',
    A2I_PACK_DIR: DEMO,
    A2I_ORT_THREADS: '1',
    A2I_RATE_GENERATIONS: 'off',
    A2I_RATE_CONNECTIONS: 'off',
    A2I_LOG_LEVEL: 'warn',
  });
  const logger = pino({ level: 'warn' });
  const worker = await startWorker({ config, logger });
  const api = await createApp({ config, logger });
  const url = await api.listen(0, '127.0.0.1');
  const client = new A2iClient({ server: url });
  try {
    const sound = await recording();
    console.error('phase: ordinary jobs alone');
    const alone = ordinaryJobs(client);
    await sleep(SECONDS * 1000);
    const ordinary = await alone.stop();
    console.error('phase: a live stream with ordinary jobs');
    const together = ordinaryJobs(client);
    const live = await stream(client, sound, SECONDS);
    const withLive = await together.stop();
    console.error('phase: the live stream alone');
    const liveAlone = await stream(client, sound, SECONDS);
    await report({
      seconds: SECONDS,
      chunkMs: CHUNK_MS,
      ordinarySteps: STEPS,
      liveSteps: config.live.steps,
      ordinary,
      both: { ordinary: withLive, live },
      live: liveAlone,
      summary: [
        { metric: 'live alone: picture latency p50 / p99 (api: newest chunk -> live:image)', value: `${liveAlone.perPictureMs.p50} / ${liveAlone.perPictureMs.p99}`, unit: 'ms' },
        { metric: 'live alone: chunk -> its first picture p50 / p99 (client)', value: `${liveAlone.perChunkMs.p50} / ${liveAlone.perChunkMs.p99}`, unit: 'ms' },
        { metric: 'live with ordinary jobs: picture latency p50 / p99', value: `${live.perPictureMs.p50} / ${live.perPictureMs.p99}`, unit: 'ms' },
        { metric: 'live with ordinary jobs: chunk -> its first picture p50 / p99', value: `${live.perChunkMs.p50} / ${live.perChunkMs.p99}`, unit: 'ms' },
        { metric: 'ordinary jobs per minute, alone / with a live stream', value: `${ordinary.jobsPerMinute.toFixed(1)} / ${withLive.jobsPerMinute.toFixed(1)}`, unit: 'jobs/min' },
      ],
    });
  } finally {
    await api.close();
    await worker.close();
    await removeKeysWithPrefix(REDIS_URL, config.redis.prefix);
    await rm(tmp, { recursive: true, force: true });
  }
}

const report = (result: Record<string, unknown>) => writeReport(result, args.json);

await main();
process.exit(0);
