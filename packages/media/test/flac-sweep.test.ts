import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitFlacFrames } from '../src/audio/flac-frames.js';
import { flacFirstFrameOffset } from '../src/audio/flac-header.js';
import { decodeAudio, parseNpy } from '../src/index.js';
import { errorCode } from './helpers/ffmpeg-fixtures.js';
import { ffmpegMany, missingTools, referenceTools, runLimited, runTool, seededNoise } from './helpers/reference-tools.js';
import { wavBytes } from './helpers/wav-writer.js';

/**
 * FLAC files of many lengths from three encoders, decoded here and compared with what
 * libsndfile (python soundfile) decodes from the same file. FLAC is lossless, so the tolerance
 * is zero: every sample equals soundfile's integer / 2^(bits-1) (16-bit: / 32768), and the
 * length equals soundfile's (STREAMINFO's total).
 *
 * Lengths: n x 4096 + r for r in {0, 1, 2, 17, 646, 4095} (libFLAC's block size, used by
 * libsndfile and the flac CLI; 144,006 = 35 x 4096 + 646 is the issue's file), n x 4608 + r
 * and n x 2304 + r (ffmpeg's block sizes at 44.1/48 kHz and 22.05 kHz), and short files of
 * one partial or one-and-a-bit block. Each length twice: ending in noise (a full-size last
 * frame) and ending in digital silence (a last frame of ~12 bytes: the case that lost its last
 * block). The longer files span several of the decoder's 64 KiB batches.
 */
const tools = referenceTools();
const here = dirname(fileURLToPath(import.meta.url));
const SOUNDFILE_SCRIPT = join(here, 'fixtures/soundfile_flac.py');

type Encoder = 'soundfile' | 'ffmpeg' | 'flac-cli';
type Tail = 'noise' | 'silence';

interface FlacCase {
  name: string;
  sampleRate: number;
  bits: 16 | 24;
  channels: number;
  length: number;
  tail: Tail;
}

const remainders = (n: number, block: number, rs: number[]): number[] => rs.map((r) => n * block + r);
const MONO_LENGTHS = [
  ...remainders(35, 4096, [0, 1, 2, 17, 646, 4095]),
  ...remainders(30, 4608, [1, 17, 4607]),
  ...remainders(61, 2304, [1, 2303]),
  1, 17, 4095, 4096, 4097,
];
const CASES: FlacCase[] = [];
for (const tail of ['noise', 'silence'] as const) {
  for (const length of MONO_LENGTHS) CASES.push({ name: `mono 16-bit 22050 Hz, ${length} samples, ${tail} tail`, sampleRate: 22050, bits: 16, channels: 1, length, tail });
  for (const length of [35 * 4096 + 646, 30 * 4608 + 17, 4097]) {
    CASES.push({ name: `stereo 16-bit 44100 Hz, ${length} samples, ${tail} tail`, sampleRate: 44100, bits: 16, channels: 2, length, tail });
  }
  for (const length of [35 * 4096 + 1, 30 * 4608 + 4607]) {
    CASES.push({ name: `mono 24-bit 48000 Hz, ${length} samples, ${tail} tail`, sampleRate: 48000, bits: 24, channels: 1, length, tail });
  }
}

/** A tone plus noise at -26 dB, per channel; the last 5000 samples zero for a silent tail. */
function caseSamples(c: FlacCase, seed: number): Int32Array[] {
  const noise = seededNoise(seed);
  const full = 2 ** (c.bits - 1);
  return Array.from({ length: c.channels }, (_, channel) => {
    const out = new Int32Array(c.length);
    const silentFrom = c.tail === 'silence' ? Math.max(0, c.length - 5000) : c.length;
    for (let i = 0; i < silentFrom; i++) {
      const x = 0.3 * Math.sin((2 * Math.PI * (440 + 110 * channel) * i) / c.sampleRate) + 0.05 * noise();
      out[i] = Math.round(x * (full - 1));
    }
    return out;
  });
}

const ENCODERS: { encoder: Encoder; needs: ('ffmpeg' | 'flac' | 'python')[] }[] = [
  { encoder: 'soundfile', needs: ['python'] },
  { encoder: 'ffmpeg', needs: ['ffmpeg', 'python'] },
  { encoder: 'flac-cli', needs: ['flac', 'python'] },
];
const available = ENCODERS.filter((e) => missingTools(e.needs) === '').map((e) => e.encoder);

let dir = '';
const flacPath = (index: number, encoder: Encoder): string => join(dir, `case${index}-${encoder}.flac`);
const npyPath = (index: number, encoder: Encoder): string => join(dir, `case${index}-${encoder}.npy`);

beforeAll(async () => {
  if (available.length === 0) return;
  dir = await mkdtemp(join(tmpdir(), 'a2i-flac-sweep-'));
  await Promise.all(CASES.map((c, index) => writeFile(join(dir, `case${index}.wav`), wavBytes({
    sampleRate: c.sampleRate, encoding: c.bits === 16 ? 'int16' : 'int24', channels: caseSamples(c, index + 1),
  }))));
  const wav = (index: number): string => join(dir, `case${index}.wav`);
  const jobs: (() => Promise<void>)[] = [];
  if (available.includes('soundfile')) {
    const encodeJobs = CASES.map((c, index) => ({ wav: wav(index), flac: flacPath(index, 'soundfile'), subtype: `PCM_${c.bits}` }));
    jobs.push(async () => {
      await writeFile(join(dir, 'encode.json'), JSON.stringify(encodeJobs));
      await runTool(tools.python!, [SOUNDFILE_SCRIPT, 'encode', join(dir, 'encode.json')]);
    });
  }
  if (available.includes('ffmpeg')) {
    jobs.push(() => ffmpegMany(tools.ffmpeg!, CASES.map((_, index) => ({ input: wav(index), options: ['-c:a', 'flac'], output: flacPath(index, 'ffmpeg') })), 1));
  }
  if (available.includes('flac-cli')) {
    CASES.forEach((_, index) => jobs.push(() => runTool(tools.flac!, ['--silent', '--force', '-o', flacPath(index, 'flac-cli'), wav(index)])));
  }
  await runLimited(jobs);
  const decodeJobs = available.flatMap((encoder) => CASES.map((_, index) => ({ flac: flacPath(index, encoder), npy: npyPath(index, encoder) })));
  await writeFile(join(dir, 'decode.json'), JSON.stringify(decodeJobs));
  await runTool(tools.python!, [SOUNDFILE_SCRIPT, 'decode', join(dir, 'decode.json')]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** soundfile's int32 (frames, channels) -> per-channel float32 value / 2^31. */
async function soundfileReference(index: number, encoder: Encoder): Promise<Float32Array[]> {
  const npy = parseNpy(new Uint8Array(await readFile(npyPath(index, encoder))));
  const [frames, channels] = npy.shape as [number, number];
  const data = npy.data as Int32Array;
  return Array.from({ length: channels }, (_, c) => {
    const out = new Float32Array(frames);
    for (let i = 0; i < frames; i++) out[i] = data[i * channels + c]! / 2 ** 31;
    return out;
  });
}

/** "" when equal, else where they first differ (a whole-array toEqual diff is unreadable at 150k samples). */
function firstDifference(expected: Float32Array[], actual: Float32Array[]): string {
  if (expected.length !== actual.length) return `${actual.length} channels, expected ${expected.length}`;
  for (let c = 0; c < expected.length; c++) {
    const e = expected[c]!;
    const a = actual[c]!;
    if (e.length !== a.length) return `channel ${c} has ${a.length} samples, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) if (e[i] !== a[i]) return `channel ${c} sample ${i} is ${a[i]}, expected ${e[i]}`;
  }
  return '';
}

for (const { encoder, needs } of ENCODERS) {
  const missing = missingTools(needs);
  describe.skipIf(missing !== '')(`FLAC sweep, ${encoder} encoder: decodes exactly what soundfile decodes${missing ? ` (skipped: ${missing} not found; apt-get install ffmpeg flac python3-soundfile)` : ''}`, () => {
    it.each(CASES.map((c, index) => [c.name, index] as const))('%s', async (_name, index) => {
      const c = CASES[index]!;
      const bytes = new Uint8Array(await readFile(flacPath(index, encoder)));
      const reference = await soundfileReference(index, encoder);
      expect(reference[0]!.length).toBe(c.length);
      const audio = await decodeAudio(bytes);
      expect(audio.format).toBe('flac');
      expect(audio.sampleRate).toBe(c.sampleRate);
      expect(firstDifference(reference, audio.channels)).toBe('');
    });
  });
}

describe.skipIf(!available.includes('soundfile'))(`FLAC sweep: cut files are AUDIO_TRUNCATED${available.includes('soundfile') ? '' : ' (skipped: python3 with soundfile not found)'}`, () => {
  const cutCases = CASES.map((c, index) => [c.name, index] as const).filter(([, index]) => CASES[index]!.length > 8192);
  it.each(cutCases)('%s: cut in half, by one byte, and before its last frame', async (_name, index) => {
    const bytes = new Uint8Array(await readFile(flacPath(index, 'soundfile')));
    const { frames } = splitFlacFrames(bytes, flacFirstFrameOffset(bytes));
    const lastFrameStart = frames.at(-1)!.data.byteOffset - bytes.byteOffset;
    for (const length of [bytes.length >> 1, bytes.length - 1, lastFrameStart]) {
      expect([length, await errorCode(() => decodeAudio(bytes.subarray(0, length)))]).toEqual([length, 'AUDIO_TRUNCATED']);
    }
  });
});
