import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMp4, steppedToneWav } from '../../../test/support/video-checks.js';
import { json, multipart, postJson, readSse, useStack, waitFor, type RecordedEvent } from './harness.js';

// A recording to a video (issue #19) through the HTTP API, on the synthetic pipeline (its
// embedSound reads each window's loudness: a steady level is one direction, a new level another)
// and two in-process workers sharing the parts of each video. The MP4 is checked with ffprobe.
const WAV = 'audio/wav';

async function postVideo(url: string, request: Record<string, unknown>, sound: Buffer) {
  const response = await fetch(`${url}/v1/generations`, { method: 'POST', body: multipart(request, { sound: { bytes: sound, type: WAV } }) });
  return { status: response.status, body: await json(response) };
}

const soundInput = { modality: 'audio', file: 'sound' };

describe('a recording to a video', () => {
  const run = useStack({ workers: 2, env: { A2I_SYNTHETIC_STEP_MS: '2', A2I_VIDEO_FRAMES_PER_PART: '4', A2I_VIDEO_MAX_SECONDS: '6', A2I_VIDEO_MAX_FRAMES: '64' } });
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'a2i-video-test-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('makes an H.264 yuv420p MP4 with the sound muxed in, its frames on request, with frame progress and previews', async () => {
    // 1.5 s quiet, then 1.5 s loud: the picture holds, changes once, holds
    const sound = steppedToneWav([{ seconds: 1.5, amplitude: 0.1 }, { seconds: 1.5, amplitude: 0.6 }]);
    const created = await postVideo(run.url, { inputs: [soundInput], steps: 4, seed: 11, output: { type: 'video', fps: 4, window: 1, hop: 0.5, smoothing: 0, frames: true } }, sound);
    expect(created.status).toBe(202);
    const { id, token } = created.body;
    const events = await readSse(`${run.url}/v1/generations/${id}/events?token=${token}`);
    const end = events.at(-1)!;
    expect(end.type).toBe('job:succeeded');
    expect(end.payload.video).toEqual({ url: `/v1/generations/${id}/video`, format: 'mp4', width: 64, height: 64, fps: 4, frames: 12, durationSec: 3, bytes: expect.any(Number), audio: true });
    expect((end.payload.images as unknown[]).length).toBe(12);

    // the frames' progress never goes back, reaches 12 of 12, and every frame came as a preview
    const frames = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'frames').map((e) => e.payload.step as number);
    expect(frames[0]).toBe(0);
    expect(frames.at(-1)).toBe(12);
    expect([...frames].sort((a, b) => a - b)).toEqual(frames);
    expect(events.some((e) => e.type === 'job:progress' && e.payload.stage === 'embed')).toBe(true);
    expect(events.some((e) => e.type === 'job:progress' && e.payload.stage === 'encode')).toBe(true);
    const previews = events.filter((e) => e.type === 'job:preview' && e.payload.stage === 'frames');
    expect(new Set(previews.map((e) => e.payload.step)).size).toBeGreaterThan(0);

    const status = await json(await fetch(`${run.url}/v1/generations/${id}?token=${token}`));
    expect(status.status).toBe('succeeded');
    expect(status.video.url).toBe(`/v1/generations/${id}/video`);
    expect(status.request.output).toEqual({ type: 'video', fps: 4, windowSec: 1, hopSec: 0.5, smoothingSec: 0, frames: true, sound: 0 });

    const video = await fetch(`${run.url}/v1/generations/${id}/video?token=${token}`);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const path = join(scratch, `${id}.mp4`);
    await writeFile(path, Buffer.from(await video.arrayBuffer()));
    const facts = await probeMp4(path);
    expect(facts.formatName).toContain('mp4');
    expect(facts.video).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 64, height: 64, frames: 12, fps: 4 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 16_000 });
    expect(facts.audio!.durationSec).toBeGreaterThan(2.9);
    expect(facts.durationSec).toBeCloseTo(3, 0);

    // a steady sound holds the picture (same direction, same seed: the same frame); the change moves it
    const frame = async (n: number) => sharp(Buffer.from(await (await fetch(`${run.url}/v1/generations/${id}/images/${n}?token=${token}`)).arrayBuffer())).raw().toBuffer();
    const [first, second, last] = await Promise.all([frame(0), frame(1), frame(11)]);
    expect(first.equals(second)).toBe(true);
    expect(first.equals(last)).toBe(false);
    // every part ran as a job of its own, and none is left waiting
    const parts = (await run.probe.queue.getCompleted()).filter((job) => job.name === 'video-part' && job.data.videoId === id);
    expect(parts.map((job) => job.data.part).sort()).toEqual([0, 1, 2]);
    expect(await run.probe.queue.getWaitingChildrenCount()).toBe(0);
  }, 60_000);

  it('a morph moves from the first input to the last: its first and last frames are those inputs\' own images', async () => {
    const a = { modality: 'text', text: 'waves on the sea' };
    const b = { modality: 'text', text: 'a storm at night' };
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [a, b], steps: 4, seed: 5, output: { type: 'morph', duration: 1, fps: 5, frames: true } });
    expect(created.status).toBe(202);
    const { id, token } = created.body;
    const events = await readSse(`${run.url}/v1/generations/${id}/events?token=${token}`);
    expect(events.at(-1)!.type).toBe('job:succeeded');
    expect(events.at(-1)!.payload.video).toMatchObject({ frames: 5, audio: false, durationSec: 1 });
    const path = join(scratch, `${id}.mp4`);
    await writeFile(path, Buffer.from(await (await fetch(`${run.url}/v1/generations/${id}/video?token=${token}`)).arrayBuffer()));
    const facts = await probeMp4(path);
    expect(facts.video).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', frames: 5 });
    expect(facts.audio).toBeNull();

    const pixels = async (url: string) => sharp(Buffer.from(await (await fetch(`${run.url}${url}?token=${token}`)).arrayBuffer())).raw().toBuffer();
    const plain = async (input: object) => {
      const job = await postJson(`${run.url}/v1/generations`, { inputs: [input], steps: 4, seed: 5 });
      const done = await readSse(`${run.url}/v1/generations/${job.body.id}/events?token=${job.body.token}`);
      expect(done.at(-1)!.type).toBe('job:succeeded');
      return sharp(Buffer.from(await (await fetch(`${run.url}/v1/generations/${job.body.id}/images/0?token=${job.body.token}`)).arrayBuffer())).raw().toBuffer();
    };
    expect((await pixels(`/v1/generations/${id}/images/0`)).equals(await plain(a))).toBe(true);
    expect((await pixels(`/v1/generations/${id}/images/4`)).equals(await plain(b))).toBe(true);
  }, 60_000);

  it('cancel mid-video stops every part: job:canceled, no video, nothing left in the queue', async () => {
    const sound = steppedToneWav([{ seconds: 4, amplitude: 0.3 }]);
    const created = await postVideo(run.url, { inputs: [soundInput], steps: 25, seed: 3, output: { type: 'video', fps: 8 } }, sound);
    expect(created.status).toBe(202);
    const { id, token } = created.body;
    const events: RecordedEvent[] = [];
    const following = readSse(`${run.url}/v1/generations/${id}/events?token=${token}`).then((all) => events.push(...all));
    await waitFor(async () => {
      const status = await json(await fetch(`${run.url}/v1/generations/${id}?token=${token}`));
      return status.progress?.stage === 'frames' && status.progress.step >= 2 ? true : undefined;
    }, 'frames under way');
    const canceled = await fetch(`${run.url}/v1/generations/${id}/cancel?token=${token}`, { method: 'POST' });
    expect(canceled.status).toBe(200);
    await following;
    expect(events.at(-1)!.type).toBe('job:canceled');
    const done = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'frames').at(-1)!.payload.step as number;
    expect(done).toBeLessThan(32);
    expect((await fetch(`${run.url}/v1/generations/${id}/video?token=${token}`)).status).toBe(409);
    // the parts still queued run to nothing, the video's job ends: no job of it is left
    await waitFor(async () => {
      const counts = await run.probe.queue.getJobCounts('active', 'waiting', 'prioritized', 'waiting-children');
      return Object.values(counts).every((n) => n === 0) ? true : undefined;
    }, 'the queue to drain', 20_000);
    const status = await json(await fetch(`${run.url}/v1/generations/${id}?token=${token}`));
    expect(status.status).toBe('canceled');
  }, 60_000);

  describe('refuses what it cannot make, with stable codes', () => {
    // 2.5 s: at 30 fps, 75 frames (over the 64 of A2I_VIDEO_MAX_FRAMES here)
    const sound = steppedToneWav([{ seconds: 2.5, amplitude: 0.3 }]);
    it.each([
      ['no audio input', { inputs: [{ modality: 'text', text: 'rain' }], output: { type: 'video' } }, false, 400, 'VIDEO_NEEDS_AUDIO'],
      ['two audio inputs', { inputs: [soundInput, { modality: 'audio', file: 'other' }], output: { type: 'video' } }, true, 400, 'VIDEO_NEEDS_AUDIO'],
      ['fps over A2I_VIDEO_MAX_FPS', { inputs: [soundInput], output: { type: 'video', fps: 60 } }, false, 400, 'LIMIT_EXCEEDED'],
      ['frames over A2I_VIDEO_MAX_FRAMES', { inputs: [soundInput], output: { type: 'video', fps: 30 } }, false, 400, 'LIMIT_EXCEEDED'],
      ['a hop longer than the window', { inputs: [soundInput], output: { type: 'video', window: 1, hop: 2 } }, false, 400, 'INVALID_REQUEST'],
      ['an unknown output field', { inputs: [soundInput], output: { type: 'video', speed: 2 } }, false, 400, 'INVALID_REQUEST'],
      ['an unknown output type', { inputs: [soundInput], output: { type: 'gif' } }, false, 400, 'INVALID_REQUEST'],
      ['numImages 2', { inputs: [soundInput], numImages: 2, output: { type: 'video' } }, false, 400, 'INVALID_REQUEST'],
      ['a morph of one input', { inputs: [{ modality: 'text', text: 'rain' }], output: { type: 'morph', duration: 2 } }, null, 400, 'MORPH_NEEDS_INPUTS'],
      ['a morph longer than A2I_VIDEO_MAX_SECONDS', { inputs: [{ modality: 'text', text: 'a' }, { modality: 'text', text: 'b' }], output: { type: 'morph', duration: 7, fps: 1 } }, null, 400, 'LIMIT_EXCEEDED'],
    ])('%s', async (_what, request, secondFile, status, code) => {
      const files: Record<string, { bytes: Buffer; type: string }> = secondFile === null ? {} : { sound: { bytes: sound, type: WAV } };
      if (secondFile) files.other = { bytes: sound, type: WAV };
      const wantsSound = (request.inputs as Array<{ file?: string }>).some((input) => input.file === 'sound');
      if (!wantsSound) delete files.sound;
      const response = Object.keys(files).length === 0 ? await postJson(`${run.url}/v1/generations`, request) : await (async () => {
        const r = await fetch(`${run.url}/v1/generations`, { method: 'POST', body: multipart(request, files) });
        return { status: r.status, body: await json(r) };
      })();
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
    });

    it('a sound longer than A2I_VIDEO_MAX_SECONDS: 422 AUDIO_TOO_LONG, from its header, before anything is queued', async () => {
      const long = steppedToneWav([{ seconds: 7, amplitude: 0.3 }]);
      const response = await postVideo(run.url, { inputs: [soundInput], output: { type: 'video', fps: 1 } }, long);
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('AUDIO_TOO_LONG');
    });
  });
});
