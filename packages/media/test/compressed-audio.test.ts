import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/index.js';
import { errorCode, ffmpegEncode, snrDb } from './helpers/ffmpeg-fixtures.js';
import { toneInt16, wavBytes } from './helpers/wav-writer.js';

// Fixtures are encoded at test time from WAVs written here, with the ffmpeg binary from npm.
const RATE = 44100;
const left = toneInt16(RATE, 2, [440, 1234]);
const right = toneInt16(RATE, 2, [660, 2500], 1);
const source16 = wavBytes({ sampleRate: RATE, encoding: 'int16', channels: [left, right] });
// 24-bit: the tone plus low bits that 16-bit could not hold.
const left24 = Int32Array.from(left, (v, i) => v * 256 + ((i * 37) % 256) - 128);
const source24 = wavBytes({ sampleRate: RATE, encoding: 'int24', channels: [left24] });
const opusLeft = toneInt16(48000, 2, [440, 1234]);
const source48 = wavBytes({ sampleRate: 48000, encoding: 'int16', channels: [opusLeft] });
const reference = (ints: ArrayLike<number>, scale = 32768): Float32Array => Float32Array.from(ints, (v) => v / scale);

const files: Record<string, Uint8Array> = {};

beforeAll(async () => {
  const jobs: [string, Promise<Uint8Array>][] = [
    ['flac16', ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.flac', [source16])],
    ['flac24', ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.flac', [source24])],
    ['mp3', ffmpegEncode(['-i', '{in0}', '-c:a', 'libmp3lame', '-b:a', '192k', '{out}'], 'a.mp3', [source16])],
    ['vorbis', ffmpegEncode(['-i', '{in0}', '-c:a', 'libvorbis', '-q:a', '6', '{out}'], 'a.ogg', [source16])],
    ['opus', ffmpegEncode(['-i', '{in0}', '-c:a', 'libopus', '-b:a', '128k', '{out}'], 'a.opus', [source48])],
    ['mp4', ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=gray:s=32x24:r=10:d=2', '-i', '{in0}', '-shortest', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '{out}'], 'a.mp4', [source16])],
    ['webm', ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=gray:s=32x24:r=10:d=2', '-i', '{in0}', '-shortest', '-c:v', 'libvpx', '-c:a', 'libopus', '-b:a', '128k', '{out}'], 'a.webm', [source48])],
    ['mkvFlac', ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.mkv', [source16])],
    ['mp4NoAudio', ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=gray:s=32x24:r=10:d=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '{out}'], 'v.mp4')],
  ];
  for (const [name, job] of jobs) files[name] = await job; // one at a time: the machine has 2 cores
});

const file = (name: string): Uint8Array => {
  const bytes = files[name];
  if (!bytes) throw new Error(`fixture ${name} missing`);
  return bytes;
};

describe('decodeAudio: FLAC (lossless: exact)', () => {
  it('16-bit stereo equals the source samples / 32768', async () => {
    const audio = await decodeAudio(file('flac16'));
    expect(audio.format).toBe('flac');
    expect(audio.sampleRate).toBe(RATE);
    expect(audio.channels[0]).toEqual(reference(left));
    expect(audio.channels[1]).toEqual(reference(right));
  });

  it('24-bit equals the source samples / 2^23', async () => {
    const audio = await decodeAudio(file('flac24'));
    expect(audio.channels[0]).toEqual(reference(left24, 2 ** 23));
  });

  it('refuses a FLAC cut in half (AUDIO_TRUNCATED)', async () => {
    const flac = file('flac16');
    expect(await errorCode(() => decodeAudio(flac.subarray(0, flac.length >> 1)))).toBe('AUDIO_TRUNCATED');
    expect(await errorCode(() => decodeAudio(flac.subarray(0, 30)))).toBe('AUDIO_TRUNCATED'); // inside STREAMINFO
  });

  it('refuses audio over the duration limit from STREAMINFO', async () => {
    await expect(decodeAudio(file('flac16'), { limits: { maxDurationSec: 1.5 } })).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/2\.00 s/) });
  });
});

// Lossy codecs: compared with the source at lag 0 (each decoder must remove its codec's delay:
// LAME gapless info, Opus pre-skip, AAC priming via the MP4 edit list). Tolerance: SNR > 20 dB
// (measured: well above it at these bitrates), the first and last 2048 samples left out.
describe('decodeAudio: lossy formats (SNR against the source)', () => {
  it('MP3: 2 channels, 44.1 kHz, gapless length, SNR > 20 dB', async () => {
    const audio = await decodeAudio(file('mp3'));
    expect(audio.format).toBe('mp3');
    expect(audio.sampleRate).toBe(RATE);
    expect(audio.channels).toHaveLength(2);
    expect(audio.channels[0]!.length).toBe(left.length);
    expect(snrDb(reference(left), audio.channels[0]!, 2048)).toBeGreaterThan(20);
    expect(snrDb(reference(right), audio.channels[1]!, 2048)).toBeGreaterThan(20);
  });

  it('Ogg Vorbis: SNR > 20 dB, on the int16 grid as libsox reads Vorbis', async () => {
    const audio = await decodeAudio(file('vorbis'));
    expect(audio.format).toBe('ogg-vorbis');
    expect(audio.channels[0]!.length).toBe(left.length);
    expect(snrDb(reference(left), audio.channels[0]!, 2048)).toBeGreaterThan(20);
    expect(audio.channels[0]!.every((v) => Number.isInteger(v * 32768))).toBe(true);
  });

  it('Ogg Opus: 48 kHz, pre-skip removed, SNR > 20 dB', async () => {
    const audio = await decodeAudio(file('opus'));
    expect(audio.format).toBe('ogg-opus');
    expect(audio.sampleRate).toBe(48000);
    expect(audio.channels[0]!.length).toBe(opusLeft.length);
    expect(snrDb(reference(opusLeft), audio.channels[0]!, 2048)).toBeGreaterThan(20);
  });

  it('MP4 soundtrack (AAC) through ffmpeg: SNR > 20 dB', async () => {
    const audio = await decodeAudio(file('mp4'));
    expect(audio.format).toBe('mp4');
    expect(audio.sampleRate).toBe(RATE);
    expect(audio.channels).toHaveLength(2);
    expect(Math.abs(audio.channels[0]!.length - left.length)).toBeLessThanOrEqual(1024);
    expect(snrDb(reference(left), audio.channels[0]!, 2048)).toBeGreaterThan(20);
  });

  it('WebM soundtrack (Opus) through ffmpeg: SNR > 20 dB', async () => {
    const audio = await decodeAudio(file('webm'));
    expect(audio.format).toBe('webm');
    expect(audio.sampleRate).toBe(48000);
    expect(snrDb(reference(opusLeft), audio.channels[0]!, 2048)).toBeGreaterThan(20);
  });

  it('MKV with FLAC through ffmpeg: exact', async () => {
    const audio = await decodeAudio(file('mkvFlac'));
    expect(audio.format).toBe('mkv');
    expect(audio.channels[0]).toEqual(reference(left));
  });
});

describe('decodeAudio: refusals for compressed and container formats', () => {
  it('MP3, Ogg Vorbis and Ogg Opus cut in half are AUDIO_TRUNCATED', async () => {
    for (const name of ['mp3', 'vorbis', 'opus']) {
      const bytes = file(name);
      expect([name, await errorCode(() => decodeAudio(bytes.subarray(0, bytes.length >> 1)))]).toEqual([name, 'AUDIO_TRUNCATED']);
    }
  });

  it('durations over the limit are refused from the header (MP3 Xing, Ogg granule, MP4 duration)', async () => {
    // "lasts 2.0x s" is the header check's message; the decode-time cap says "more than".
    for (const name of ['mp3', 'vorbis', 'opus', 'mp4']) {
      await expect(decodeAudio(file(name), { limits: { maxDurationSec: 1 } }), name).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/lasts 2\.0\d s/) });
    }
  });

  it('the decode-time cap stops a stream whose header gives no length', async () => {
    // An MP3 without its Xing/Info frame: only the first frame header is left to go on.
    const mp3 = file('mp3');
    const firstFrameLength = 626; // 192 kb/s at 44.1 kHz: 144 * 192000 / 44100 = 626 bytes (no padding)
    const start = mp3.findIndex((b, i) => b === 0xff && (mp3[i + 1]! & 0xe0) === 0xe0);
    const withoutTag = mp3.subarray(start + firstFrameLength);
    await expect(decodeAudio(withoutTag, { limits: { maxDurationSec: 1 } })).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/more than 1 s/) });
  });

  it('a video without sound is AUDIO_NO_STREAM', async () => {
    expect(await errorCode(() => decodeAudio(file('mp4NoAudio')))).toBe('AUDIO_NO_STREAM');
  });

  it('an MP4 cut in half is refused, not crashed on', async () => {
    const mp4 = file('mp4');
    const code = await errorCode(() => decodeAudio(mp4.subarray(0, mp4.length >> 1)));
    expect(['AUDIO_TRUNCATED', 'AUDIO_INVALID']).toContain(code);
  });

  it('images and .npy files are MEDIA_UNSUPPORTED_FORMAT', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    await expect(decodeAudio(png)).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', message: expect.stringMatching(/png image/) });
  });
});
