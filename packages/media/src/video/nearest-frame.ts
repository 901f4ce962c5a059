/**
 * Picks, for each requested time, the decoded frame whose timestamp is nearest (a tie goes to
 * the earlier frame). Frames are offered in presentation order; once a frame at or after the
 * last requested time has been seen, no later frame can be nearer, so decoding can stop.
 */
export class NearestFrameSelector<F> {
  private readonly best: ({ time: number; frame: F } | undefined)[];
  private lastTime = -Infinity;
  private readonly latest: number;

  constructor(private readonly times: readonly number[]) {
    this.best = times.map(() => undefined);
    this.latest = Math.max(...times);
  }

  /** Offers a frame at `time` (seconds); `load()` is called only if some request keeps it. */
  offer(time: number, load: () => F): void {
    let frame: F | undefined;
    this.times.forEach((t, i) => {
      const current = this.best[i];
      if (current === undefined || Math.abs(time - t) < Math.abs(current.time - t)) {
        frame ??= load();
        this.best[i] = { time, frame };
      }
    });
    this.lastTime = Math.max(this.lastTime, time);
  }

  /** True once every request has its nearest frame. */
  get done(): boolean {
    return this.lastTime >= this.latest;
  }

  /** The chosen frame for each request, in request order (undefined if no frame was offered). */
  results(): ({ time: number; frame: F } | undefined)[] {
    return [...this.best];
  }
}
