import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, decodeImage, MediaError, parseImuCsv, parseNpy } from '../src/index.js';
import { ffmpegEncode } from './helpers/ffmpeg-fixtures.js';
import { toneInt16, wavBytes } from './helpers/wav-writer.js';

// Issue 5: bad input never crashes the server. Each valid file is damaged in many ways (cut at
// many lengths, a block overwritten at many places, header bytes set to 0xFF); every outcome
// must be a decoded result or a MediaError, never another exception.
function* damaged(bytes: Uint8Array): Generator<[string, Uint8Array]> {
  for (let i = 1; i < 24; i++) {
    const cut = Math.floor((bytes.length * i) / 24);
    yield [`cut at ${cut}`, bytes.subarray(0, cut)];
  }
  for (const cut of [1, 4, 8, 12, 16, 27, 36, 44, 60]) yield [`cut at ${cut}`, bytes.subarray(0, cut)];
  for (let i = 0; i < 16; i++) {
    const at = Math.floor((bytes.length * i) / 16);
    const copy = bytes.slice();
    copy.fill(i % 2 === 0 ? 0 : 0xff, at, at + 64);
    yield [`block at ${at}`, copy];
  }
  for (let at = 0; at < Math.min(64, bytes.length); at += 3) {
    const copy = bytes.slice();
    copy[at] = 0xff;
    yield [`byte ${at} = 0xff`, copy];
  }
}

async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return error instanceof MediaError ? 'MediaError' : `CRASH ${String(error)}`;
  }
}

const files: Record<string, Uint8Array> = {};
beforeAll(async () => {
  const wav = wavBytes({ sampleRate: 22050, encoding: 'int16', channels: [toneInt16(22050, 0.5), toneInt16(22050, 0.5, [300, 900])] });
  files.wav = wav;
  files.wav24 = wavBytes({ sampleRate: 22050, encoding: 'int24', channels: [Int32Array.from(toneInt16(22050, 0.2), (v) => v * 256)], extensible: true });
  files.flac = await ffmpegEncode(['-i', '{in0}', '-c:a', 'flac', '{out}'], 'a.flac', [wav]);
  files.mp3 = await ffmpegEncode(['-i', '{in0}', '-c:a', 'libmp3lame', '{out}'], 'a.mp3', [wav]);
  files.vorbis = await ffmpegEncode(['-i', '{in0}', '-c:a', 'libvorbis', '{out}'], 'a.ogg', [wav]);
  files.opus = await ffmpegEncode(['-i', '{in0}', '-c:a', 'libopus', '{out}'], 'a.opus', [wav]);
  const card = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7919) % 251);
  const raw = { raw: { width: 32, height: 32, channels: 3 as const } };
  files.png = new Uint8Array(await sharp(card, raw).png().toBuffer());
  files.jpeg = new Uint8Array(await sharp(card, raw).jpeg().toBuffer());
  files.webp = new Uint8Array(await sharp(card, raw).webp().toBuffer());
});

describe('damaged files give a MediaError, never a crash', () => {
  for (const name of ['wav', 'wav24', 'flac', 'mp3', 'vorbis', 'opus']) {
    it(`audio: ${name}`, async () => {
      const crashes: string[] = [];
      for (const [how, bytes] of damaged(files[name]!)) {
        const result = await outcome(() => decodeAudio(bytes));
        if (result.startsWith('CRASH')) crashes.push(`${how}: ${result}`);
      }
      expect(crashes).toEqual([]);
    });
  }

  for (const name of ['png', 'jpeg', 'webp']) {
    it(`image: ${name}`, async () => {
      const crashes: string[] = [];
      for (const [how, bytes] of damaged(files[name]!)) {
        for (const mode of ['rgb', 'grayscale'] as const) {
          const result = await outcome(() => decodeImage(bytes, { mode }));
          if (result.startsWith('CRASH')) crashes.push(`${how} (${mode}): ${result}`);
        }
      }
      expect(crashes).toEqual([]);
    });
  }

  it('text and .npy parsers', async () => {
    const csv = new TextEncoder().encode('a,b,c,d,e,f\n1,2,3,4,5,6\n"7",8,9,10,11,12\n');
    const npy = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76, 0, ...new TextEncoder().encode("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".padEnd(117, ' ') + '\n'), 0, 0, 128, 63, 0, 0, 0, 64]);
    const crashes: string[] = [];
    for (const [how, bytes] of damaged(csv)) {
      const result = await outcome(async () => parseImuCsv(bytes));
      if (result.startsWith('CRASH')) crashes.push(`csv ${how}: ${result}`);
    }
    for (const [how, bytes] of damaged(npy)) {
      const result = await outcome(async () => parseNpy(bytes));
      if (result.startsWith('CRASH')) crashes.push(`npy ${how}: ${result}`);
    }
    expect(crashes).toEqual([]);
  });
});
