import { MediaError, type MediaErrorCode } from '../media-error.js';
import { ffmpegBinaries } from './binaries.js';
import { lastLine, runProcess } from './run-process.js';

/** What ffprobe says about a file, reduced to what the decoders need. */
export interface ProbeInfo {
  formatName: string;
  /** Container duration in seconds, if known. */
  durationSec: number | undefined;
  video: VideoStreamInfo | undefined;
  audio: AudioStreamInfo | undefined;
}

export interface VideoStreamInfo {
  codec: string;
  /** Display size: rotation metadata applied, as ffmpeg's frames come out (autorotate). */
  width: number;
  height: number;
  /** Average frame rate (frames / duration), else the stream's base rate. */
  fps: number | undefined;
  durationSec: number | undefined;
  rotation: number;
}

export interface AudioStreamInfo {
  codec: string;
  sampleRate: number;
  channels: number;
  durationSec: number | undefined;
}

// The subset of `ffprobe -print_format json -show_format -show_streams` read here.
interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}
interface FfprobeJson {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

export interface ProbeOptions {
  demuxer: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Code for a file ffprobe cannot read (VIDEO_INVALID or AUDIO_INVALID). */
  invalidCode: MediaErrorCode;
}

export async function probeFile(path: string, options: ProbeOptions): Promise<ProbeInfo> {
  const args = ['-v', 'error', '-protocol_whitelist', 'file', '-f', options.demuxer,
    '-print_format', 'json', '-show_format', '-show_streams', path];
  const run = await runProcess(ffmpegBinaries().ffprobe, args, {
    what: 'ffprobe', timeoutMs: options.timeoutMs, maxStdoutBytes: 4 * 1024 * 1024,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let json: FfprobeJson;
  try {
    json = JSON.parse(run.stdout.toString('utf8')) as FfprobeJson;
  } catch {
    json = {};
  }
  if (run.exitCode !== 0 || !json.format) {
    const reason = lastLine(run.stderr, path);
    const code: MediaErrorCode = /moov atom not found|partial file|end of file/i.test(reason) ? truncatedCode(options.invalidCode) : options.invalidCode;
    throw new MediaError(code, `The file cannot be read as ${options.demuxer}: ${reason}`);
  }
  return summarize(json);
}

function truncatedCode(invalidCode: MediaErrorCode): MediaErrorCode {
  return invalidCode === 'AUDIO_INVALID' ? 'AUDIO_TRUNCATED' : invalidCode;
}

function seconds(text: string | undefined): number | undefined {
  const value = text === undefined ? NaN : Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

function rate(text: string | undefined): number | undefined {
  const [num, den] = (text ?? '').split('/').map(Number);
  if (num === undefined || den === undefined || !Number.isFinite(num) || !Number.isFinite(den) || num <= 0 || den <= 0) return undefined;
  return num / den;
}

export function summarize(json: FfprobeJson): ProbeInfo {
  const streams = json.streams ?? [];
  // Cover art in an audio file is a "video" stream with the attached_pic disposition: not a video.
  const v = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const a = streams.find((s) => s.codec_type === 'audio');
  let video: VideoStreamInfo | undefined;
  if (v && v.width && v.height) {
    const rotation = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(v.tags?.rotate ?? 0);
    const quarterTurn = Math.abs(Math.round(rotation / 90)) % 2 === 1;
    video = {
      codec: v.codec_name ?? 'unknown',
      width: quarterTurn ? v.height : v.width,
      height: quarterTurn ? v.width : v.height,
      fps: rate(v.avg_frame_rate) ?? rate(v.r_frame_rate),
      durationSec: seconds(v.duration),
      rotation: Number.isFinite(rotation) ? rotation : 0,
    };
  }
  const audio = a ? {
    codec: a.codec_name ?? 'unknown',
    sampleRate: Number(a.sample_rate ?? 0),
    channels: a.channels ?? 0,
    durationSec: seconds(a.duration),
  } : undefined;
  return { formatName: json.format?.format_name ?? 'unknown', durationSec: seconds(json.format?.duration), video, audio };
}
