import { FFMPEG_DEMUXERS, ffmpegBinaries } from '../ffmpeg/binaries.js';
import { probeFile, type AudioStreamInfo } from '../ffmpeg/probe.js';
import { lastLine, runProcess } from '../ffmpeg/run-process.js';
import { withTempFile } from '../ffmpeg/temp-file.js';
import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { checkAudioHeader, checkHasSamples, maxSamplesAt } from './decoded-audio.js';
import { makeDecodedAudio, type DecodedAudio } from './decoded-audio.js';

/**
 * The first audio track of a container (MP4/MOV/M4A, WebM/MKV, AVI, AIFF, ADTS AAC) through the
 * ffmpeg binary: ffprobe reads the track's rate, channels and duration (checked against the
 * limits first), then ffmpeg writes native-rate float32 PCM to a pipe, killed if it goes past
 * the duration limit or the time limit. ffmpeg's own int -> float conversion is value / 2^(bits-1),
 * the same as torchaudio's; codecs like AAC decode to float natively.
 */
/** ffprobe's view of the first audio track, checked against the limits (no sample decoded). */
export async function probeSoundtrack(path: string, format: string, limits: AudioLimits, signal?: AbortSignal): Promise<{ track: AudioStreamInfo; durationSec: number | undefined }> {
  const demuxer = FFMPEG_DEMUXERS[format];
  if (!demuxer) throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Audio cannot be read from a ${format} file`);
  const probe = await probeFile(path, { demuxer, timeoutMs: limits.timeoutMs, invalidCode: 'AUDIO_INVALID', ...(signal ? { signal } : {}) });
  const track = probe.audio;
  if (!track) throw new MediaError('AUDIO_NO_STREAM', `The ${format} file has no audio track`);
  const durationSec = track.durationSec ?? probe.durationSec;
  checkAudioHeader({
    channels: track.channels, sampleRate: track.sampleRate,
    samples: durationSec === undefined ? undefined : Math.round(durationSec * track.sampleRate),
  }, limits, format);
  return { track, durationSec };
}

export async function decodeSoundtrack(bytes: Uint8Array, format: string, limits: AudioLimits, signal?: AbortSignal): Promise<DecodedAudio> {
  const demuxer = FFMPEG_DEMUXERS[format];
  if (!demuxer) throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Audio cannot be read from a ${format} file`);
  return withTempFile(bytes, async (path) => {
    const { track } = await probeSoundtrack(path, format, limits, signal);
    const frameBytes = 4 * track.channels;
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file', '-f', demuxer, '-i', path,
      '-map', '0:a:0', '-vn', '-sn', '-dn', '-acodec', 'pcm_f32le', '-f', 'f32le', 'pipe:1'];
    const run = await runProcess(ffmpegBinaries().ffmpeg, args, {
      what: 'ffmpeg', timeoutMs: limits.timeoutMs,
      maxStdoutBytes: (maxSamplesAt(track.sampleRate, limits) + 1) * frameBytes,
      onStdoutLimit: () => new MediaError('AUDIO_TOO_LONG', `The audio lasts more than ${limits.maxDurationSec} s, the limit`),
      ...(signal ? { signal } : {}),
    });
    if (run.exitCode !== 0) {
      const reason = lastLine(run.stderr, path);
      const code = /partial file|end of file|truncat/i.test(run.stderr) ? 'AUDIO_TRUNCATED' : 'AUDIO_INVALID';
      throw new MediaError(code, `The ${format} soundtrack cannot be decoded: ${reason}`);
    }
    const frames = Math.floor(run.stdout.length / frameBytes);
    checkHasSamples(frames, format);
    // Copy into an aligned buffer, then split the interleaved samples per channel.
    const interleaved = new Float32Array(run.stdout.buffer.slice(run.stdout.byteOffset, run.stdout.byteOffset + frames * frameBytes));
    const channels = Array.from({ length: track.channels }, (_, c) => {
      const out = new Float32Array(frames);
      for (let i = 0, k = c; i < frames; i++, k += track.channels) out[i] = interleaved[k]!;
      return out;
    });
    const warnings = /partial file|error/i.test(run.stderr) ? [`ffmpeg reported: ${lastLine(run.stderr, path)}`] : [];
    return makeDecodedAudio(track.sampleRate, channels, format, warnings);
  });
}
