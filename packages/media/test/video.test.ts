import { beforeAll, describe, expect, it } from 'vitest';
import { decodeVideoFrames, probeVideo } from '../src/index.js';
import { errorCode, ffmpegEncode } from './helpers/ffmpeg-fixtures.js';
import { toneInt16, wavBytes } from './helpers/wav-writer.js';

// 10 frames at 10 fps, 32 x 24; frame k is a flat grey of level 10 + 20k, so a decoded frame
// tells which one it is (tolerance: 4 levels for the YUV 4:2:0 round trip).
const W = 32;
const H = 24;
const FRAMES = 10;
const level = (k: number): number => 10 + 20 * k;
const rawFrames = new Uint8Array(FRAMES * W * H * 3);
for (let k = 0; k < FRAMES; k++) rawFrames.fill(level(k), k * W * H * 3, (k + 1) * W * H * 3);
const rawInput = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '10', '-i', '{in0}'];
const x264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-qp', '0'];

const files: Record<string, Uint8Array> = {};
beforeAll(async () => {
  files.mp4 = await ffmpegEncode([...rawInput, ...x264, '{out}'], 'v.mp4', [rawFrames]);
  files.webm = await ffmpegEncode([...rawInput, '-c:v', 'libvpx', '-b:v', '1M', '{out}'], 'v.webm', [rawFrames]);
  // Rotation metadata is kept when set on a stream copy (this ffmpeg drops it while encoding).
  files.rotated = await ffmpegEncode(['-i', '{in0}', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '{out}'], 'r.mp4', [files.mp4]);
  const sound = wavBytes({ sampleRate: 16000, encoding: 'int16', channels: [toneInt16(16000, 1)] });
  files.withAudio = await ffmpegEncode([...rawInput, '-i', '{in1}', ...x264, '-c:a', 'aac', '-shortest', '{out}'], 'a.mp4', [rawFrames, sound]);
});
const file = (name: string): Uint8Array => files[name] ?? new Uint8Array(0);

const meanLevel = (data: Uint8Array): number => data.reduce((a, b) => a + b, 0) / data.length;

describe('probeVideo', () => {
  it('reads duration, frame rate, size and tracks from the header', async () => {
    const info = await probeVideo(file('mp4'));
    expect(info).toMatchObject({ fps: 10, width: W, height: H, hasAudio: false, format: 'mp4', codec: 'h264' });
    expect(info.durationSec).toBeCloseTo(1, 1);
    expect((await probeVideo(file('withAudio'))).hasAudio).toBe(true);
    expect(await probeVideo(file('webm'))).toMatchObject({ width: W, height: H, format: 'webm', codec: 'vp8' });
  });

  it('gives the displayed size of a video with rotation metadata', async () => {
    expect(await probeVideo(file('rotated'))).toMatchObject({ width: H, height: W });
  });
});

describe('decodeVideoFrames', () => {
  // Times in seconds from the first frame -> nearest frame index (frames every 0.1 s; the
  // last is at 0.9 s, so later times get it).
  const times = [0, 0.04, 0.06, 0.5, 0.94, 5];
  const expected = [0, 0, 1, 5, 9, 9];

  for (const name of ['mp4', 'webm']) {
    it(`${name}: returns the nearest frame for each time, RGB [H, W, 3]`, async () => {
      const frames = await decodeVideoFrames(file(name), { times });
      expect(frames).toHaveLength(times.length);
      frames.forEach((frame, i) => {
        expect(frame.time).toBe(times[i]);
        expect(frame.frameTime).toBeCloseTo(expected[i]! / 10, 6);
        expect([frame.width, frame.height, frame.data.length]).toEqual([W, H, W * H * 3]);
        expect(Math.abs(meanLevel(frame.data) - level(expected[i]!))).toBeLessThan(4);
      });
    });
  }

  it('scales frames when asked for a size', async () => {
    const [frame] = await decodeVideoFrames(file('mp4'), { times: [0.3], size: { width: 16, height: 12 } });
    expect([frame!.width, frame!.height, frame!.data.length]).toEqual([16, 12, 16 * 12 * 3]);
    expect(Math.abs(meanLevel(frame!.data) - level(3))).toBeLessThan(4);
  });

  it('applies rotation metadata, as players show the video', async () => {
    const [frame] = await decodeVideoFrames(file('rotated'), { times: [0.2] });
    expect([frame!.width, frame!.height]).toEqual([H, W]);
  });

  it('refuses videos over the duration or size limit before decoding', async () => {
    await expect(decodeVideoFrames(file('mp4'), { times: [0], limits: { maxDurationSec: 0.5 } })).rejects.toMatchObject({ code: 'VIDEO_TOO_LONG', message: expect.stringMatching(/1\.00 s/) });
    expect(await errorCode(() => decodeVideoFrames(file('mp4'), { times: [0], limits: { maxPixels: 100 } }))).toBe('VIDEO_TOO_LARGE');
    expect(await errorCode(() => probeVideo(file('mp4'), { limits: { maxDurationSec: 0.5 } }))).toBe('VIDEO_TOO_LONG');
  });

  it('refuses files that are not videos, and broken ones, with stable codes', async () => {
    expect(await errorCode(() => decodeVideoFrames(new TextEncoder().encode('not a video, named clip.mp4'), { times: [0] }))).toBe('MEDIA_UNSUPPORTED_FORMAT');
    const wav = wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1, 2, 3]] });
    expect(await errorCode(() => probeVideo(wav))).toBe('MEDIA_UNSUPPORTED_FORMAT');
    expect(await errorCode(() => probeVideo(new Uint8Array(0)))).toBe('MEDIA_EMPTY');
    const mp4 = file('mp4');
    expect(await errorCode(() => decodeVideoFrames(mp4.subarray(0, mp4.length >> 1), { times: [0] }))).toBe('VIDEO_INVALID');
    const webm = file('webm');
    const garbled = webm.slice();
    garbled.fill(0, 200); // header kept, every frame zeroed
    expect(await errorCode(() => decodeVideoFrames(garbled, { times: [0] }))).toBe('VIDEO_INVALID');
  });

  it('stops with MEDIA_ABORTED when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await errorCode(() => decodeVideoFrames(file('mp4'), { times: [0], signal: controller.signal }))).toBe('MEDIA_ABORTED');
  });

  it('refuses bad times with a message naming them', async () => {
    await expect(decodeVideoFrames(file('mp4'), { times: [0, -1] })).rejects.toThrow('Expected a time >= 0 in seconds for times[1] but received -1');
    await expect(decodeVideoFrames(file('mp4'), { times: [] })).rejects.toThrow(/Expected 1 to 16 times/);
    await expect(decodeVideoFrames(file('mp4'), { times: [0], size: { width: 0, height: 4 } })).rejects.toThrow(/size.width/);
  });
});
