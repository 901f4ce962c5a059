import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { LiveEndedEvent, LiveImageEvent, LiveStartAck } from '@a2i/protocol';
import { connectSocket, json, postJson, readSse, useStack, waitFor, type TestSocket } from './harness.js';

// Live sound through socket.io on a real api and worker, the synthetic pipeline at 20 ms a step:
// a live picture is 4 decoder steps plus the synthetic prior's 10 (prior "auto" runs it for a
// sound), about 0.3 s.
const RATE = 16_000;

/** 250 ms of a tone at `amplitude` as 16-bit samples. */
const tone = (amplitude: number, ms = 250) => Int16Array.from({ length: (RATE * ms) / 1000 }, (_, i) => Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * 440 * i) / RATE)));
const bytesOf = (samples: Int16Array) => new Uint8Array(samples.buffer.slice(0));

async function openStream(url: string, request: object = { sampleRate: RATE }) {
  const socket = connectSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const images: LiveImageEvent[] = [];
  const ended: LiveEndedEvent[] = [];
  socket.on('live:image', (event) => images.push(event));
  socket.on('live:ended', (event) => ended.push(event));
  const ack = (await socket.emitWithAck('live:start', request as never)) as LiveStartAck;
  return { socket, ack, images, ended };
}

const send = (socket: TestSocket, streamId: string, samples: Int16Array) => socket.emit('live:chunk', { streamId, pcm: bytesOf(samples) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live sound over socket.io', () => {
  const run = useStack({ env: { A2I_SYNTHETIC_STEP_MS: '20', A2I_LIVE_STEPS: '4', A2I_LIVE_IDLE_SECONDS: '2', A2I_LIVE_CHUNKS_PER_SECOND: '40', A2I_LIVE_STREAMS_PER_CLIENT: '2', A2I_LIVE_CHUNK_BYTES: '16000' } });

  it('answers chunks with pictures of the newest window, and live:stop ends the stream with its stats', async () => {
    const { socket, ack, images, ended } = await openStream(run.url, { sampleRate: RATE, inputs: [{ modality: 'text', text: 'in the rain', weight: 0.3 }], seed: 7 });
    expect(ack).toEqual({ ok: true, streamId: expect.any(String), limits: { chunkBytes: 16_000, chunksPerSecond: 40, idleSeconds: 2, streamsPerClient: 2, windowSec: 2 }, steps: 4, seed: 7 });
    if (!('ok' in ack)) throw new Error('refused');
    for (let i = 0; i < 8; i++) {
      send(socket, ack.streamId, tone(0.3));
      await sleep(100);
    }
    await waitFor(() => images.length >= 1 || undefined, 'a live picture');
    const first = images[0]!;
    expect(first).toMatchObject({ streamId: ack.streamId, seq: 1, mime: 'image/webp', width: 64, height: 64 });
    expect((await sharp(Buffer.from(first.image)).metadata()).format).toBe('webp');
    expect(first.latencyMs).toBeGreaterThan(0);
    expect(first.windowSec).toBeGreaterThan(0);
    expect(await socket.emitWithAck('live:stop', { streamId: ack.streamId })).toEqual({ ok: true });
    await waitFor(() => ended.length === 1 || undefined, 'live:ended');
    expect(ended[0]).toMatchObject({ streamId: ack.streamId, reason: 'stopped', stats: { chunks: 8, refused: 0 } });
    expect(ended[0]!.stats.pictures).toBe(images.length);
    socket.close();
  });

  it('never queues more than one picture per stream: chunks faster than pictures drop the stale windows', async () => {
    const { socket, ack, images, ended } = await openStream(run.url);
    if (!('ok' in ack)) throw new Error('refused');
    let mostQueued = 0;
    for (let i = 0; i < 30; i++) {
      send(socket, ack.streamId, tone(0.1 + (i % 5) * 0.1, 50));
      await sleep(40);
      const jobs = await run.probe.queue.getJobs(['waiting', 'prioritized', 'active']);
      mostQueued = Math.max(mostQueued, jobs.filter((job) => job.name === 'live' && job.data.streamId === ack.streamId).length);
    }
    await socket.emitWithAck('live:stop', { streamId: ack.streamId });
    await waitFor(() => ended.length === 1 || undefined, 'live:ended');
    expect(mostQueued).toBe(1);
    const { stats } = ended[0]!;
    expect(stats.chunks).toBe(30);
    expect(stats.pictures).toBeLessThan(15);
    expect(stats.skipped).toBeGreaterThan(10);
    // every picture is of a newer window than the one before
    const arrivals = images.map((e) => e.chunkAt);
    expect([...arrivals].sort((a, b) => a - b)).toEqual(arrivals);
    socket.close();
  });

  it('keeps its limits: streams per client, chunk size, idle streams', async () => {
    const one = await openStream(run.url);
    const two = await openStream(run.url);
    const three = await openStream(run.url);
    expect('ok' in one.ack && 'ok' in two.ack).toBe(true);
    expect(three.ack).toEqual({ error: { code: 'LIVE_TOO_MANY_STREAMS', message: expect.stringContaining('at most 2 live streams per client') } });
    if (!('ok' in one.ack) || !('ok' in two.ack)) throw new Error('refused');
    // a chunk over A2I_LIVE_CHUNK_BYTES ends its stream
    one.socket.emit('live:chunk', { streamId: one.ack.streamId, pcm: new Uint8Array(16_002) });
    await waitFor(() => one.ended.length === 1 || undefined, 'the refused stream to end');
    expect(one.ended[0]).toMatchObject({ reason: 'refused', code: 'LIVE_CHUNK_INVALID' });
    // a stream without chunks ends after A2I_LIVE_IDLE_SECONDS
    await waitFor(() => two.ended.length === 1 || undefined, 'the idle stream to end', 5000);
    expect(two.ended[0]).toMatchObject({ reason: 'idle' });
    // a bad start: a modality that cannot go with a live sound
    expect(await three.socket.emitWithAck('live:start', { sampleRate: 4000 } as never)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    for (const s of [one, two, three]) s.socket.close();
  });

  it('does not starve ordinary jobs: a job queued while a stream paints waits for at most one of its pictures', async () => {
    const { socket, ack, images } = await openStream(run.url);
    if (!('ok' in ack)) throw new Error('refused');
    let sending = true;
    const sender = (async () => {
      while (sending) {
        send(socket, ack.streamId, tone(0.3, 100));
        await sleep(50);
      }
    })();
    await waitFor(() => images.length >= 1 || undefined, 'the stream to paint');
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const created = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: `a dog ${i}` }], steps: 10, prior: 'off', previewEvery: 0 });
      const events = await readSse(`${run.url}/v1/generations/${created.body.id}/events?token=${created.body.token}`);
      expect(events.at(-1)!.type).toBe('job:succeeded');
      const startedEvent = events.find((e) => e.type === 'job:started')!;
      waits.push((startedEvent.payload.at as number) - started);
    }
    sending = false;
    await sender;
    const picturesDuring = images.length;
    await socket.emitWithAck('live:stop', { streamId: ack.streamId });
    // a live picture is 14 steps of 20 ms; an ordinary job waited for at most the one in the making (and its own queueing)
    for (const wait of waits) expect(wait).toBeLessThan(1500);
    expect(picturesDuring).toBeGreaterThan(1);
    const status = await json(await fetch(`${run.url}/readyz`));
    expect(status.ready).toBe(true);
    socket.close();
  });
});
