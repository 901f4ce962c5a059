import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { sniffMediaType } from '../src/index.js';
import { ffmpegEncode } from './helpers/ffmpeg-fixtures.js';
import { toneInt16, wavBytes } from './helpers/wav-writer.js';

const wav = wavBytes({ sampleRate: 16000, encoding: 'int16', channels: [toneInt16(16000, 0.5)] });
const made: Record<string, Uint8Array> = {};
beforeAll(async () => {
  for (const [name, args] of Object.entries({
    'a.flac': ['-c:a', 'flac'], 'a.mp3': ['-c:a', 'libmp3lame'], 'a.ogg': ['-c:a', 'libvorbis'], 'a.opus': ['-c:a', 'libopus'],
    'a.m4a': ['-c:a', 'aac'], 'a.mkv': ['-c:a', 'flac'],
  })) made[name] = await ffmpegEncode(['-i', '{in0}', ...args, '{out}'], name, [wav]);
  made['v.webm'] = await ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=red:s=16x16:r=5:d=0.4', '-c:v', 'libvpx', '{out}'], 'v.webm');
  made['v.mp4'] = await ffmpegEncode(['-f', 'lavfi', '-i', 'color=c=red:s=16x16:r=5:d=0.4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '{out}'], 'v.mp4');
});

describe('sniffMediaType (from the bytes, never the name)', () => {
  it('names audio formats, splitting Ogg by codec', async () => {
    expect(await sniffMediaType(wav)).toMatchObject({ kind: 'audio', format: 'wav' });
    const expected: Record<string, [string, string]> = {
      'a.flac': ['audio', 'flac'], 'a.mp3': ['audio', 'mp3'], 'a.ogg': ['audio', 'ogg-vorbis'], 'a.opus': ['audio', 'ogg-opus'],
      'a.m4a': ['audio', 'm4a'], 'a.mkv': ['video', 'mkv'], 'v.webm': ['video', 'webm'], 'v.mp4': ['video', 'mp4'],
    };
    for (const [name, [kind, format]] of Object.entries(expected)) {
      const sniffed = await sniffMediaType(made[name]!);
      expect([name, sniffed.kind, sniffed.format]).toEqual([name, kind, format]);
    }
  });

  it('names images', async () => {
    const img = sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } });
    for (const [format, bytes] of [['png', await img.clone().png().toBuffer()], ['jpeg', await img.clone().jpeg().toBuffer()],
      ['webp', await img.clone().webp().toBuffer()], ['gif', await img.clone().gif().toBuffer()], ['tiff', await img.clone().tiff().toBuffer()],
      ['avif', await img.clone().avif().toBuffer()]] as const) {
      expect(await sniffMediaType(new Uint8Array(bytes))).toMatchObject({ kind: 'image', format });
    }
  });

  it('recognises .npy, text (UTF-8, not cut inside a code point) and unknown bytes', async () => {
    expect(await sniffMediaType(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]))).toMatchObject({ kind: 'npy', format: 'npy' });
    expect(await sniffMediaType(new TextEncoder().encode('acc_x,acc_y\n0.1,0.2\n'))).toMatchObject({ kind: 'text', format: 'text' });
    const longText = new TextEncoder().encode('é'.repeat(40_000)); // 80,000 bytes; the 64 KiB sample ends between characters
    expect(await sniffMediaType(longText)).toMatchObject({ kind: 'text' });
    const oddCut = new TextEncoder().encode('a' + 'é'.repeat(40_000)); // the sample's last byte is the first of a 2-byte character
    expect(await sniffMediaType(oddCut)).toMatchObject({ kind: 'text' });
    expect(await sniffMediaType(new Uint8Array([0, 1, 2, 3, 250, 251, 252]))).toEqual({ kind: 'unknown', format: 'unknown' });
    expect(await sniffMediaType(new Uint8Array(0))).toEqual({ kind: 'unknown', format: 'empty' });
  });
});
