import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitFlacFrames } from '../src/audio/flac-frames.js';
import { flacFirstFrameOffset, readFlacStreamInfo } from '../src/audio/flac-header.js';
import { readMp3Info, readMpegFrameHeader } from '../src/audio/mp3-header.js';
import { decodeAudio } from '../src/index.js';
import { errorCode } from './helpers/ffmpeg-fixtures.js';
import { ffmpegMany, missingTools, referenceTools } from './helpers/reference-tools.js';
import { wavBytes } from './helpers/wav-writer.js';

/**
 * MP3 (libmp3lame), Ogg Vorbis (libvorbis) and Ogg Opus (libopus), encoded by the
 * distribution's ffmpeg at several lengths, sample rates and channel counts:
 *
 * - every valid file is accepted, with its rate and channel count (mono stays mono), and a
 *   length that follows the codec's rules (for MP3 and Opus also equal to what ffmpeg's own
 *   decoders give for the same file; not for Vorbis, where ffmpeg 5.1's native decoder drops
 *   the first half block, 128 or 256 samples, that libvorbis and sox keep):
 *   MP3: the LAME tag's encoder delay (576 + 529 decoder delay) and end padding are removed
 *   (gapless), so the length is the source's, except that ffmpeg 5.1's muxer sometimes records
 *   an end padding short by a few dozen samples: the source length plus less than one frame
 *   (1152 samples at 32-48 kHz, 576 below);
 *   Vorbis: exactly the source length (the last page's granule position);
 *   Opus: decoded at 48 kHz, exactly ceil(source length x 48000 / rate) (the last granule
 *   minus the OpusHead pre-skip, 312 samples from libopus);
 * - the signal is the source's: correlation > 0.9 at lag 0 with the same tones sampled at the
 *   output rate (lossy: not bit-exact);
 * - every cut (half the file, 9/10 of it, all but the last byte, its first 600 bytes) is refused
 *   with AUDIO_TRUNCATED: the length these headers declare (Xing/Info byte count, Ogg
 *   end-of-stream page) says the file is longer.
 */
const tools = referenceTools();
const missing = missingTools(['ffmpeg']);

type Codec = 'mp3' | 'vorbis' | 'opus';
interface LossyCase {
  name: string;
  codec: Codec;
  sampleRate: number;
  channels: number;
  length: number;
}

const CODEC_OPTIONS: Record<Codec, { ext: string; options: string[]; rates: number[]; format: string }> = {
  mp3: { ext: 'mp3', options: ['-c:a', 'libmp3lame', '-b:a', '96k'], rates: [44100, 22050, 8000], format: 'mp3' },
  vorbis: { ext: 'ogg', options: ['-c:a', 'libvorbis', '-q:a', '4'], rates: [44100, 16000, 48000], format: 'ogg-vorbis' },
  // libopus takes 48/24/16/12/8 kHz; ffmpeg resamples 44.1 kHz to 48 kHz on the way in.
  opus: { ext: 'opus', options: ['-c:a', 'libopus', '-b:a', '64k'], rates: [48000, 16000, 44100], format: 'ogg-opus' },
};

const CASES: LossyCase[] = [];
for (const codec of ['mp3', 'vorbis', 'opus'] as const) {
  for (const sampleRate of CODEC_OPTIONS[codec].rates) {
    for (const channels of [1, 2]) {
      // A short file (one or two codec frames), an odd length, and one over a second.
      for (const length of [1000, 23_041, sampleRate + 577]) {
        CASES.push({ name: `${codec} ${sampleRate} Hz ${channels} ch ${length} samples`, codec, sampleRate, channels, length });
      }
    }
  }
}

/** Two tones per channel (under 2 kHz, so every rate here carries them), as a function of time. */
function tone(channel: number, t: number): number {
  return channel === 0
    ? 0.3 * Math.sin(2 * Math.PI * 330 * t) + 0.2 * Math.sin(2 * Math.PI * 550 * t + 1)
    : 0.3 * Math.sin(2 * Math.PI * 220 * t + 0.5) + 0.2 * Math.sin(2 * Math.PI * 770 * t);
}

function toneAt(channel: number, sampleRate: number, length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => tone(channel, i / sampleRate));
}

/** Pearson correlation over the common length. */
function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
  }
  const cov = sab - (sa * sb) / n;
  return cov / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
}

/** [shortest, longest] decoded length the codec's rules allow (see the top of the file). */
function allowedLength(c: LossyCase): [number, number] {
  if (c.codec === 'opus') return [Math.ceil((c.length * 48000) / c.sampleRate), Math.ceil((c.length * 48000) / c.sampleRate)];
  if (c.codec === 'mp3') return [c.length, c.length + (c.sampleRate >= 32000 ? 1152 : 576) - 1];
  return [c.length, c.length];
}

let dir = '';
const encodedPath = (index: number): string => join(dir, `case${index}.${CODEC_OPTIONS[CASES[index]!.codec].ext}`);
const ffmpegDecodedPath = (index: number): string => join(dir, `case${index}.f32`);

beforeAll(async () => {
  if (missing) return;
  dir = await mkdtemp(join(tmpdir(), 'a2i-lossy-sweep-'));
  await Promise.all(CASES.map((c, index) => writeFile(join(dir, `case${index}.wav`), wavBytes({
    sampleRate: c.sampleRate, encoding: 'int16',
    channels: Array.from({ length: c.channels }, (_, ch) => Int16Array.from(toneAt(ch, c.sampleRate, c.length), (x) => Math.round(x * 32767))),
  }))));
  await ffmpegMany(tools.ffmpeg!, CASES.map((c, index) => ({ input: join(dir, `case${index}.wav`), options: CODEC_OPTIONS[c.codec].options, output: encodedPath(index) })));
  // ffmpeg's decoders (mp3float, opus) apply the same delay and padding rules.
  const notVorbis = CASES.flatMap((c, index) => (c.codec === 'vorbis' ? [] : [index]));
  await ffmpegMany(tools.ffmpeg!, notVorbis.map((index) => ({ input: encodedPath(index), options: ['-c:a', 'pcm_f32le', '-f', 'f32le'], output: ffmpegDecodedPath(index) })));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const skipNote = missing ? ` (skipped: ${missing} not found; apt-get install ffmpeg)` : '';

describe.skipIf(missing !== '')(`lossy sweep: valid files are accepted with the codec's length and the source's signal${skipNote}`, () => {
  it.each(CASES.map((c, index) => [c.name, index] as const))('%s', async (_name, index) => {
    const c = CASES[index]!;
    const audio = await decodeAudio(new Uint8Array(await readFile(encodedPath(index))));
    expect(audio.format).toBe(CODEC_OPTIONS[c.codec].format);
    expect(audio.sampleRate).toBe(c.codec === 'opus' ? 48000 : c.sampleRate);
    expect(audio.channels).toHaveLength(c.channels);
    const length = audio.channels[0]!.length;
    const [shortest, longest] = allowedLength(c);
    expect(length).toBeGreaterThanOrEqual(shortest);
    expect(length).toBeLessThanOrEqual(longest);
    if (c.codec !== 'vorbis') {
      const ffmpegLength = (await readFile(ffmpegDecodedPath(index))).length / (4 * c.channels);
      expect(length, 'the length ffmpeg decodes').toBe(ffmpegLength);
    }
    for (let ch = 0; ch < c.channels; ch++) {
      const reference = toneAt(ch, audio.sampleRate, audio.channels[ch]!.length);
      expect(correlation(reference, audio.channels[ch]!), `channel ${ch}`).toBeGreaterThan(0.9);
    }
  });
});

describe.skipIf(missing !== '')(`lossy sweep: cut files are AUDIO_TRUNCATED${skipNote}`, () => {
  it.each(CASES.map((c, index) => [c.name, index] as const))('%s: cut to 1/2, to 9/10, by 1 byte, and to 600 bytes (past the headers)', async (_name, index) => {
    const bytes = new Uint8Array(await readFile(encodedPath(index)));
    const cuts = [bytes.length >> 1, Math.floor(bytes.length * 0.9), bytes.length - 1, Math.min(bytes.length - 1, 600)];
    for (const length of cuts) {
      expect([length, await errorCode(() => decodeAudio(bytes.subarray(0, length)))]).toEqual([length, 'AUDIO_TRUNCATED']);
    }
  });
});

/**
 * Streams whose header carries no length: an MP3 without a Xing/Info tag (`-write_xing 0`, as
 * streamed CBR files are) and a FLAC written to a pipe (STREAMINFO total samples 0). A cut
 * inside a frame is still refused (the frame walk / the last frame's CRC-16); a cut exactly
 * between two frames cannot be told from a shorter file and is accepted with the frames present.
 */
describe.skipIf(missing !== '')(`lossy sweep: streams without a length in the header${skipNote}`, () => {
  let mp3 = new Uint8Array();
  let flac = new Uint8Array();
  beforeAll(async () => {
    const input = join(dir, 'untagged.wav');
    await writeFile(input, wavBytes({ sampleRate: 44100, encoding: 'int16', channels: [Int16Array.from(toneAt(0, 44100, 44100), (x) => Math.round(x * 32767))] }));
    await ffmpegMany(tools.ffmpeg!, [
      { input, options: ['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', '-id3v2_version', '0'], output: join(dir, 'untagged.mp3') },
    ]);
    mp3 = new Uint8Array(await readFile(join(dir, 'untagged.mp3')));
    flac = new Uint8Array(execFileSync(tools.ffmpeg!, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', input, '-c:a', 'flac', '-f', 'flac', 'pipe:1'], { maxBuffer: 16 * 1024 * 1024 }));
  });

  it('MP3 without a Xing tag: accepted whole; cut inside a frame AUDIO_TRUNCATED; cut between frames accepted shorter', async () => {
    expect(readMp3Info(mp3).declaredFrames).toBeUndefined();
    const whole = await decodeAudio(mp3);
    expect(whole.channels).toHaveLength(1);
    let boundary = 0;
    for (let frame = 0; frame < 10; frame++) boundary += readMpegFrameHeader(mp3, boundary)!.frameLength;
    expect(await errorCode(() => decodeAudio(mp3.subarray(0, boundary + 100)))).toBe('AUDIO_TRUNCATED');
    const shorter = await decodeAudio(mp3.subarray(0, boundary));
    expect(shorter.channels[0]!.length).toBeLessThan(whole.channels[0]!.length);
  });

  it('FLAC with total samples 0: accepted whole; cut inside a frame AUDIO_TRUNCATED; cut between frames accepted shorter', async () => {
    expect(readFlacStreamInfo(flac).totalSamples).toBeUndefined();
    const whole = await decodeAudio(flac);
    expect(whole.channels[0]!.length).toBe(44100);
    const { frames } = splitFlacFrames(flac, flacFirstFrameOffset(flac));
    const secondFrame = frames[1]!.data.byteOffset - flac.byteOffset;
    expect(await errorCode(() => decodeAudio(flac.subarray(0, secondFrame + 50)))).toBe('AUDIO_TRUNCATED');
    const shorter = await decodeAudio(flac.subarray(0, secondFrame));
    expect(shorter.channels[0]!.length).toBe(frames[0]!.blockSize);
  });
});
