import { ffmpegBinaries } from '../ffmpeg/binaries.js';
import { probeFile } from '../ffmpeg/probe.js';
import { lastLine, runProcess } from '../ffmpeg/run-process.js';
import { withTempFile } from '../ffmpeg/temp-file.js';
import { DEFAULT_VIDEO_LIMITS, resolveLimits, type VideoLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { NearestFrameSelector } from './nearest-frame.js';
import { checkVideo, videoDemuxer } from './probe-video.js';

export interface VideoFrame {
  /** The time asked for, in seconds from the first frame. */
  time: number;
  /** Timestamp of the frame returned, in seconds from the first frame. */
  frameTime: number;
  width: number;
  height: number;
  /** [height, width, 3] RGB, 8 bits, rows packed. */
  data: Uint8Array;
}

export interface DecodeVideoFramesOptions {
  /** Seconds from the first frame; each gets the nearest decoded frame (ties: the earlier). */
  times: readonly number[];
  /**
   * Scale every frame to this size in ffmpeg (bilinear) to save memory. Leave it out when the
   * resize must match a reference (e.g. torch's bilinear interpolation in the ImageBind video
   * transform): frames then come at their decoded size.
   */
  size?: { width: number; height: number };
  limits?: Partial<VideoLimits>;
  signal?: AbortSignal;
}

// ffmpeg's showinfo filter logs one line per frame: "n: 0 pts: 0 pts_time:0 ... s:64x48 ...".
const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.e+-]+)\s.*?\bs:(\d+)x(\d+)/;

function validateOptions(options: DecodeVideoFramesOptions, limits: VideoLimits): void {
  const { times, size } = options;
  if (!Array.isArray(times) || times.length === 0 || times.length > limits.maxFrames) {
    throw new TypeError(`Expected 1 to ${limits.maxFrames} times for times but received ${Array.isArray(times) ? `${times.length} entries` : String(times)}`);
  }
  times.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new TypeError(`Expected a time >= 0 in seconds for times[${i}] but received ${String(t)}`);
  });
  if (size !== undefined) {
    for (const key of ['width', 'height'] as const) {
      const v = size[key];
      if (!Number.isInteger(v) || v < 1 || v > 16384) throw new TypeError(`Expected an integer from 1 to 16384 for size.${key} but received ${String(v)}`);
    }
  }
}

/**
 * Decodes the frames nearest to the requested times as RGB through the ffmpeg binary: ffprobe
 * checks the duration and frame size against the limits first; ffmpeg then decodes from the
 * start (rotation metadata applied, as players show the video), the showinfo filter gives each
 * frame's timestamp and size, and decoding stops once the last requested time is passed.
 * Times past the end get the last frame.
 */
export async function decodeVideoFrames(bytes: Uint8Array, options: DecodeVideoFramesOptions): Promise<VideoFrame[]> {
  const limits = resolveLimits(DEFAULT_VIDEO_LIMITS, options.limits, 'limits');
  validateOptions(options, limits);
  const { format, demuxer } = await videoDemuxer(bytes, limits);
  const signal = options.signal ? { signal: options.signal } : {};
  return withTempFile(bytes, async (path) => {
    const probe = await probeFile(path, { demuxer, timeoutMs: limits.timeoutMs, invalidCode: 'VIDEO_INVALID', ...signal });
    const info = checkVideo(probe, format, limits);
    const filters = [options.size ? `scale=${options.size.width}:${options.size.height}:flags=bilinear` : '', 'showinfo'].filter(Boolean).join(',');
    const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-protocol_whitelist', 'file', '-f', demuxer, '-i', path,
      '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', filters, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];

    type Frame = { width: number; height: number; data: Uint8Array };
    const selector = new NearestFrameSelector<Frame>(options.times);
    const sizes: { time: number; width: number; height: number }[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let firstTime: number | undefined;
    const maxPending = Math.max(limits.maxPixels, info.width * info.height) * 3 * 4;

    // Pairs the k-th showinfo line with the k-th frame on stdout (-vsync 0: no frame dropped or duplicated).
    const pump = (): void | 'stop' => {
      while (sizes.length > 0) {
        const next = sizes[0]!;
        const frameBytes = next.width * next.height * 3;
        if (pendingBytes < frameBytes) break;
        const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        const frameData = joined.subarray(0, frameBytes);
        pending = joined.length > frameBytes ? [joined.subarray(frameBytes)] : [];
        pendingBytes -= frameBytes;
        sizes.shift();
        firstTime ??= next.time;
        const time = next.time - firstTime;
        if (time > limits.maxDurationSec) {
          throw new MediaError('VIDEO_TOO_LONG', `The video lasts more than ${limits.maxDurationSec} s, the limit`);
        }
        selector.offer(time, () => ({ width: next.width, height: next.height, data: new Uint8Array(frameData) }));
        if (selector.done) return 'stop';
      }
      if (pendingBytes > maxPending) throw new Error('ffmpeg frame output is out of step with its frame log');
    };

    const run = await runProcess(ffmpegBinaries().ffmpeg, args, {
      what: 'ffmpeg', timeoutMs: limits.timeoutMs, ...signal,
      onStdout: (chunk) => {
        pending.push(chunk);
        pendingBytes += chunk.length;
        return pump();
      },
      onStderrLine: (line) => {
        const m = SHOWINFO.exec(line);
        if (!m) return;
        const width = Number(m[4]);
        const height = Number(m[5]);
        if (width * height > limits.maxPixels) {
          throw new MediaError('VIDEO_TOO_LARGE', `A video frame is ${width} x ${height} pixels, over the limit of ${limits.maxPixels}`);
        }
        sizes.push({ time: Number(m[3]), width, height });
        return pump();
      },
    });
    const chosen = selector.results();
    if (chosen.some((c) => c === undefined)) {
      const reason = lastLine(run.stderr, path, SHOWINFO);
      throw new MediaError('VIDEO_INVALID', `No frame could be decoded from the ${format} file: ${reason}`);
    }
    return chosen.map((c, i) => ({ time: options.times[i]!, frameTime: c!.time, ...c!.frame }));
  });
}
