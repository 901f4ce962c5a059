import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveEndedEvent, LiveImageEvent } from '@a2i/protocol';
import { LiveStream, type LivePicture, type LiveSnapshot } from '../src/live-stream.js';
import { LiveStreams, type LiveJobTemplate } from '../src/live-streams.js';
import { LiveWindow } from '../src/live-window.js';

/** Little-endian 16-bit samples as a chunk's bytes. */
const chunk = (...samples: number[]) => new Uint8Array(Int16Array.from(samples).buffer);

/** A painter whose pictures the test finishes by hand. */
function manualPainter() {
  const calls: Array<{ snapshot: LiveSnapshot; finish(): void; fail(error: unknown): void }> = [];
  const paint = (snapshot: LiveSnapshot) =>
    new Promise<LivePicture>((resolve, reject) => {
      calls.push({ snapshot, finish: () => resolve({ image: new Uint8Array([1]), width: 8, height: 8 }), fail: reject });
    });
  return { calls, paint };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('LiveWindow', () => {
  it('keeps the newest samples, oldest first, in fixed memory', () => {
    const window = new LiveWindow(4);
    window.append(Int16Array.from([1, 2, 3]), 10);
    expect(Array.from(window.snapshot().samples)).toEqual([1, 2, 3]);
    window.append(Int16Array.from([4, 5]), 20);
    expect(window.snapshot()).toEqual({ samples: Int16Array.from([2, 3, 4, 5]), newestAt: 20, version: 2 });
    window.append(Int16Array.from([6, 7, 8, 9, 10, 11]), 30);
    expect(Array.from(window.snapshot().samples)).toEqual([8, 9, 10, 11]);
  });
});

describe('LiveStream: the newest window, one picture at a time', () => {
  let now = 1000;
  const images: LiveImageEvent[] = [];
  const errors: unknown[] = [];
  beforeEach(() => {
    now = 1000;
    images.length = 0;
    errors.length = 0;
  });
  const streamOf = (paint: (s: LiveSnapshot) => Promise<LivePicture>, rate = 100) =>
    new LiveStream('s1', { sampleRate: 4, windowSamples: 8, chunkBytes: 8, chunksPerSecond: rate }, { paint, onImage: (e) => images.push(e), onPaintError: (e) => errors.push(e), now: () => now });

  it('never has more than one picture in the making; windows that came meanwhile are dropped but the newest', async () => {
    const painter = manualPainter();
    const stream = streamOf(painter.paint);
    expect(stream.accept(chunk(1, 2))).toBe('taken');
    expect(painter.calls).toHaveLength(1);
    // five more chunks while the first picture is made: no new picture begins
    for (let i = 0; i < 5; i++) {
      now += 10;
      stream.accept(chunk(10 + i, 20 + i));
    }
    expect(painter.calls).toHaveLength(1);
    expect(stream.busy).toBe(true);
    painter.calls[0]!.finish();
    await settle();
    // the next picture is of the newest window (the last 8 samples); the 4 windows between were never painted
    expect(painter.calls).toHaveLength(2);
    expect(Array.from(painter.calls[1]!.snapshot.samples)).toEqual([11, 21, 12, 22, 13, 23, 14, 24]);
    expect(painter.calls[1]!.snapshot.newestAt).toBe(1050);
    expect(stream.stats).toEqual({ chunks: 6, refused: 0, pictures: 1, skipped: 4 });
    now = 1300;
    painter.calls[1]!.finish();
    await settle();
    // nothing new since: no third picture
    expect(painter.calls).toHaveLength(2);
    expect(images.map((e) => [e.seq, e.chunkAt, e.latencyMs, e.windowSec])).toEqual([
      [1, 1000, 50, 0.5],
      [2, 1050, 250, 2],
    ]);
  });

  it('refuses chunks that are not whole samples or too large (invalid), and those over the rate (refused, counted)', () => {
    const painter = manualPainter();
    const stream = streamOf(painter.paint, 3);
    expect(stream.accept(new Uint8Array(3))).toBe('invalid');
    expect(stream.accept(new Uint8Array(0))).toBe('invalid');
    expect(stream.accept(new Uint8Array(10))).toBe('invalid');
    expect([stream.accept(chunk(1)), stream.accept(chunk(2)), stream.accept(chunk(3)), stream.accept(chunk(4))]).toEqual(['taken', 'taken', 'taken', 'refused']);
    now += 1000;
    expect(stream.accept(chunk(5))).toBe('taken');
    expect(stream.stats).toMatchObject({ chunks: 4, refused: 1 });
  });

  it('an ended stream sends nothing more, even a picture that was being made', async () => {
    const painter = manualPainter();
    const stream = streamOf(painter.paint);
    stream.accept(chunk(1));
    stream.end();
    painter.calls[0]!.finish();
    await settle();
    expect(images).toEqual([]);
    expect(stream.accept(chunk(2))).toBe('refused');
  });

  it('a failed picture is reported and the next chunk paints again', async () => {
    const painter = manualPainter();
    const stream = streamOf(painter.paint);
    stream.accept(chunk(1));
    painter.calls[0]!.fail(new Error('worker busy'));
    await settle();
    expect(errors).toHaveLength(1);
    stream.accept(chunk(2));
    expect(painter.calls).toHaveLength(2);
  });
});

describe('LiveStreams: limits per client and in all, idle streams, connections', () => {
  const config = { streamsPerClient: 2, streamsTotal: 3, chunkBytes: 64, chunksPerSecond: 50, idleSeconds: 2, steps: 4 };
  const job: LiveJobTemplate = { sampleRate: 16_000, soundWeight: 1, inputs: [], options: { prompt: '', seed: 1, steps: 4, guidance: 3, usePrior: false, noiseLevel: 0, numImages: 1, format: 'webp', previewEvery: 0, priority: 'normal' } };
  const ended: LiveEndedEvent[] = [];
  const owner = (connection: string, client: string) => ({ connection, client, emit: (event: string, payload: unknown) => void (event === 'live:ended' && ended.push(payload as LiveEndedEvent)) });
  const codeOf = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return 'none';
  };
  beforeEach(() => {
    vi.useFakeTimers();
    ended.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('refuses a third stream of a client (LIVE_TOO_MANY_STREAMS) and a fourth in all (LIVE_STREAMS_FULL)', () => {
    const streams = new LiveStreams(config, manualPainter().paint as never, pino({ level: 'silent' }));
    const a = streams.start(owner('c1', 'alice') as never, job);
    streams.start(owner('c1', 'alice') as never, job);
    expect(codeOf(() => streams.start(owner('c2', 'alice') as never, job))).toBe('LIVE_TOO_MANY_STREAMS');
    streams.start(owner('c3', 'bob') as never, job);
    expect(codeOf(() => streams.start(owner('c4', 'carol') as never, job))).toBe('LIVE_STREAMS_FULL');
    streams.stop('c1', a);
    expect(ended).toEqual([{ streamId: a, reason: 'stopped', stats: { chunks: 0, refused: 0, pictures: 0, skipped: 0 } }]);
    expect(streams.start(owner('c4', 'carol') as never, job)).toEqual(expect.any(String));
  });

  it('ends a stream without chunks for A2I_LIVE_IDLE_SECONDS, one with a bad chunk, and a departed connection\'s streams', () => {
    const streams = new LiveStreams(config, manualPainter().paint as never, pino({ level: 'silent' }));
    const idle = streams.start(owner('c1', 'alice') as never, job);
    const kept = streams.start(owner('c2', 'bob') as never, job);
    vi.advanceTimersByTime(1500);
    streams.chunk('c2', kept, chunk(1, 2));
    vi.advanceTimersByTime(600);
    expect(ended.map((e) => [e.streamId, e.reason])).toEqual([[idle, 'idle']]);
    // another connection cannot touch the stream
    expect(codeOf(() => streams.chunk('c1', kept, chunk(1)))).toBe('NOT_FOUND');
    streams.chunk('c2', kept, new Uint8Array(65));
    expect(ended.at(-1)).toMatchObject({ streamId: kept, reason: 'refused', code: 'LIVE_CHUNK_INVALID' });
    const gone = streams.start(owner('c3', 'carol') as never, job);
    streams.disconnected('c3');
    expect(streams.size).toBe(0);
    expect(ended.some((e) => e.streamId === gone)).toBe(false);
  });
});
