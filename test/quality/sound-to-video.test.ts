import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../apps/api/test/harness.js';
import { worldPythonMissing } from './demo-world-scenes.js';
import { measureRecording, writeChangeRecordings, type ChangeRecordings, type VideoOfRecording } from './sound-to-video.js';

// Issue #19's quality check in a short version (the bench, test/bench/sound-to-video.bench.ts,
// runs the issue's 12 s recordings for every pair of places): a real api + worker on the demo
// pack over HTTP; held-out recordings of the demo world (world_changes.py, seed 4) of 8 s whose
// place changes at 4 s, one per step of the cycle sea -> meadow -> desert -> night -> sea, and one
// steady recording; videos at 4 fps with the server's default window, hop and smoothing.
// Asserted: the frames outside the issue's 1.5 s band around the change show the place of the
// sound at their time (read from the frame's border colour) in >= 90 % of frames, and a steady
// sound flickers (mean absolute difference of consecutive frames) far less than a changing one.
const DEMO = fileURLToPath(new URL('../../models/demo', import.meta.url));
const CYCLE = ['sea>meadow', 'meadow>desert', 'desert>night', 'night>sea'];
const missing = worldPythonMissing();
if (missing) console.warn(`sound-to-video quality: SKIPPED: ${missing}`);

describe.skipIf(missing !== null)(`sound to video on the demo world through the HTTP API${missing ? ` (SKIPPED: ${missing})` : ''}`, () => {
  let stack: Stack;
  let dir: string;
  let index: ChangeRecordings;
  const changing: VideoOfRecording[] = [];
  let steady: VideoOfRecording;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2i-world-changes-'));
    index = await writeChangeRecordings(dir, { seconds: 8, changeSec: 4, steady: true });
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_ORT_THREADS: '1', A2I_VIDEO_FRAMES_PER_PART: '16' } });
    const options = { fps: 4, bandHalfSec: 0.75 };
    for (const recording of index.recordings) {
      const pair = `${recording.before.place}>${recording.after.place}`;
      if (recording.changeSec !== null && CYCLE.includes(pair)) changing.push(await measureRecording(stack.urls[0]!, dir, index, recording, options));
    }
    steady = await measureRecording(stack.urls[0]!, dir, index, index.recordings.find((r) => r.changeSec === null)!, options);
    console.log(`sound-to-video quality: ${JSON.stringify({ changing: changing.map(({ name, placeHits, placeFrames, flicker }) => ({ name, placeHits, placeFrames, flicker })), steady: { placeHits: steady.placeHits, placeFrames: steady.placeFrames, flicker: steady.flicker } })}`);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('made every video, 32 frames each', () => {
    expect(changing).toHaveLength(4);
    for (const video of [...changing, steady]) expect(video.frames).toBe(32);
  });

  it('shows the place of the sound at each frame\'s time in >= 90 % of the frames outside the 1.5 s band', () => {
    const hits = changing.reduce((n, v) => n + v.placeHits, 0);
    const frames = changing.reduce((n, v) => n + v.placeFrames, 0);
    expect(frames).toBe(4 * 26);
    expect(hits / frames).toBeGreaterThanOrEqual(0.9);
    expect(steady.placeHits / steady.placeFrames).toBeGreaterThanOrEqual(0.9);
  });

  it('a steady sound gives a steady picture: its flicker is a small fraction of a changing sound\'s', () => {
    const changingFlicker = changing.reduce((n, v) => n + v.flicker, 0) / changing.length;
    expect(steady.flicker).toBeLessThan(0.5);
    expect(steady.flicker * 4).toBeLessThan(changingFlicker);
  });
});
