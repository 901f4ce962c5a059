/**
 * Where a recording is read and where its frames fall (issue #19, a recording to a video).
 * Pure functions of durations, in seconds.
 *
 * Windows: ImageBind reads sound as 2 s clips (imagebind/data.py load_and_transform_audio_data:
 * clip_duration=2 at 16 kHz, 128 mel bins x 204 frames), so a window of 2 s is exactly one of
 * its clips; a hop of 0.5 s gives a new embedding four times per window, fine enough that a
 * change is placed within a quarter of a window.
 */
export interface SoundWindow {
  index: number;
  startSec: number;
  endSec: number;
  /** The time the window's embedding is placed at (its middle). */
  centreSec: number;
}

export interface SoundWindowOptions {
  windowSec: number;
  hopSec: number;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Expected a positive number for ${name} but received ${String(value)}`);
  }
  return value;
}

/**
 * Windows of `windowSec` every `hopSec` from 0, the last one ending at the recording's end when
 * the hops do not land there (so the end is read too); a recording shorter than a window is one
 * window over all of it (ImageBind pads a short clip).
 */
export function soundWindows(durationSec: number, options: SoundWindowOptions): SoundWindow[] {
  const duration = positive(durationSec, 'durationSec');
  const window = positive(options.windowSec, 'windowSec');
  const hop = positive(options.hopSec, 'hopSec');
  if (duration <= window) return [{ index: 0, startSec: 0, endSec: duration, centreSec: duration / 2 }];
  const starts: number[] = [];
  // a tolerance of a microsecond keeps 10 s / 0.5 s from losing its last hop to rounding
  for (let k = 0; k * hop + window <= duration + 1e-6; k++) starts.push(Math.min(k * hop, duration - window));
  if (duration - (starts.at(-1)! + window) > 1e-6) starts.push(duration - window);
  return starts.map((startSec, index) => ({ index, startSec, endSec: startSec + window, centreSec: startSec + window / 2 }));
}

/**
 * The time each frame shows: frame i is on screen over [i/fps, (i+1)/fps) and shows the sound at
 * the middle of that interval. round(duration x fps) frames, at least one.
 */
export function frameTimes(durationSec: number, fps: number): number[] {
  const duration = positive(durationSec, 'durationSec');
  const rate = positive(fps, 'fps');
  const count = Math.max(1, Math.round(duration * rate));
  return Array.from({ length: count }, (_, i) => (i + 0.5) / rate);
}
