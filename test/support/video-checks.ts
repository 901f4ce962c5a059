import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What ffprobe says of an MP4 (issue #19's checks: H.264, yuv420p, the sound muxed in): the
 * container's format names and duration, and each stream's codec, pixel format, size, frames.
 */
export interface Mp4Facts {
  formatName: string;
  durationSec: number;
  video: { codec: string; pixFmt: string; width: number; height: number; frames: number; fps: number } | null;
  audio: { codec: string; sampleRate: number; durationSec: number } | null;
}

export async function probeMp4(path: string, ffprobe = process.env.FFPROBE_PATH || 'ffprobe'): Promise<Mp4Facts> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-count_frames', '-show_format', '-show_streams', '-of', 'json', path], { maxBuffer: 8 * 1024 * 1024 });
  const probed = JSON.parse(stdout) as {
    format: { format_name: string; duration: string };
    streams: Array<{ codec_type: string; codec_name: string; pix_fmt?: string; width?: number; height?: number; nb_read_frames?: string; r_frame_rate?: string; sample_rate?: string; duration?: string }>;
  };
  const v = probed.streams.find((s) => s.codec_type === 'video');
  const a = probed.streams.find((s) => s.codec_type === 'audio');
  const rate = (r: string | undefined) => {
    const [n, d] = (r ?? '0/1').split('/').map(Number);
    return n! / (d || 1);
  };
  return {
    formatName: probed.format.format_name,
    durationSec: Number(probed.format.duration),
    video: v ? { codec: v.codec_name, pixFmt: v.pix_fmt ?? '', width: v.width ?? 0, height: v.height ?? 0, frames: Number(v.nb_read_frames ?? 0), fps: rate(v.r_frame_rate) } : null,
    audio: a ? { codec: a.codec_name, sampleRate: Number(a.sample_rate ?? 0), durationSec: Number(a.duration ?? 0) } : null,
  };
}

/**
 * A mono 16-bit WAV of tone segments, each `seconds` long at its own `amplitude` (a 440 Hz sine):
 * a recording whose loudness steps, which the synthetic pipeline's embedSound reads as a change.
 */
export function steppedToneWav(segments: ReadonlyArray<{ seconds: number; amplitude: number }>, sampleRate = 16_000): Buffer {
  const samples = segments.flatMap(({ seconds, amplitude }) => Array.from({ length: Math.round(seconds * sampleRate) }, () => amplitude));
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((amplitude, i) => out.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / sampleRate) * 32767), 44 + i * 2));
  return out;
}
