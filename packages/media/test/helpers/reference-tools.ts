import { execFile, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import { mulberry32 } from '@a2i/protocol';
import { findOnPath } from '../../src/ffmpeg/binaries.js';

/**
 * The distribution's encoders and reference decoder the sweeps compare against (Debian
 * packages: ffmpeg, flac, python3-soundfile + python3-numpy). Found once, when a test file is
 * collected, so a missing one can skip its describe block with a message.
 */
export interface ReferenceTools {
  /** ffmpeg on PATH (Debian's: libmp3lame, libvorbis, libopus, flac encoders). */
  ffmpeg: string | undefined;
  /** The `flac` command line encoder (libFLAC's reference encoder). */
  flac: string | undefined;
  /** A Python that can import soundfile and numpy. */
  python: string | undefined;
}

function pythonWithSoundfile(): string | undefined {
  // Debian's python3-soundfile lives in /usr/bin/python3's dist-packages, which a pyenv or venv python3 on PATH may not see.
  for (const candidate of ['/usr/bin/python3', findOnPath('python3')]) {
    if (!candidate) continue;
    const check = spawnSync(candidate, ['-c', 'import soundfile, numpy'], { stdio: 'ignore', timeout: 20_000 });
    if (check.status === 0) return candidate;
  }
  return undefined;
}

let found: ReferenceTools | undefined;

export function referenceTools(): ReferenceTools {
  found ??= { ffmpeg: findOnPath('ffmpeg'), flac: findOnPath('flac'), python: pythonWithSoundfile() };
  return found;
}

/** "ffmpeg, flac" for the skip message: the tools of `names` that were not found. */
export function missingTools(names: (keyof ReferenceTools)[]): string {
  const tools = referenceTools();
  return names.filter((name) => tools[name] === undefined).map((name) => (name === 'python' ? 'python3 with soundfile' : name)).join(', ');
}

const execFileAsync = promisify(execFile);

export async function runTool(command: string, args: string[]): Promise<void> {
  await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
}

export interface FfmpegJob {
  input: string;
  /** Output options (codec, bitrate, ...), applied to this output only. */
  options: string[];
  output: string;
}

/**
 * Many encodes in one ffmpeg process per core (Debian's ffmpeg takes ~0.15 s to start, more
 * than a short encode): each input is mapped to its own output.
 */
export async function ffmpegMany(ffmpeg: string, jobs: FfmpegJob[], processes = Math.max(1, cpus().length)): Promise<void> {
  const perProcess = Math.ceil(jobs.length / processes);
  const groups = Array.from({ length: Math.ceil(jobs.length / perProcess) }, (_, g) => jobs.slice(g * perProcess, (g + 1) * perProcess));
  await Promise.all(groups.map((group) => runTool(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    ...group.flatMap((job) => ['-i', job.input]),
    ...group.flatMap((job, k) => ['-map', `${k}:a`, ...job.options, job.output]),
  ])));
}

/** Runs the jobs `concurrency` at a time (default: one per core), results in order. */
export async function runLimited<T>(jobs: (() => Promise<T>)[], concurrency = Math.max(1, cpus().length)): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  return results;
}

/** Deterministic noise in [-1, 1) (mulberry32), so a failing case can be rebuilt exactly. */
export function seededNoise(seed: number): () => number {
  const random = mulberry32(seed);
  return () => random() * 2 - 1;
}
