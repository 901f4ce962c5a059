import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

/**
 * Where the ffmpeg and ffprobe executables are, in this order:
 * 1. FFMPEG_PATH / FFPROBE_PATH;
 * 2. the system's, found on PATH: a distribution's ffmpeg gets security fixes with the
 *    system's updates (uploaded files are untrusted input to ffmpeg's demuxers and decoders);
 * 3. last, the static builds npm ships inside @ffmpeg-installer/<platform> and
 *    @ffprobe-installer/<platform>, so a machine without ffmpeg still decodes video. That
 *    ffmpeg is a 2018 snapshot (N-47683): `describeFfmpeg` marks it outdated and the worker
 *    logs a warning. The maintained registry build (ffmpeg-static, 6.x) downloads its binary
 *    from GitHub in an install script, which npm 11 does not run by default and offline
 *    machines cannot reach, so it is not used.
 * Resolved on first use, so importing this package never fails on a platform those packages
 * do not cover.
 */
export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where they came from: the environment, the system's PATH, or the npm fallback. */
  source: 'env' | 'system' | 'npm';
}

const require = createRequire(import.meta.url);
let cached: FfmpegBinaries | undefined;

/** The first executable `name` on `path` (the PATH variable), or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function npmBinary(envName: string, pkg: string): string {
  try {
    return (require(pkg) as { path: string }).path;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`No ffmpeg on PATH and no ${pkg} binary for this platform (${reason}); install ffmpeg or set ${envName} to an executable`);
  }
}

export function ffmpegBinaries(): FfmpegBinaries {
  if (cached) return cached;
  const { FFMPEG_PATH, FFPROBE_PATH } = process.env;
  if (FFMPEG_PATH && FFPROBE_PATH) return (cached = { ffmpeg: FFMPEG_PATH, ffprobe: FFPROBE_PATH, source: 'env' });
  const systemFfmpeg = findOnPath('ffmpeg');
  const systemFfprobe = findOnPath('ffprobe');
  if (systemFfmpeg && systemFfprobe) {
    return (cached = { ffmpeg: FFMPEG_PATH ?? systemFfmpeg, ffprobe: FFPROBE_PATH ?? systemFfprobe, source: FFMPEG_PATH || FFPROBE_PATH ? 'env' : 'system' });
  }
  return (cached = {
    ffmpeg: FFMPEG_PATH ?? npmBinary('FFMPEG_PATH', '@ffmpeg-installer/ffmpeg'),
    ffprobe: FFPROBE_PATH ?? npmBinary('FFPROBE_PATH', '@ffprobe-installer/ffprobe'),
    source: FFMPEG_PATH || FFPROBE_PATH ? 'env' : 'npm',
  });
}

/** What the worker says at start about the ffmpeg it uses. */
export interface FfmpegDescription extends FfmpegBinaries {
  /** The first line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.9-0+deb12u1 ...". */
  version: string;
  /** The npm fallback: a 2018 build decoding untrusted uploads. */
  outdated: boolean;
}

/** The ffmpeg in use and its version; `version` says why when ffmpeg cannot be run. */
export function describeFfmpeg(): FfmpegDescription {
  let binaries: FfmpegBinaries;
  try {
    binaries = ffmpegBinaries();
  } catch (error) {
    return { ffmpeg: '', ffprobe: '', source: 'npm', version: `unavailable: ${(error as Error).message}`, outdated: true };
  }
  let version: string;
  try {
    version = execFileSync(binaries.ffmpeg, ['-version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch (error) {
    version = `unavailable: ${(error as Error).message.split('\n')[0]}`;
  }
  return { ...binaries, version, outdated: binaries.source === 'npm' };
}

/**
 * The demuxer ffmpeg is told to use for each sniffed container. Forcing it (rather than
 * letting ffmpeg probe) keeps playlist-like formats (HLS, concat) that could open other files
 * out of reach of an uploaded file.
 */
export const FFMPEG_DEMUXERS: Readonly<Record<string, string>> = Object.freeze({
  mp4: 'mov', mov: 'mov', m4a: 'mov', m4v: 'mov', '3gp': 'mov', '3g2': 'mov',
  webm: 'matroska', mkv: 'matroska',
  avi: 'avi',
  ogv: 'ogg', 'ogg-flac': 'ogg',
  aiff: 'aiff',
  aac: 'aac',
});
