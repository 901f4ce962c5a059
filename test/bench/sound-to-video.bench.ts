/**
 * Sound to video (issue #19): quality, flicker and speed of a video that follows a recording, on
 * the demo pack, over HTTP.
 *
 *   npx tsx test/bench/sound-to-video.bench.ts [--smoothing 0,0.25,0.5,1,2] [--recordings 12]
 *     [--object-every 4] [--fps 8] [--json PATH]
 *
 * An api and one worker in this process (createApp, startWorker: the ONNX pipeline on models/demo,
 * one onnxruntime thread), on a real Redis under a fresh prefix. The recordings are written by
 * models/recipes/world_changes.py (held-out seed 4): 12 s, the place changing at 6 s, one per
 * ordered pair of places (12), and 4 steady ones (one per place). For each smoothing time
 * constant, every recording becomes a video (default fps, window and hop) with its frames, and:
 *   place      frames outside the 1.5 s band around the change whose place (read from
 *              the frame's border colour) is the sound's at that time
 *   object     every n-th of those frames classified (POST /v1/classify, "a circle", ...) against
 *              the object whose calls are heard at that time
 *   flicker    mean absolute difference of consecutive frames (8-bit levels), steady recordings
 *              and changing ones apart
 * Speed: frames of video made per second of wall time (POST to job:succeeded, encode included),
 * the four steady recordings at once with 1 worker, then again with a second worker (in this process,
 * its pipeline in a thread of its own: 2 onnxruntime threads on the machine's 2 cores).
 * Skipped, with a note in the JSON, without the demo pack, Redis, ffmpeg or the world's Python.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp } from '@a2i/api';
import { describeFfmpeg } from '@a2i/pipeline';
import { loadServerConfig, redisAnswers, removeKeysWithPrefix } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { worldPythonMissing } from '../quality/demo-world-scenes.js';
import { measureRecording, writeChangeRecordings, type VideoOfRecording } from '../quality/sound-to-video.js';
import { positiveInt, writeReport } from './bench-args.js';

const { values: args } = parseArgs({
  options: {
    smoothing: { type: 'string', default: '0,0.25,0.5,1,2' },
    recordings: { type: 'string', default: '12' },
    'object-every': { type: 'string', default: '4' },
    fps: { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});
const SMOOTHING = args.smoothing.split(',').map(Number);
if (SMOOTHING.some((s) => !Number.isFinite(s) || s < 0)) throw new Error(`Expected a comma list of numbers >= 0 for --smoothing but received ${args.smoothing}`);
const RECORDINGS = positiveInt('recordings', args.recordings);
const OBJECT_EVERY = positiveInt('object-every', args['object-every']);
const FPS = positiveInt('fps', args.fps);
const DEMO = fileURLToPath(new URL('../../models/demo', import.meta.url));
const REDIS_URL = process.env.A2I_REDIS_URL ?? 'redis://127.0.0.1:6379';

const fraction = (hits: number, of: number) => (of === 0 ? null : hits / of);
const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

async function main(): Promise<void> {
  const skipped = [
    existsSync(join(DEMO, 'manifest.json')) ? null : 'no demo pack (models/demo/manifest.json)',
    (await redisAnswers(REDIS_URL)) ? null : `no Redis at ${REDIS_URL}`,
    describeFfmpeg().available ? null : 'no ffmpeg',
    worldPythonMissing(),
  ].filter((why): why is string => why !== null);
  if (skipped.length > 0) {
    await report({ skipped });
    return;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-sound-to-video-'));
  const config = loadServerConfig({
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: `a2i-bench-video-${randomBytes(4).toString('hex')}`,
    A2I_STORAGE: `file:${join(tmp, 'var')}`,
    A2I_COLLECTIONS_URI: join(tmp, 'collections'),
    A2I_COLLECTIONS_MEDIA_DIR: join(tmp, 'collections-media'),
    A2I_PIPELINE: 'onnx',
    A2I_PACK_DIR: DEMO,
    A2I_ORT_THREADS: '1',
    A2I_RATE_GENERATIONS: 'off',
    A2I_RATE_EMBEDDINGS: 'off',
    A2I_LOG_LEVEL: 'warn',
  });
  const logger = pino({ level: 'warn' });
  const workers: RunningWorker[] = [await startWorker({ config, logger })];
  const api = await createApp({ config, logger });
  const url = await api.listen(0, '127.0.0.1');
  try {
    const index = await writeChangeRecordings(join(tmp, 'recordings'), { seconds: 12, changeSec: 6, steady: true });
    const changing = index.recordings.filter((r) => r.changeSec !== null).slice(0, RECORDINGS);
    const steady = index.recordings.filter((r) => r.changeSec === null);
    const sweep = [];
    for (const smoothing of SMOOTHING) {
      const measured: VideoOfRecording[] = [];
      for (const recording of [...changing, ...steady]) {
        measured.push(await measureRecording(url, join(tmp, 'recordings'), index, recording, { fps: FPS, smoothing, bandHalfSec: 0.75, objectEvery: OBJECT_EVERY }));
      }
      const changes = measured.filter((m) => m.name.startsWith('change'));
      const steadies = measured.filter((m) => m.name.startsWith('steady'));
      const sum = (ms: VideoOfRecording[], key: keyof VideoOfRecording) => ms.reduce((a, m) => a + (m[key] as number), 0);
      const row = {
        smoothing,
        placeOutsideBand: fraction(sum(changes, 'placeHits'), sum(changes, 'placeFrames')),
        placeWorstRecording: Math.min(...changes.map((m) => m.placeHits / m.placeFrames)),
        objectOutsideBand: fraction(sum(changes, 'objectHits'), sum(changes, 'objectFrames')),
        placeSteady: fraction(sum(steadies, 'placeHits'), sum(steadies, 'placeFrames')),
        flickerSteady: mean(steadies.map((m) => m.flicker)),
        flickerChanging: mean(changes.map((m) => m.flicker)),
        framesPerSecond: sum(measured, 'frames') / (sum(measured, 'ms') / 1000),
        recordings: measured,
      };
      console.error(JSON.stringify({ ...row, recordings: undefined }));
      sweep.push(row);
    }
    // speed: the steady recordings with 1 worker, then 2 (one onnxruntime thread each)
    const speed = async () => {
      const started = Date.now();
      const made = await Promise.all(steady.map((recording) => measureRecording(url, join(tmp, 'recordings'), index, recording, { fps: FPS, bandHalfSec: 0.75 })));
      return made.reduce((a, m) => a + m.frames, 0) / ((Date.now() - started) / 1000);
    };
    const oneWorker = await speed();
    workers.push(await startWorker({ config: { ...config, worker: { ...config.worker, name: 'bench-worker-2' } }, logger }));
    const twoWorkers = await speed();
    await report({
      fps: FPS,
      recordings: { changing: changing.length, steady: steady.length, seconds: 12, changeSec: 6 },
      sweep,
      speed: { framesPerSecondOneWorker: oneWorker, framesPerSecondTwoWorkers: twoWorkers },
      summary: [
        ...sweep.flatMap((row) => [
          { metric: `smoothing ${row.smoothing} s: place outside the 1.5 s band`, value: row.placeOutsideBand, unit: 'fraction' },
          { metric: `smoothing ${row.smoothing} s: object outside the band`, value: row.objectOutsideBand, unit: 'fraction' },
          { metric: `smoothing ${row.smoothing} s: flicker steady / changing`, value: `${row.flickerSteady?.toFixed(3)} / ${row.flickerChanging?.toFixed(3)}`, unit: 'levels' },
        ]),
        { metric: 'frames of video per second, 1 worker', value: oneWorker, unit: 'frames/s' },
        { metric: 'frames of video per second, 2 workers', value: twoWorkers, unit: 'frames/s' },
      ],
    });
  } finally {
    await api.close();
    for (const worker of workers) await worker.close();
    await removeKeysWithPrefix(REDIS_URL, config.redis.prefix);
    await rm(tmp, { recursive: true, force: true });
  }
}

const report = (result: Record<string, unknown>) => writeReport(result, args.json);

await main();
process.exit(0);
