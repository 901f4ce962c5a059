import { FFMPEG_DEMUXERS } from '../ffmpeg/binaries.js';
import { probeFile, type ProbeInfo } from '../ffmpeg/probe.js';
import { withTempFile } from '../ffmpeg/temp-file.js';
import { assertByteSize, DEFAULT_VIDEO_LIMITS, resolveLimits, type VideoLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { describeSniffed, sniffMediaType, type SniffResult } from '../sniff.js';

export interface VideoInfo {
  /** Container (or stream) duration in seconds; undefined when the file does not say (e.g. a browser-recorded WebM). */
  durationSec: number | undefined;
  /** Average frame rate; undefined when unknown. */
  fps: number | undefined;
  /** Size of the frames as decoded, rotation metadata applied. */
  width: number;
  height: number;
  hasAudio: boolean;
  /** Sniffed container (mp4, mov, webm, mkv, avi, ...) and video codec. */
  format: string;
  codec: string;
}

export interface ProbeVideoOptions {
  limits?: Partial<VideoLimits>;
  signal?: AbortSignal;
}

/** Checks the upload and returns its container's demuxer name for ffmpeg. */
export async function videoDemuxer(bytes: Uint8Array, limits: VideoLimits): Promise<{ format: string; demuxer: string }> {
  assertByteSize(bytes, limits.maxBytes, 'video');
  return videoContainer(await sniffMediaType(bytes));
}

/** The containers probeVideo reads, with ffmpeg's demuxer for each; anything else is MEDIA_UNSUPPORTED_FORMAT. */
export function videoContainer(sniffed: SniffResult): { format: string; demuxer: string } {
  const demuxer = FFMPEG_DEMUXERS[sniffed.format];
  if (sniffed.kind !== 'video' || !demuxer) {
    throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Expected an MP4, MOV, WebM, MKV or AVI video but received ${describeSniffed(sniffed)}`);
  }
  return { format: sniffed.format, demuxer };
}

/** Refuses what the limits do not allow; returns the summary. */
export function checkVideo(probe: ProbeInfo, format: string, limits: VideoLimits): VideoInfo {
  const video = probe.video;
  if (!video) throw new MediaError('VIDEO_INVALID', `The ${format} file has no video track`);
  const durationSec = video.durationSec ?? probe.durationSec;
  if (durationSec !== undefined && durationSec > limits.maxDurationSec) {
    throw new MediaError('VIDEO_TOO_LONG', `The video lasts ${durationSec.toFixed(2)} s, over the limit of ${limits.maxDurationSec} s`);
  }
  if (video.width * video.height > limits.maxPixels) {
    throw new MediaError('VIDEO_TOO_LARGE', `The video is ${video.width} x ${video.height} pixels, over the limit of ${limits.maxPixels} pixels per frame`);
  }
  return { durationSec, fps: video.fps, width: video.width, height: video.height, hasAudio: probe.audio !== undefined, format, codec: video.codec };
}

/** Reads a video's header through ffprobe (no frame decoded) and checks it against the limits. */
export async function probeVideo(bytes: Uint8Array, options: ProbeVideoOptions = {}): Promise<VideoInfo> {
  const limits = resolveLimits(DEFAULT_VIDEO_LIMITS, options.limits, 'limits');
  const { format, demuxer } = await videoDemuxer(bytes, limits);
  return withTempFile(bytes, async (path) => {
    const probe = await probeFile(path, { demuxer, timeoutMs: limits.timeoutMs, invalidCode: 'VIDEO_INVALID', ...(options.signal ? { signal: options.signal } : {}) });
    return checkVideo(probe, format, limits);
  });
}
