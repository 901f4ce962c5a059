import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MediaError } from '../media-error.js';

/**
 * Where the ffmpeg and ffprobe executables are, in this order:
 * 1. FFMPEG_PATH / FFPROBE_PATH;
 * 2. the system's, found on PATH: a distribution's ffmpeg gets security fixes with the
 *    system's updates (uploaded files are untrusted input to ffmpeg's demuxers and decoders).
 * There is no third: with neither, video and container uploads (MP4/MOV/M4A, WebM/MKV, AVI,
 * Ogg video, AIFF, AAC) are refused with MEDIA_NEEDS_FFMPEG (415) and everything else (WAV,
 * FLAC, MP3, Ogg Vorbis/Opus, images, text, depth, thermal, IMU) goes on, decoded in-process.
 * No npm package ships a current ffmpeg inside its tarball: @ffmpeg-installer/* holds a 2018
 * snapshot (N-47683), ffmpeg-static-electron 3.1 (2016), @hakuneko/ffmpeg-binaries 4.2.1;
 * ffmpeg-static, ffmpeg-ffprobe-static, @derhuerst/ffprobe-static and node-av download their
 * binaries from GitHub in an install script (not run by npm 11 without allowScripts, and out of
 * reach of offline machines); the WebAssembly builds either leave out H.264/AAC (libav.js) or
 * are FFmpeg 5.1 for browsers (@ffmpeg/core). Decoding untrusted uploads with a years-old
 * ffmpeg is worse than refusing them, so the server asks for the system's.
 * Resolved on first use and cached per process.
 */
export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where they came from: the environment or the system's PATH. */
  source: 'env' | 'system';
}

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

/** Why there is no ffmpeg, for the client's error and the worker's start log. */
export const NO_FFMPEG_MESSAGE =
  'This server has no ffmpeg: video and container uploads (MP4, MOV, M4A, WebM, MKV, AVI, AIFF, AAC) cannot be decoded; '
  + 'WAV, FLAC, MP3 and Ogg audio can. Operators: install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH';

/** The binaries to run; throws MEDIA_NEEDS_FFMPEG when there are none. */
export function ffmpegBinaries(): FfmpegBinaries {
  if (cached) return cached;
  const { FFMPEG_PATH, FFPROBE_PATH } = process.env;
  const ffmpeg = FFMPEG_PATH || findOnPath('ffmpeg');
  const ffprobe = FFPROBE_PATH || findOnPath('ffprobe');
  if (!ffmpeg || !ffprobe) throw new MediaError('MEDIA_NEEDS_FFMPEG', NO_FFMPEG_MESSAGE);
  return (cached = { ffmpeg, ffprobe, source: FFMPEG_PATH || FFPROBE_PATH ? 'env' : 'system' });
}

/** What the worker says at start about the ffmpeg it uses. */
export type FfmpegDescription =
  | (FfmpegBinaries & { available: true; /** The first line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.9-0+deb12u1 ...". */ version: string })
  | { available: false; source: 'none'; reason: string };

/** The ffmpeg in use and its version (`version` says why when it cannot be run), or why there is none. */
export function describeFfmpeg(): FfmpegDescription {
  let binaries: FfmpegBinaries;
  try {
    binaries = ffmpegBinaries();
  } catch (error) {
    return { available: false, source: 'none', reason: (error as Error).message };
  }
  let version: string;
  try {
    version = execFileSync(binaries.ffmpeg, ['-version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch (error) {
    version = `unavailable: ${(error as Error).message.split('\n')[0]}`;
  }
  return { ...binaries, available: true, version };
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
