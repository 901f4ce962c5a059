import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';

/** Audio as torchaudio.load returns it: one Float32Array per channel, samples in [-1, 1]. */
export interface DecodedAudio {
  sampleRate: number;
  /** [channels][samples] */
  channels: Float32Array[];
  durationSec: number;
  /** Sniffed container / codec name (wav, flac, mp3, ogg-vorbis, ogg-opus, mp4, webm, ...). */
  format: string;
  /** Things a person may want to know that did not stop decoding (e.g. a WAV shorter than its header says). */
  warnings: string[];
}

export function makeDecodedAudio(sampleRate: number, channels: Float32Array[], format: string, warnings: string[] = []): DecodedAudio {
  const samples = channels[0]?.length ?? 0;
  return { sampleRate, channels, durationSec: samples / sampleRate, format, warnings };
}

// ---------------------------------------------------------------- checks on headers and decoded lengths

/** What a header says, checked against the limits before anything is decoded. */
export interface AudioHeader {
  channels: number;
  sampleRate: number;
  /** Samples per channel, when the header says (undefined: only known after decoding). */
  samples: number | undefined;
}

export function checkAudioHeader(header: AudioHeader, limits: AudioLimits, format: string): void {
  const { channels, sampleRate, samples } = header;
  if (!Number.isInteger(channels) || channels < 1) {
    throw new MediaError('AUDIO_INVALID', `The ${format} header says ${channels} channels`);
  }
  if (channels > limits.maxChannels) {
    throw new MediaError('AUDIO_TOO_MANY_CHANNELS', `The audio has ${channels} channels, over the limit of ${limits.maxChannels}`);
  }
  if (!Number.isFinite(sampleRate) || sampleRate < 1) {
    throw new MediaError('AUDIO_INVALID', `The ${format} header says a sample rate of ${sampleRate} Hz`);
  }
  if (sampleRate > limits.maxSampleRate) {
    throw new MediaError('AUDIO_UNSUPPORTED_ENCODING', `The audio's sample rate of ${sampleRate} Hz is over the limit of ${limits.maxSampleRate} Hz`);
  }
  if (samples !== undefined) checkAudioLength(samples, sampleRate, limits);
}

/** Samples per channel allowed at this rate. */
export function maxSamplesAt(sampleRate: number, limits: AudioLimits): number {
  return Math.floor(limits.maxDurationSec * sampleRate);
}

export function checkAudioLength(samples: number, sampleRate: number, limits: AudioLimits): void {
  if (samples > maxSamplesAt(sampleRate, limits)) {
    throw new MediaError('AUDIO_TOO_LONG', `The audio lasts ${(samples / sampleRate).toFixed(2)} s, over the limit of ${limits.maxDurationSec} s`);
  }
}

export function checkHasSamples(samples: number, format: string): void {
  if (samples === 0) throw new MediaError('AUDIO_NO_SAMPLES', `The ${format} file holds no audio samples`);
}
