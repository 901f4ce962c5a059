import type { LiveImageEvent, LiveStats } from '@a2i/protocol';
import { LiveWindow } from './live-window.js';

/** A window to paint: the samples, oldest first, and when its newest chunk arrived. */
export interface LiveSnapshot {
  samples: Int16Array;
  newestAt: number;
}

/** A painted window: the encoded picture and its size. */
export interface LivePicture {
  image: Uint8Array;
  width: number;
  height: number;
}

export interface LiveStreamSettings {
  sampleRate: number;
  /** Samples in a window (window seconds x sample rate). */
  windowSamples: number;
  chunkBytes: number;
  chunksPerSecond: number;
}

export interface LiveStreamHooks {
  paint(snapshot: LiveSnapshot): Promise<LivePicture>;
  onImage(event: LiveImageEvent): void;
  /** A picture could not be made; the stream decides nothing, its owner does (LiveStreams). */
  onPaintError(error: unknown): void;
  now(): number;
}

/** Why a chunk was not taken: `invalid` ends the stream (LIVE_CHUNK_INVALID), `refused` (over the rate) only drops it. */
export type ChunkOutcome = 'taken' | 'refused' | 'invalid';

/**
 * One live stream's scheduling (issue #19, part 2): chunks go into a fixed window (LiveWindow);
 * whenever no picture is in the making and the window has changed since the last one began,
 * the newest window is painted. So at most one picture per stream is ever queued or running,
 * every window a newer one replaced before it could be painted is dropped (`skipped`), and the
 * latency of a picture is one paint plus at most the paint before it.
 * Chunks: whole 16-bit samples, at most `chunkBytes` (else `invalid`); at most
 * `chunksPerSecond` in any second (more are `refused`, counted, not painted).
 */
export class LiveStream {
  private readonly window: LiveWindow;
  private readonly arrivals: number[] = [];
  private painting = false;
  /** The window version the last picture began from. */
  private paintedVersion = 0;
  private seq = 0;
  private ended = false;
  readonly stats: LiveStats = { chunks: 0, refused: 0, pictures: 0, skipped: 0 };

  constructor(
    readonly id: string,
    private readonly settings: LiveStreamSettings,
    private readonly hooks: LiveStreamHooks,
  ) {
    this.window = new LiveWindow(settings.windowSamples);
  }

  /** Whether a picture is being made (for tests and the manager's shutdown). */
  get busy(): boolean {
    return this.painting;
  }

  accept(pcm: Uint8Array): ChunkOutcome {
    if (this.ended) return 'refused';
    if (pcm.byteLength === 0 || pcm.byteLength % 2 !== 0 || pcm.byteLength > this.settings.chunkBytes) return 'invalid';
    const now = this.hooks.now();
    while (this.arrivals.length > 0 && now - this.arrivals[0]! >= 1000) this.arrivals.shift();
    if (this.arrivals.length >= this.settings.chunksPerSecond) {
      this.stats.refused++;
      return 'refused';
    }
    this.arrivals.push(now);
    // little-endian 16-bit samples, copied out of the socket's buffer
    const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const samples = new Int16Array(pcm.byteLength / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
    this.window.append(samples, now);
    this.stats.chunks++;
    this.paintNewest();
    return 'taken';
  }

  /** Ends the stream: no more pictures are begun or sent (one being made is dropped). */
  end(): void {
    this.ended = true;
  }

  private paintNewest(): void {
    if (this.painting || this.ended) return;
    const snapshot = this.window.snapshot();
    if (snapshot.version === this.paintedVersion) return;
    // windows between the last painted one and this one were never painted
    this.stats.skipped += snapshot.version - this.paintedVersion - 1;
    this.paintedVersion = snapshot.version;
    this.painting = true;
    this.hooks
      .paint({ samples: snapshot.samples, newestAt: snapshot.newestAt })
      .then(
        (picture) => {
          if (this.ended) return;
          this.stats.pictures++;
          const now = this.hooks.now();
          this.hooks.onImage({
            streamId: this.id,
            seq: ++this.seq,
            image: picture.image,
            mime: 'image/webp',
            width: picture.width,
            height: picture.height,
            chunkAt: snapshot.newestAt,
            latencyMs: now - snapshot.newestAt,
            windowSec: snapshot.samples.length / this.settings.sampleRate,
          });
        },
        (error: unknown) => {
          if (!this.ended) this.hooks.onPaintError(error);
        },
      )
      .finally(() => {
        this.painting = false;
        this.paintNewest();
      });
  }
}
