import { createRequire } from 'node:module';

/**
 * Where the ffmpeg and ffprobe executables are. By default the static builds that npm ships
 * inside @ffmpeg-installer/<platform> and @ffprobe-installer/<platform> (no download at install
 * time); FFMPEG_PATH / FFPROBE_PATH point at others (e.g. a distribution's newer ffmpeg in the
 * worker image). Resolved on first use, so importing this package never fails on a platform
 * those packages do not cover.
 */
export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
}

const require = createRequire(import.meta.url);
let cached: FfmpegBinaries | undefined;

export function ffmpegBinaries(): FfmpegBinaries {
  if (cached) return cached;
  const load = (envName: string, pkg: string): string => {
    const fromEnv = process.env[envName];
    if (fromEnv) return fromEnv;
    try {
      return (require(pkg) as { path: string }).path;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`No ${pkg} binary for this platform (${reason}); set ${envName} to an executable`);
    }
  };
  cached = { ffmpeg: load('FFMPEG_PATH', '@ffmpeg-installer/ffmpeg'), ffprobe: load('FFPROBE_PATH', '@ffprobe-installer/ffprobe') };
  return cached;
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
