// Pure WAV encoding: a stretch of decoded sound (channels mixed to mono) as a canonical 16-bit
// PCM RIFF/WAVE file (the format every decoder reads: Microsoft/IBM RIFF WAVE, 1991).

/** The mono mix of `channels` (Float32Arrays) from sample `from` to sample `to`. */
export function monoMix(channels, from, to) {
  const out = new Float32Array(Math.max(0, to - from));
  for (const channel of channels) {
    for (let i = 0; i < out.length; i++) out[i] += channel[from + i] / channels.length;
  }
  return out;
}

/** 16-bit PCM mono WAV bytes of `samples` (-1..1) at `sampleRate`. */
export function encodeWav(samples, sampleRate) {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset, text) => [...text].forEach((char, i) => view.setUint8(offset + i, char.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const clamped = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, Math.round(clamped * 0x7fff), true);
  }
  return bytes;
}

/** The trimmed stretch [startSeconds, endSeconds) of an AudioBuffer as a WAV File. */
export function trimmedWavFile(buffer, startSeconds, endSeconds, name) {
  const from = Math.max(0, Math.floor(startSeconds * buffer.sampleRate));
  const to = Math.min(buffer.length, Math.ceil(endSeconds * buffer.sampleRate));
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, i) => buffer.getChannelData(i));
  return new File([encodeWav(monoMix(channels, from, to), buffer.sampleRate)], name, { type: 'audio/wav' });
}
