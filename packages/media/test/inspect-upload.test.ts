import sharp from 'sharp';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, inspectUpload, UPLOAD_MODALITIES, type UploadLimits, type UploadModality } from '../src/index.js';
import { errorCode, ffmpegEncode } from './helpers/ffmpeg-fixtures.js';
import { pngChunk, PNG_SIGNATURE } from './helpers/png-chunks.js';
import { runLimited } from './helpers/reference-tools.js';
import { concat, toneInt16, wavBytes } from './helpers/wav-writer.js';
import { workerDecode } from './helpers/worker-decode.js';

// Fixtures are made here (the npm ffmpeg binary, sharp), in memory or in a temp dir.
const LIMITS: Required<UploadLimits> = { maxUploadBytes: 64 * 1024 * 1024, maxAudioSeconds: 120, maxPixels: 40_000_000, maxVideoSeconds: 300 };
const tone = toneInt16(16000, 1);
const wav = wavBytes({ sampleRate: 16000, encoding: 'int16', channels: [tone] });
const stereo = wavBytes({ sampleRate: 44100, encoding: 'int16', channels: [toneInt16(44100, 1), toneInt16(44100, 1, [660, 2500], 1)] });
const card = { create: { width: 16, height: 12, channels: 3 as const, background: { r: 200, g: 40, b: 90 } } };
const csv = new TextEncoder().encode('ax,ay,az,gx,gy,gz\n' + Array.from({ length: 50 }, (_, i) => `${i},0.1,9.8,0,0,${-i}`).join('\n'));

/** A .npy header (format 1.0) and data for a float32 array of `shape`; `dataBytes` overrides the data length. */
function npyFloat32(shape: number[], dataBytes?: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = concat([new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]), new TextEncoder().encode(header)]);
  return concat([prefix, new Uint8Array(dataBytes ?? shape.reduce((a, b) => a * b, 1) * 4)]);
}

/** A PNG that is all header: IHDR saying width x height (8-bit RGB), one empty IDAT, IEND. No pixel exists. */
function pngHeaderOnly(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filter, no interlace
  return concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', new Uint8Array()), pngChunk('IEND', new Uint8Array())]);
}

const files: Record<string, Uint8Array> = {};
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'a2i-inspect-'));
  const video = (seconds: number) => ['-f', 'lavfi', '-i', `color=c=gray:s=32x24:r=10:d=${seconds}`];
  const encodes: [string, () => Promise<Uint8Array>][] = [
    ['flac', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.flac', [wav])],
    ['mp3', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'libmp3lame', '-b:a', '64k', '{out}'], 'a.mp3', [stereo])],
    ['mp3NoXing', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'libmp3lame', '-b:a', '64k', '-write_xing', '0', '{out}'], 'a.mp3', [stereo])],
    ['vorbis', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'libvorbis', '{out}'], 'a.ogg', [stereo])],
    ['opus', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'libopus', '{out}'], 'a.opus', [wav])],
    ['oggFlac', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.oga', [wav])],
    ['m4a', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'aac', '{out}'], 'a.m4a', [stereo])],
    ['aiff', () => ffmpegEncode(['-i', '{in0}', '{out}'], 'a.aiff', [wav])],
    ['adts', () => ffmpegEncode(['-i', '{in0}', '-c:a', 'aac', '{out}'], 'a.aac', [wav])],
    ['mp4', () => ffmpegEncode([...video(1), '-i', '{in0}', '-shortest', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '{out}'], 'v.mp4', [stereo])],
    ['mov', () => ffmpegEncode([...video(1), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '{out}'], 'v.mov')],
    ['webm', () => ffmpegEncode([...video(1), '-i', '{in0}', '-shortest', '-c:v', 'libvpx', '-c:a', 'libopus', '{out}'], 'v.webm', [wav])],
    ['mkv', () => ffmpegEncode([...video(1), '-i', '{in0}', '-shortest', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'flac', '{out}'], 'v.mkv', [wav])],
    ['avi', () => ffmpegEncode([...video(1), '-i', '{in0}', '-shortest', '-c:v', 'mjpeg', '-c:a', 'pcm_s16le', '{out}'], 'v.avi', [wav])],
    ['mp4Long', () => ffmpegEncode([...video(4), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '{out}'], 'long.mp4')],
    ['png', async () => new Uint8Array(await sharp(card).png().toBuffer())],
    ['jpeg', async () => new Uint8Array(await sharp(card).jpeg().toBuffer())],
    ['webp', async () => new Uint8Array(await sharp(card).webp().toBuffer())],
    ['gif', async () => new Uint8Array(await sharp(card).gif().toBuffer())],
    ['tiff', async () => new Uint8Array(await sharp(card).tiff().toBuffer())],
    ['avif', async () => new Uint8Array(await sharp(card).avif().toBuffer())],
  ];
  const made = await runLimited(encodes.map(([, make]) => make));
  encodes.forEach(([name], i) => { files[name] = made[i]!; });
  files.wav = wav;
  files.csv = csv;
  files.npy = npyFloat32([6, 200]);
  files.text = new TextEncoder().encode('Hello, this is a note and not a sound.\n');
  // FLAC whose STREAMINFO total is 0 ("unknown", as a stream written to a pipe): bytes 8 + 13..17, low 36 bits.
  const flacStreamed = files.flac!.slice();
  flacStreamed[8 + 13] = flacStreamed[8 + 13]! & 0xf0;
  flacStreamed.fill(0, 8 + 14, 8 + 18);
  files.flacStreamed = flacStreamed;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const file = (name: string): Uint8Array => {
  const bytes = files[name];
  if (!bytes) throw new Error(`fixture ${name} missing`);
  return bytes;
};

describe('inspectUpload: each accepted format is accepted, with what its header says', () => {
  const AUDIO: [string, string, number, number][] = [
    // fixture, format, sample rate, channels; every one lasts 1 s
    ['wav', 'wav', 16000, 1], ['flac', 'flac', 16000, 1], ['flacStreamed', 'flac', 16000, 1],
    ['mp3', 'mp3', 44100, 2], ['mp3NoXing', 'mp3', 44100, 2], ['vorbis', 'ogg-vorbis', 44100, 2], ['opus', 'ogg-opus', 48000, 1],
    ['oggFlac', 'ogg-flac', 16000, 1], ['m4a', 'm4a', 44100, 2], ['aiff', 'aiff', 16000, 1], ['adts', 'aac', 16000, 1],
    ['mp4', 'mp4', 44100, 2], ['webm', 'webm', 48000, 1], ['mkv', 'mkv', 16000, 1], ['avi', 'avi', 16000, 1],
  ];
  it.each(AUDIO)('audio: %s', async (name, format, sampleRate, channels) => {
    const inspection = await inspectUpload(file(name), 'audio', LIMITS);
    expect(inspection).toMatchObject({ modality: 'audio', format, sampleRate, channels, bytes: file(name).length });
    // Encoder delay, MP3 frames (1152 samples) and AAC priming make a header's length up to ~0.1 s longer than the source.
    expect(inspection.durationSeconds).toBeGreaterThan(0.95);
    expect(inspection.durationSeconds).toBeLessThan(1.12);
  });

  it.each(['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'])('image, depth and thermal: %s', async (name) => {
    for (const modality of ['image', 'depth', 'thermal'] as const) {
      expect(await inspectUpload(file(name), modality, LIMITS)).toEqual({ modality, format: name, bytes: file(name).length, width: 16, height: 12 });
    }
  });

  it.each(['mp4', 'mov', 'webm', 'mkv', 'avi'])('video: %s', async (name) => {
    const inspection = await inspectUpload(file(name), 'video', LIMITS);
    expect(inspection).toMatchObject({ modality: 'video', format: name, width: 32, height: 24, frameRate: 10 });
    expect(inspection.durationSeconds).toBeCloseTo(1, 1);
  });

  it('imu: CSV text and a (6, N) .npy', async () => {
    expect(await inspectUpload(csv, 'imu', LIMITS)).toEqual({ modality: 'imu', format: 'csv', bytes: csv.length });
    expect(await inspectUpload(file('npy'), 'imu', LIMITS)).toEqual({ modality: 'imu', format: 'npy', bytes: file('npy').length, samples: 200 });
  });

  it('takes a path and reads the same answers from disk', async () => {
    for (const [name, modality] of [['mp3', 'audio'], ['vorbis', 'audio'], ['mp4', 'audio'], ['png', 'image'], ['webm', 'video'], ['npy', 'imu']] as const) {
      const path = join(dir, `path-${name}`);
      await writeFile(path, file(name));
      expect(await inspectUpload(path, modality, LIMITS)).toEqual(await inspectUpload(file(name), modality, LIMITS));
    }
  });
});

describe('inspectUpload: refusals, without decoding', () => {
  it('a text file sent as audio, image or video is MEDIA_UNSUPPORTED_FORMAT', async () => {
    for (const modality of ['audio', 'image', 'depth', 'thermal', 'video'] as const) {
      await expect(inspectUpload(file('text'), modality, LIMITS), modality).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', message: expect.stringMatching(/a text file/) });
    }
  });

  it('a 50,000 x 50,000 PNG (header only, no pixel allocated) is IMAGE_TOO_LARGE for image, depth and thermal', async () => {
    const png = pngHeaderOnly(50_000, 50_000);
    expect(png.length).toBeLessThan(100);
    for (const modality of ['image', 'depth', 'thermal'] as const) {
      await expect(inspectUpload(png, modality, LIMITS)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringMatching(/50000 x 50000/) });
    }
    // The decoder refuses it the same way, from the same header.
    expect(await errorCode(() => workerDecode(png, 'image', LIMITS))).toBe('IMAGE_TOO_LARGE');
  });

  it('an hour-long WAV is AUDIO_TOO_LONG from its header; read from a sparse file, only its first bytes', async () => {
    // 16 kHz mono 16-bit: one hour is 115,200,000 bytes of samples. The file on disk is sparse
    // (its size says one hour; no sample is written) and inspectUpload reads its first 256 KiB.
    const dataBytes = 3600 * 16000 * 2;
    const header = wavBytes({ sampleRate: 16000, encoding: 'int16', channels: [new Int16Array(0)], dataSizeField: dataBytes });
    const path = join(dir, 'hour.wav');
    await writeFile(path, header);
    await truncate(path, header.length + dataBytes);
    const limits = { ...LIMITS, maxUploadBytes: 256 * 1024 * 1024 };
    await expect(inspectUpload(path, 'audio', limits)).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/3600\.00 s, over the limit of 120 s/) });
    // Over the upload limit it is refused before any header is read.
    expect(await errorCode(() => inspectUpload(path, 'audio', LIMITS))).toBe('MEDIA_TOO_LARGE');
    // The header alone, without the bytes it announces, is what decodeAudio reads as far as it
    // goes (like sox): no samples. inspectUpload says the same.
    expect(await errorCode(() => inspectUpload(header, 'audio', LIMITS))).toBe('AUDIO_NO_SAMPLES');
    expect(await errorCode(() => decodeAudio(header))).toBe('AUDIO_NO_SAMPLES');
  });

  it('an empty file is MEDIA_EMPTY; an embedding sent as a file is MEDIA_UNSUPPORTED_FORMAT', async () => {
    expect(await errorCode(() => inspectUpload(new Uint8Array(0), 'audio', LIMITS))).toBe('MEDIA_EMPTY');
    expect(await errorCode(() => inspectUpload(file('npy'), 'embedding', LIMITS))).toBe('MEDIA_UNSUPPORTED_FORMAT');
  });

  it('IMU: a PNG is IMU_INVALID, a (3, N) array IMU_INVALID_SHAPE, a .npy shorter than its header says NPY_TRUNCATED', async () => {
    expect(await errorCode(() => inspectUpload(file('png'), 'imu', LIMITS))).toBe('IMU_INVALID');
    expect(await errorCode(() => inspectUpload(npyFloat32([3, 10]), 'imu', LIMITS))).toBe('IMU_INVALID_SHAPE');
    expect(await errorCode(() => inspectUpload(npyFloat32([6, 100], 1000), 'imu', LIMITS))).toBe('NPY_TRUNCATED');
  });

  it('durations over the limit, from each header (FLAC total 0 and MP3 without Xing: from a scan of the frames)', async () => {
    const short = { ...LIMITS, maxAudioSeconds: 0.5 };
    for (const name of ['wav', 'flac', 'flacStreamed', 'mp3', 'mp3NoXing', 'vorbis', 'opus', 'm4a', 'mp4', 'webm']) {
      expect([name, await errorCode(() => inspectUpload(file(name), 'audio', short))]).toEqual([name, 'AUDIO_TOO_LONG']);
    }
    expect(await errorCode(() => inspectUpload(file('mp4Long'), 'video', { ...LIMITS, maxVideoSeconds: 3 }))).toBe('VIDEO_TOO_LONG');
  });

  it('an Ogg file cut short is AUDIO_TRUNCATED from its tail', async () => {
    for (const name of ['vorbis', 'opus']) {
      const bytes = file(name);
      expect(await errorCode(() => inspectUpload(bytes.subarray(0, bytes.length - 10), 'audio', LIMITS))).toBe('AUDIO_TRUNCATED');
    }
  });

  it('refuses bad arguments with a TypeError naming them', async () => {
    await expect(inspectUpload(wav, 'sound' as UploadModality, LIMITS)).rejects.toThrow(/Expected one of audio, image.*for modality but received sound/);
    await expect(inspectUpload(wav, 'audio', { ...LIMITS, maxPixels: -1 })).rejects.toThrow('Expected a positive number for limits.maxPixels but received -1');
  });
});

/**
 * The property the API relies on: inspectUpload never refuses what the worker's decoders accept,
 * and when it refuses, it gives the code they give. Every fixture x every modality, under
 * generous and under tight limits. (It may accept what the worker later refuses: damage only a
 * decode shows, and CSV cells.)
 */
describe('inspectUpload agrees with the worker decoders', () => {
  const TIGHT: Required<UploadLimits> = { maxUploadBytes: 12_000, maxAudioSeconds: 0.5, maxPixels: 100, maxVideoSeconds: 0.5 };
  const FILE_MODALITIES = UPLOAD_MODALITIES.filter((m) => m !== 'embedding');
  it.each([['generous limits', LIMITS], ['tight limits', TIGHT]] as const)('%s', async (_name, limits) => {
    const disagreements: string[] = [];
    for (const name of Object.keys(files)) {
      for (const modality of FILE_MODALITIES) {
        const [inspected, decoded] = [await errorCode(() => inspectUpload(file(name), modality, limits)), await errorCode(() => workerDecode(file(name), modality, limits))];
        if (inspected !== undefined && inspected !== decoded) disagreements.push(`${name} as ${modality}: inspectUpload ${inspected}, decoder ${decoded ?? 'accepts'}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
