// Audio front end benchmark: decode a 10 s 44.1 kHz stereo 16-bit WAV, resample to the
// preprocess rate, 3 clips of Kaldi fbank (ImageBind-huge's constants), against torchaudio
// doing the same on the same file (bench/audio_frontend_torchaudio.py).
//
//   npx tsx packages/imagebind/bench/audio-frontend.bench.ts [--runs 15] [--rounds 3] [--json out.json] [--torch-threads 1]
//
// Prints the median milliseconds of each stage and their ratio (TypeScript / torchaudio); the
// two sides alternate in rounds so both see the same machine load. Both produce the same
// tensor; the work differs: torchaudio (as ImageBind's data.py) resamples the whole file,
// every channel, and preprocessAudio resamples channel 0 inside the three clips only (plus
// cheap per-clip sums of the other channels for the mean).
// torchaudio runs when `/usr/bin/python3 -c "import torchaudio"` works; otherwise it is skipped
// with a note. Decoding uses @a2i/media's decodeAudio when the package exports it, else the
// minimal WAV reader below (say which in the output).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  audioClipSampleRanges,
  preprocessAudio,
  resampledLength,
  resampleSincRanges,
  type AudioPreprocess,
  type Pcm,
} from '../src/audio/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const PYTHON = '/usr/bin/python3';

// ImageBind-huge's audio preprocess, in the manifest's form (models/README.md).
const IMAGEBIND_AUDIO: AudioPreprocess = {
  type: 'audio',
  sampleRate: 16000,
  channel: 0,
  resample: { method: 'sinc_interp_hann', lowpassFilterWidth: 6, rolloff: 0.99 },
  clipDuration: 2.0,
  clipsPerInput: 3,
  subtractMean: true,
  fbank: {
    numMelBins: 128, frameLengthMs: 25, frameShiftMs: 10, windowType: 'hanning', dither: 0,
    preemphasisCoefficient: 0.97, removeDcOffset: true, roundToPowerOfTwo: true, lowFreq: 20, highFreq: 0,
    usePower: true, useLogFbank: true, useEnergy: false, htkCompat: true, snipEdges: true, melScale: 'htk',
  },
  targetLength: 204,
  normalize: { mean: -4.268, std: 9.138 },
};

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------- the test file
/** 10 s of 44.1 kHz stereo: chirps, a tone, seeded noise; 16-bit PCM WAV bytes. */
function makeWav(seconds = 10, sampleRate = 44100): Uint8Array {
  const n = seconds * sampleRate;
  const channels = 2;
  const bytes = new Uint8Array(44 + n * channels * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + n * channels * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, n * channels * 2, true);
  let seed = 12345;
  const noise = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const left = 0.4 * Math.sin(2 * Math.PI * (100 * t + 0.5 * 1000 * t * t)) + 0.05 * noise();
    const right = 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.1 * noise();
    view.setInt16(44 + (i * 2) * 2, Math.round(left * 32767), true);
    view.setInt16(44 + (i * 2 + 1) * 2, Math.round(right * 32767), true);
  }
  return bytes;
}

// ---------------------------------------------------------------- decoding
/** Minimal reader for canonical 16-bit PCM WAV (the bench's own file): int16 / 32768 like torchaudio.load. */
function parseWav16(bytes: Uint8Array): Pcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let channels = 0;
  let sampleRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      channels = view.getUint16(offset + 10, true);
      sampleRate = view.getUint32(offset + 12, true);
      if (view.getUint16(offset + 8, true) !== 1 || view.getUint16(offset + 22, true) !== 16) throw new Error('bench WAV reader: 16-bit PCM only');
    } else if (id === 'data') {
      const frames = Math.floor(size / (2 * channels));
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let i = 0, p = offset + 8; i < frames; i++) {
        for (let c = 0; c < channels; c++, p += 2) out[c]![i] = view.getInt16(p, true) / 32768;
      }
      return { sampleRate, channels: out };
    }
    offset += 8 + size + (size & 1);
  }
  throw new Error('bench WAV reader: no data chunk');
}

type Decode = (bytes: Uint8Array) => Promise<Pcm>;

async function pickDecoder(): Promise<{ decode: Decode; name: string }> {
  const inline = { decode: async (b: Uint8Array) => parseWav16(b), name: 'inline 16-bit WAV reader (bench)' };
  try {
    const media = (await import('@a2i/media')) as Record<string, unknown>;
    const decodeAudio = media['decodeAudio'];
    if (typeof decodeAudio !== 'function') return { ...inline, name: `${inline.name}; @a2i/media has no decodeAudio yet` };
    const decode: Decode = async (b) => (await decodeAudio(b)) as Pcm;
    const probe = await decode(makeWav(1));
    if (!Array.isArray(probe?.channels) || typeof probe.sampleRate !== 'number') throw new Error('unexpected result');
    return { decode, name: '@a2i/media decodeAudio' };
  } catch (error) {
    return { ...inline, name: `${inline.name}; @a2i/media decodeAudio unusable: ${(error as Error).message}` };
  }
}

// ---------------------------------------------------------------- timing
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Stages {
  decode: number;
  resample: number;
  fbank: number;
  total: number;
}

function medianStages(runs: Stages[]): Stages {
  return {
    decode: median(runs.map((r) => r.decode)),
    resample: median(runs.map((r) => r.resample)),
    fbank: median(runs.map((r) => r.fbank)),
    total: median(runs.map((r) => r.total)),
  };
}

/** `runs` timed runs of decode + preprocessAudio, after `warmup` untimed ones. */
async function timeTypeScript(wav: Uint8Array, decode: Decode, runs: number, warmup: number): Promise<Stages[]> {
  const p = IMAGEBIND_AUDIO;
  const once = async (): Promise<Stages> => {
    // the whole thing, as a worker runs it
    const t0 = performance.now();
    const pcm = await decode(wav);
    const t1 = performance.now();
    preprocessAudio(pcm, p);
    const t2 = performance.now();
    // the resampling inside preprocessAudio (channel 0, inside the clips), timed on its own
    const r0 = performance.now();
    const samples = resampledLength(pcm.channels[0]!.length, pcm.sampleRate, p.sampleRate);
    const ranges = audioClipSampleRanges(samples, p.sampleRate, p.clipDuration, p.clipsPerInput);
    resampleSincRanges(pcm.channels[p.channel]!, pcm.sampleRate, p.sampleRate, p.resample, ranges);
    const r1 = performance.now();
    return { decode: t1 - t0, resample: r1 - r0, fbank: t2 - t1 - (r1 - r0), total: t2 - t0 };
  };
  for (let i = 0; i < warmup; i++) await once();
  const results: Stages[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  return results;
}

type TorchRuns = { runs: Stages[]; info: string } | { skipped: string };

function torchaudioAvailable(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torchaudio'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? `${PYTHON} -c "import torchaudio" failed: torchaudio side skipped` : null;
}

function timeTorchaudio(wavPath: string, runs: number, threads: number): TorchRuns {
  const script = join(HERE, 'audio_frontend_torchaudio.py');
  const run = spawnSync(PYTHON, [script, '--wav', wavPath, '--runs', String(runs), '--threads', String(threads)], {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 1 << 22,
  });
  if (run.status !== 0) return { skipped: `torchaudio bench failed: ${run.stderr.trim().split('\n').pop() ?? ''}` };
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { runsMs: Stages[]; torch: string; torchaudio: string; threads: number };
  return { runs: result.runsMs, info: `torch ${result.torch}, torchaudio ${result.torchaudio}, ${result.threads} thread(s)` };
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const runs = Number(argument('runs') ?? 15);
  const rounds = Number(argument('rounds') ?? 3);
  const threads = Number(argument('torch-threads') ?? 1);
  const jsonPath = argument('json');
  const dir = mkdtempSync(join(tmpdir(), 'a2i-audio-bench-'));
  try {
    const wav = makeWav();
    const wavPath = join(dir, 'mix44k_stereo_10s.wav');
    writeFileSync(wavPath, wav);
    const { decode, name: decoder } = await pickDecoder();
    const bytes = new Uint8Array(readFileSync(wavPath));
    // Alternate the two sides in rounds: the machine's load drifts (2 shared cores), and
    // taking both medians over the same stretch of time keeps the ratio fair.
    const skipped = torchaudioAvailable();
    const tsRuns: Stages[] = [];
    const torchRuns: Stages[] = [];
    let torchInfo = '';
    let torchSkipped = skipped;
    const perRound = Math.max(1, Math.ceil(runs / rounds));
    for (let r = 0; r < rounds; r++) {
      tsRuns.push(...(await timeTypeScript(bytes, decode, perRound, r === 0 ? 3 : 1)));
      if (torchSkipped === null) {
        const t = timeTorchaudio(wavPath, perRound, threads);
        if ('skipped' in t) torchSkipped = t.skipped;
        else {
          torchRuns.push(...t.runs);
          torchInfo = t.info;
        }
      }
    }
    const ts = medianStages(tsRuns);
    const torch: { stages: Stages; info: string } | { skipped: string } =
      torchSkipped === null ? { stages: medianStages(torchRuns), info: torchInfo } : { skipped: torchSkipped };

    const rows: Array<[string, keyof Stages]> = [
      ['decode (WAV -> float32)', 'decode'],
      ['resample 44.1k -> 16k', 'resample'],
      ['clips + fbank + normalise', 'fbank'],
      ['total', 'total'],
    ];
    console.log(`audio front end, 10 s 44.1 kHz stereo 16-bit WAV, median of ${tsRuns.length} runs in ${rounds} alternating rounds (ms)`);
    console.log(`decoder: ${decoder}`);
    if ('skipped' in torch) console.log(torch.skipped);
    else console.log(`reference: ${torch.info}`);
    console.log(`${'stage'.padEnd(28)}${'typescript'.padStart(12)}${'torchaudio'.padStart(12)}${'ratio'.padStart(8)}`);
    for (const [label, key] of rows) {
      const t = ts[key];
      const r = 'stages' in torch ? torch.stages[key] : undefined;
      console.log(
        `${label.padEnd(28)}${t.toFixed(2).padStart(12)}${(r === undefined ? '-' : r.toFixed(2)).padStart(12)}${(r === undefined ? '-' : (t / r).toFixed(2)).padStart(8)}`,
      );
    }
    if (jsonPath) {
      const report = {
        bench: 'audio-frontend',
        input: '10 s 44.1 kHz stereo 16-bit WAV',
        runs: tsRuns.length,
        rounds,
        decoder,
        typescriptMs: ts,
        torchaudio: 'stages' in torch ? { ms: torch.stages, info: torch.info } : { skipped: torch.skipped },
        ratio: 'stages' in torch ? ts.total / torch.stages.total : null,
        node: process.version,
      };
      writeFileSync(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
      console.log(`wrote ${jsonPath}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
