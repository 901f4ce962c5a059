import { assertByteSize, DEFAULT_AUDIO_LIMITS, resolveLimits, type AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { describeSniffed, sniffMediaType, type SniffResult } from '../sniff.js';
import { decodeFlac, decodeMp3, decodeOggOpus, decodeOggVorbis } from './compressed-audio.js';
import type { DecodedAudio } from './decoded-audio.js';
import { decodeSoundtrack } from './soundtrack.js';
import { decodeWav } from './wav.js';
import { FFMPEG_DEMUXERS } from '../ffmpeg/binaries.js';

export interface DecodeAudioOptions {
  limits?: Partial<AudioLimits>;
  /** Ends an ffmpeg run (video soundtracks) early with MEDIA_ABORTED. */
  signal?: AbortSignal;
}

const IN_PROCESS: Record<string, (bytes: Uint8Array, limits: AudioLimits) => DecodedAudio | Promise<DecodedAudio>> = {
  wav: decodeWav,
  flac: decodeFlac,
  mp3: decodeMp3,
  'ogg-vorbis': decodeOggVorbis,
  'ogg-opus': decodeOggOpus,
};

/**
 * Decodes an uploaded sound (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus) or the soundtrack of a
 * video (MP4/MOV, WebM/MKV, AVI; also M4A, AIFF, ADTS AAC) into float32 channels scaled as
 * torchaudio.load (0.13.1, sox_io) scales them. The format comes from the bytes, never the
 * file name. Errors are MediaError with a stable code.
 */
export async function decodeAudio(bytes: Uint8Array, options: DecodeAudioOptions = {}): Promise<DecodedAudio> {
  const limits = resolveLimits(DEFAULT_AUDIO_LIMITS, options.limits, 'limits');
  assertByteSize(bytes, limits.maxBytes, 'audio');
  const sniffed = await sniffMediaType(bytes);
  if (audioReader(sniffed) === 'in-process') return IN_PROCESS[sniffed.format]!(bytes, limits);
  return decodeSoundtrack(bytes, sniffed.format, limits, options.signal);
}

/**
 * Which reader decodeAudio uses for a sniffed file: one of the in-process decoders (WAV, FLAC,
 * MP3, Ogg Vorbis, Ogg Opus) or ffmpeg for the soundtrack of a container; anything else is
 * MEDIA_UNSUPPORTED_FORMAT. The upload inspection asks the same question.
 */
export function audioReader(sniffed: SniffResult): 'in-process' | 'soundtrack' {
  if (IN_PROCESS[sniffed.format]) return 'in-process';
  if ((sniffed.kind === 'audio' || sniffed.kind === 'video') && FFMPEG_DEMUXERS[sniffed.format]) return 'soundtrack';
  throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Expected WAV, FLAC, MP3, Ogg Vorbis/Opus or a video with sound but received ${describeSniffed(sniffed)}`);
}
