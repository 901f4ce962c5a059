import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegBinaries } from '../ffmpeg/binaries.js';
import { lastLine, runProcess } from '../ffmpeg/run-process.js';

/** Decoded sound to mux in: one Float32Array per channel, samples in [-1, 1]. */
export interface Mp4Audio {
  sampleRate: number;
  channels: Float32Array[];
}

export interface EncodeMp4Options {
  width: number;
  height: number;
  fps: number;
  /** The frames in order, each interleaved RGB [height, width, 3] (width x height x 3 bytes). */
  frames: AsyncIterable<Uint8Array>;
  /** Muxed in as AAC when given. */
  audio?: Mp4Audio;
  /** Where the MP4 goes (a local file). */
  outPath: string;
  signal?: AbortSignal;
  /** Default 10 minutes. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * Writes frames (and a sound) as an MP4 browsers play (issue #19): H.264 (libx264, CRF 18,
 * `veryfast`), yuv420p (the chroma layout every browser decodes; odd sizes padded to even, as
 * 4:2:0 needs), AAC audio at 128 kb/s, the index at the front (`+faststart`) so playback starts
 * before the whole file has arrived. The frames are piped raw (rgb24) into ffmpeg's stdin; the
 * sound goes through a 16-bit WAV of its own making, so ffmpeg never parses an uploaded file here.
 * Needs the system's ffmpeg (MEDIA_NEEDS_FFMPEG without one); a failed encode is a plain Error
 * (a server fault).
 */
export async function encodeMp4(options: EncodeMp4Options): Promise<void> {
  const { width, height, fps } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`Expected a positive integer width and height but received ${width}x${height}`);
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`Expected a positive fps but received ${fps}`);
  const { ffmpeg } = ffmpegBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'a2i-mp4-'));
  try {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0'];
    if (options.audio) {
      const wav = join(dir, 'sound.wav');
      await writeFile(wav, wavPcm16(options.audio), { mode: 0o600 });
      args.push('-f', 'wav', '-i', wav);
    }
    args.push('-map', '0:v:0');
    if (options.audio) args.push('-map', '1:a:0', '-c:a', 'aac', '-b:a', '128k');
    args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', options.outPath);
    const frameBytes = width * height * 3;
    const frames = checkedFrames(options.frames, frameBytes);
    const result = await runProcess(ffmpeg, args, { what: 'ffmpeg (MP4 encode)', timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, stdin: frames, ...(options.signal ? { signal: options.signal } : {}) });
    if (result.exitCode !== 0) throw new Error(`ffmpeg could not write the MP4 (exit ${result.exitCode}): ${lastLine(result.stderr)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function* checkedFrames(frames: AsyncIterable<Uint8Array>, frameBytes: number): AsyncIterable<Uint8Array> {
  let index = 0;
  for await (const frame of frames) {
    if (frame.length !== frameBytes) throw new RangeError(`Expected ${frameBytes} bytes of RGB for frame ${index} but received ${frame.length}`);
    index++;
    yield frame;
  }
}

/** Samples as a 16-bit PCM WAV (RIFF, WAVE_FORMAT_PCM), channels interleaved, clipped to [-1, 1]. */
export function wavPcm16(audio: Mp4Audio): Buffer {
  const channels = audio.channels.length;
  const frames = audio.channels[0]?.length ?? 0;
  const dataBytes = frames * channels * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(audio.sampleRate, 24);
  out.writeUInt32LE(audio.sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  let offset = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const x = Math.max(-1, Math.min(1, audio.channels[c]![i]!));
      out.writeInt16LE(Math.round(x * 32767), offset);
      offset += 2;
    }
  }
  return out;
}
