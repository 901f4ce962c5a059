import { describe, expect, it } from 'vitest';
import { NearestFrameSelector } from '../src/video/nearest-frame.js';

describe('NearestFrameSelector', () => {
  it('keeps the nearest frame per time, the earlier one on a tie, and loads each frame once', () => {
    const selector = new NearestFrameSelector<string>([0.25, 0.1, 1.0, 0.75]);
    const loads: number[] = [];
    for (const t of [0, 0.5, 1.5]) {
      selector.offer(t, () => { loads.push(t); return `frame@${t}`; });
    }
    // 0.25 is as far from 0 as from 0.5: the earlier wins. 0.75: 0.5 and 1.0 tie... 1.5 is 0.75 away, 0.5 is 0.25.
    expect(selector.results().map((r) => r?.frame)).toEqual(['frame@0', 'frame@0', 'frame@0.5', 'frame@0.5']);
    expect(loads).toEqual([0, 0.5]); // 1.5 was nearer to none
    expect(selector.done).toBe(true);
  });

  it('is not done until a frame at or after the last time is seen', () => {
    const selector = new NearestFrameSelector<number>([2]);
    selector.offer(1.9, () => 1);
    expect(selector.done).toBe(false);
    selector.offer(2.0, () => 2);
    expect(selector.done).toBe(true);
    expect(selector.results()[0]).toEqual({ time: 2, frame: 2 });
  });

  it('leaves a time without a frame when none was offered', () => {
    expect(new NearestFrameSelector<number>([0, 1]).results()).toEqual([undefined, undefined]);
  });
});
