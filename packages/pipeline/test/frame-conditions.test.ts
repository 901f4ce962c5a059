import { describe, expect, it } from 'vitest';
import { cosineSimilarity, slerp } from '@a2i/imagebind';
import { frameParts, frameTimes, morphFrameDirections, soundFrameDirections, soundWindows } from '../src/index.js';

const A = [1, 0, 0, 0];
const B = [0, 1, 0, 0];
const angle = (u: ArrayLike<number>, v: ArrayLike<number>) => Math.acos(Math.min(1, Math.max(-1, cosineSimilarity(Float32Array.from(u), Float32Array.from(v)))));

/** Windows of a recording that sounds like A for `changeSec`, then like B (a window is A or B by its middle). */
function changingRecording(durationSec: number, changeSec: number) {
  const windows = soundWindows(durationSec, { windowSec: 2, hopSec: 0.5 });
  return { centresSec: windows.map((w) => w.centreSec), vectors: windows.map((w) => (w.centreSec < changeSec ? A : B)) };
}

describe('frame conditions of a video of a sound (issue #19)', () => {
  it('a steady sound gives every frame the same direction', () => {
    const windows = soundWindows(6, { windowSec: 2, hopSec: 0.5 });
    const directions = soundFrameDirections({ centresSec: windows.map((w) => w.centreSec), vectors: windows.map(() => [3, 4, 0, 0]) }, 0.5, 0.5, frameTimes(6, 8));
    expect(directions).toHaveLength(48);
    for (const d of directions) expect(Array.from(d).map((x) => Number(x.toFixed(6)))).toEqual([0.6, 0.8, 0, 0]);
  });

  it('a change moves the frames from A to B around its time, zero-phase: no lag, and faster without smoothing', () => {
    const recording = changingRecording(12, 6);
    const times = frameTimes(12, 8);
    for (const smoothing of [0, 0.5, 1]) {
      const directions = soundFrameDirections(recording, 0.5, smoothing, times);
      // the midpoint of the move is at the change (within one hop): zero-phase smoothing does not lag
      const crossing = times[directions.findIndex((d) => angle(d, B) < angle(d, A))]!;
      expect(Math.abs(crossing - 6)).toBeLessThanOrEqual(0.5);
      // frames well away from the change show A, then B
      expect(angle(directions[0]!, A)).toBeLessThan(0.01);
      expect(angle(directions.at(-1)!, B)).toBeLessThan(0.01);
    }
    // smoothing spreads the move over more frames
    const moving = (smoothing: number) => soundFrameDirections(recording, 0.5, smoothing, times).filter((d) => angle(d, A) > 0.05 && angle(d, B) > 0.05).length;
    expect(moving(0)).toBeLessThan(moving(1));
  });

  it('without smoothing a frame between two window centres is their slerp', () => {
    const directions = soundFrameDirections({ centresSec: [1, 2], vectors: [A, B] }, 1, 0, [1.25]);
    expect(Array.from(directions[0]!)).toEqual(Array.from(slerp(A, B, 0.25)));
  });

  it('refuses windows without embeddings', () => {
    expect(() => soundFrameDirections({ centresSec: [1], vectors: [] }, 0.5, 0.5, [0.5])).toThrow(RangeError);
  });
});

describe('morph frames', () => {
  it('start at the first stop, end at the last, and move at a constant angular speed through each stop', () => {
    const C = [0, 0, 1, 0];
    const frames = morphFrameDirections([A, B, C], 9);
    expect(angle(frames[0]!, A)).toBeLessThan(1e-6);
    expect(angle(frames[4]!, B)).toBeLessThan(1e-6);
    expect(angle(frames[8]!, C)).toBeLessThan(1e-6);
    const steps = frames.slice(1).map((d, i) => angle(frames[i]!, d));
    for (const step of steps) expect(step).toBeCloseTo(Math.PI / 2 / 4, 5);
  });

  it('one frame is the first stop; fewer than two stops are refused', () => {
    expect(morphFrameDirections([A, B], 1)).toEqual([Float32Array.from(A)]);
    expect(() => morphFrameDirections([A], 4)).toThrow(RangeError);
    expect(() => morphFrameDirections([A, B], 0)).toThrow(RangeError);
  });
});

describe('frame parts', () => {
  it('cover every frame once, in runs of framesPerPart, the last shorter', () => {
    expect(frameParts(10, 4)).toEqual([
      { part: 0, start: 0, end: 4 },
      { part: 1, start: 4, end: 8 },
      { part: 2, start: 8, end: 10 },
    ]);
    expect(frameParts(3, 8)).toEqual([{ part: 0, start: 0, end: 3 }]);
    expect(() => frameParts(0, 8)).toThrow(RangeError);
    expect(() => frameParts(8, 0)).toThrow(RangeError);
  });
});
