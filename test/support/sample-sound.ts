/**
 * A small sample sound for the cross-package tests and the server benchmark: mono 16-bit PCM
 * WAV, a two-tone chord with a slow tremolo and a little seeded noise, so every decoder and
 * the audio front end have real content to chew on. Deterministic (same bytes every run).
 */
export function sampleSoundWav(options: { seconds?: number; sampleRate?: number } = {}): Uint8Array {
  const seconds = options.seconds ?? 2;
  const sampleRate = options.sampleRate ?? 16_000;
  const frames = Math.round(seconds * sampleRate);
  const bytes = new Uint8Array(44 + frames * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  // RIFF header of canonical PCM WAV: fmt chunk of 16 bytes, then data.
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + frames * 2, true);
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
  view.setUint32(40, frames * 2, true);
  let seed = 0x2545f491;
  const noise = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const tremolo = 0.75 + 0.25 * Math.sin(2 * Math.PI * 3 * t);
    const x = tremolo * (0.35 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * Math.sin(2 * Math.PI * 660 * t)) + 0.03 * noise();
    view.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, x)) * 32767), true);
  }
  return bytes;
}
