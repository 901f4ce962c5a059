import { describe, expect, it } from 'vitest';
import { meanAbsoluteFrameDifference } from '../src/video/flicker.js';
import { frameTimes, soundWindows } from '../src/video/sound-timeline.js';

describe('soundWindows', () => {
  it('places 2 s windows every 0.5 s over a recording, centres in the middle', () => {
    const windows = soundWindows(4, { windowSec: 2, hopSec: 0.5 });
    expect(windows.map((w) => [w.startSec, w.endSec, w.centreSec])).toEqual([[0, 2, 1], [0.5, 2.5, 1.5], [1, 3, 2], [1.5, 3.5, 2.5], [2, 4, 3]]);
    expect(windows.map((w) => w.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('adds a last window ending at the end when the hops do not land there', () => {
    const windows = soundWindows(3.2, { windowSec: 2, hopSec: 0.5 });
    expect(windows.map((w) => Number(w.startSec.toFixed(9)))).toEqual([0, 0.5, 1, 1.2]);
    expect(windows.at(-1)!.endSec).toBeCloseTo(3.2, 9);
  });

  it('reads a recording shorter than a window as one window, and 10 s / 0.5 s without losing the last hop to rounding', () => {
    expect(soundWindows(1.3, { windowSec: 2, hopSec: 0.5 })).toEqual([{ index: 0, startSec: 0, endSec: 1.3, centreSec: 0.65 }]);
    const long = soundWindows(10, { windowSec: 2, hopSec: 0.1 });
    expect(long).toHaveLength(81);
    expect(long.at(-1)!.endSec).toBeCloseTo(10, 9);
  });

  it('refuses durations, windows and hops that are not positive numbers', () => {
    expect(() => soundWindows(0, { windowSec: 2, hopSec: 0.5 })).toThrow(/durationSec/);
    expect(() => soundWindows(3, { windowSec: Number.NaN, hopSec: 0.5 })).toThrow(/windowSec/);
    expect(() => soundWindows(3, { windowSec: 2, hopSec: -1 })).toThrow(/hopSec/);
  });
});

describe('frameTimes', () => {
  it('gives each frame the middle of its time on screen, round(duration x fps) frames', () => {
    expect(frameTimes(1, 4)).toEqual([0.125, 0.375, 0.625, 0.875]);
    expect(frameTimes(2.6, 8)).toHaveLength(21);
    expect(frameTimes(0.01, 8)).toEqual([0.0625]);
  });
});

describe('meanAbsoluteFrameDifference', () => {
  it('is 0 for a still sequence and the mean per-value change otherwise', () => {
    const a = new Uint8Array([0, 10, 20, 30]);
    expect(meanAbsoluteFrameDifference([a, a, a])).toBe(0);
    const b = new Uint8Array([4, 10, 20, 26]); // |diff| 4, 0, 0, 4 -> 2
    expect(meanAbsoluteFrameDifference([a, b])).toBe(2);
    expect(meanAbsoluteFrameDifference([a, b, a])).toBe(2);
  });

  it('refuses fewer than two frames and frames of different sizes', () => {
    expect(() => meanAbsoluteFrameDifference([new Uint8Array(3)])).toThrow(/at least 2 frames/);
    expect(() => meanAbsoluteFrameDifference([new Uint8Array(3), new Uint8Array(4)])).toThrow(/frame 1 holds 4/);
  });
});
