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
