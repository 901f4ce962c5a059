// Decoding a chosen sound in the browser (Web Audio decodeAudioData), for its waveform and
// trim. The server decodes with its own tools (ffmpeg), which read formats a browser may not,
// so a file the browser cannot decode is only flagged, never held back.
const MAX_CHECKED_BYTES = 64 * 1024 * 1024;

/** The decoded AudioBuffer, false when this browser cannot decode it, null when not tried (too large, or no Web Audio). */
export async function decodeSound(file) {
  const Context = globalThis.OfflineAudioContext;
  if (!Context || file.size > MAX_CHECKED_BYTES) return null;
  const context = new Context(1, 1, 44_100);
  try {
    return await context.decodeAudioData(await file.arrayBuffer());
  } catch {
    return false;
  }
}
