/**
 * The last `capacity` samples of a live stream (a ring: memory is fixed whatever the client
 * sends), the arrival time of the newest chunk, and a version that every chunk moves on, so a
 * stream knows whether it has painted its newest window yet.
 */
export class LiveWindow {
  private readonly ring: Int16Array;
  private filled = 0;
  /** Where the next sample goes. */
  private next = 0;
  /** When the newest chunk arrived (ms), 0 before any. */
  newestAt = 0;
  /** Chunks appended so far. */
  version = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Expected a positive integer capacity but received ${capacity}`);
    this.ring = new Int16Array(capacity);
  }

  append(samples: Int16Array, at: number): void {
    // only the newest `capacity` samples of a chunk can stay
    const kept = samples.length > this.capacity ? samples.subarray(samples.length - this.capacity) : samples;
    for (let i = 0; i < kept.length; i++) {
      this.ring[this.next] = kept[i]!;
      this.next = (this.next + 1) % this.capacity;
    }
    this.filled = Math.min(this.capacity, this.filled + kept.length);
    this.newestAt = at;
    this.version++;
  }

  /** The samples held, oldest first (a copy), with the version and arrival time they are of. */
  snapshot(): { samples: Int16Array; newestAt: number; version: number } {
    const samples = new Int16Array(this.filled);
    const start = (this.next - this.filled + this.capacity) % this.capacity;
    for (let i = 0; i < this.filled; i++) samples[i] = this.ring[(start + i) % this.capacity]!;
    return { samples, newestAt: this.newestAt, version: this.version };
  }
}
