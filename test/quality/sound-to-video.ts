import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { meanAbsoluteFrameDifference } from '@a2i/pipeline';
import { WORLD_PYTHON } from './demo-world-scenes.js';

/**
 * Issue #19's quality measure of a video that follows a sound, on the demo world, through the
 * HTTP API: recordings whose place changes part-way (models/recipes/world_changes.py, held-out
 * scenes), each made into a video with its frames kept; each frame's place is read from its
 * colour (the mean of its FRAME-pixel border, which the world draws as background only, nearest
 * of the world's place colours: world.py PLACE_RGB) and compared with the place of the sound at
 * the frame's time, outside a band around the change. Objects, when asked, by zero-shot
 * classification of the frames with the pack's own image tower (POST /v1/classify against
 * "a circle", "a square", ...). Flicker: meanAbsoluteFrameDifference of the frames.
 */

const WORLD_CHANGES = fileURLToPath(new URL('../../models/recipes/world_changes.py', import.meta.url));

export interface SceneFacts {
  place: string;
  object: string;
  colour: string;
  size: string;
}

export interface ChangeRecording {
  name: string;
  file: string;
  /** null: a steady recording. */
  changeSec: number | null;
  before: SceneFacts;
  after: SceneFacts;
}

export interface ChangeRecordings {
  seconds: number;
  changeSec: number;
  placeRgb: Record<string, [number, number, number]>;
  frame: number;
  recordings: ChangeRecording[];
}

/** Writes the recordings with the system Python (at nice 10) and reads their index. */
export async function writeChangeRecordings(dir: string, options: { seconds: number; changeSec: number; steady?: boolean }): Promise<ChangeRecordings> {
  const args = [WORLD_PYTHON, WORLD_CHANGES, '--out', dir, '--seconds', String(options.seconds), '--change', String(options.changeSec), ...(options.steady ? ['--steady'] : [])];
  const run = spawnSync('nice', ['-n', '10', ...args], { encoding: 'utf8', timeout: 5 * 60_000 });
  if (run.status !== 0) throw new Error(`Expected world_changes.py to exit 0 but received ${run.status ?? run.signal}: ${run.stderr.trim()}`);
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ChangeRecordings;
}

/** The place a frame shows: its border's mean colour, nearest (Euclidean RGB) of the world's place colours. */
export function placeOfFrame(rgb: Uint8Array, width: number, height: number, border: number, placeRgb: Record<string, readonly number[]>): string {
  const sum = [0, 0, 0];
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= border && x < width - border && y >= border && y < height - border) continue;
      for (let c = 0; c < 3; c++) sum[c]! += rgb[(y * width + x) * 3 + c]!;
      count++;
    }
  }
  const mean = sum.map((s) => s / count);
  let best = '';
  let bestDistance = Infinity;
  for (const [place, colour] of Object.entries(placeRgb)) {
    const distance = Math.hypot(...mean.map((m, c) => m - colour[c]!));
    if (distance < bestDistance) [best, bestDistance] = [place, distance];
  }
  return best;
}

export interface VideoOfRecording {
  name: string;
  frames: number;
  fps: number;
  /** Frames outside the band whose place is the sound's at their time, of those frames. */
  placeHits: number;
  placeFrames: number;
  objectHits: number;
  objectFrames: number;
  flicker: number;
  /** Wall time from POST to job:succeeded. */
  ms: number;
}

export interface VideoRequestOptions {
  fps: number;
  steps?: number;
  seed?: number;
  smoothing?: number;
  window?: number;
  hop?: number;
  /** Seconds each side of the change left out of the place count (the 1.5 s band: 0.75). */
  bandHalfSec: number;
  /** Classify every n-th frame outside the band for its object (0: objects not measured). */
  objectEvery?: number;
}

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls a job's status until it ends (status answers are cheap; SSE would do too). */
async function finished(url: string, id: string, token: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (;;) {
    const { body } = await call(`${url}/v1/generations/${id}?token=${token}`, {});
    if (['succeeded', 'failed', 'canceled'].includes(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One recording made into a video over HTTP and measured. */
export async function measureRecording(url: string, dir: string, index: ChangeRecordings, recording: ChangeRecording, options: VideoRequestOptions): Promise<VideoOfRecording> {
  const sound = await readFile(join(dir, recording.file));
  const output: Record<string, unknown> = { type: 'video', fps: options.fps, frames: true };
  if (options.smoothing !== undefined) output.smoothing = options.smoothing;
  if (options.window !== undefined) output.window = options.window;
  if (options.hop !== undefined) output.hop = options.hop;
  const form = new FormData();
  form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound' }], seed: options.seed ?? 1, ...(options.steps ? { steps: options.steps } : {}), output }));
  form.set('sound', new Blob([sound], { type: 'audio/wav' }), recording.file);
  const started = Date.now();
  // a 503 (NOT_READY: Redis slow to answer on a loaded machine; QUEUE_FULL) is tried again, as its Retry-After says
  let created = await call(`${url}/v1/generations`, { method: 'POST', body: form });
  for (let tries = 1; created.status === 503 && tries < 10; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    created = await call(`${url}/v1/generations`, { method: 'POST', body: form });
  }
  if (created.status !== 202) throw new Error(`Expected 202 for ${recording.name} but received ${created.status}: ${JSON.stringify(created.body)}`);
  const { id, token } = created.body as { id: string; token: string };
  const end = await finished(url, id, token);
  const ms = Date.now() - started;
  if (end.status !== 'succeeded') throw new Error(`Expected ${recording.name}'s video to succeed but it ${end.status}: ${JSON.stringify(end.error)}`);
  const frames: Uint8Array[] = [];
  const pngs: Buffer[] = [];
  let size = { width: 0, height: 0 };
  for (const image of end.images as Array<{ index: number }>) {
    const png = Buffer.from(await (await fetch(`${url}/v1/generations/${id}/images/${image.index}?token=${token}`)).arrayBuffer());
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    size = { width: info.width, height: info.height };
    frames.push(new Uint8Array(data));
    pngs.push(png);
  }
  const objectLabels = [...new Set([recording.before.object, recording.after.object, 'circle', 'square', 'triangle', 'star', 'ring'])].sort();
  let placeHits = 0;
  let placeFrames = 0;
  let objectHits = 0;
  let objectFrames = 0;
  for (const [i, rgb] of frames.entries()) {
    const t = (i + 0.5) / options.fps;
    if (recording.changeSec !== null && Math.abs(t - recording.changeSec) < options.bandHalfSec) continue;
    const truth = recording.changeSec === null || t < recording.changeSec ? recording.before : recording.after;
    placeFrames++;
    if (placeOfFrame(rgb, size.width, size.height, index.frame, index.placeRgb) === truth.place) placeHits++;
    if (options.objectEvery && i % options.objectEvery === 0) {
      const form = new FormData();
      form.set('request', JSON.stringify({ inputs: [{ modality: 'image', file: 'frame' }], labels: objectLabels.map((o) => `a ${o}`) }));
      form.set('frame', new Blob([pngs[i]!], { type: 'image/png' }), 'frame.png');
      const answer = await call(`${url}/v1/classify`, { method: 'POST', body: form });
      objectFrames++;
      if (answer.body.labels[0].label === `a ${truth.object}`) objectHits++;
    }
  }
  return { name: recording.name, frames: frames.length, fps: options.fps, placeHits, placeFrames, objectHits, objectFrames, flicker: meanAbsoluteFrameDifference(frames), ms };
}
