import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket as NetSocket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { PRIORITY_KEY, json, postJson, startStack, waitFor, type Stack, type TestSocket } from './harness.js';
import { sampleSoundWav } from '../../../test/support/sample-sound.js';

/**
 * Every client is limited (README "Limits"; apps/api/src/client-guards.ts): slow bodies cut
 * off, per-client rate limits shared by api instances through Redis, caps on upload bytes and
 * on socket.io connections, security headers and CORS, priority "high" only for its keys.
 * Real Redis, real api instances (createApp) on ephemeral ports, the synthetic worker.
 */

const TEXT = { modality: 'text', text: 'a lighthouse at dusk' };

/** A short valid WAV (the shared test sound). */
const wav = (seconds = 0.1): Buffer => Buffer.from(sampleSoundWav({ seconds }));

function soundForm(sound: Buffer = wav()): FormData {
  const body = new FormData();
  body.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: 2, previewEvery: 0 }));
  body.set('sound', new Blob([new Uint8Array(sound)]), 'sound.wav');
  return body;
}

/**
 * A raw client that sends a multipart POST's headers, the start of its body (the request
 * field and a file part's header, so the server has an upload folder), then trickles the rest.
 */
class TricklingUpload {
  readonly socket: NetSocket;
  answer = '';
  readonly opened = Date.now();
  answeredAt: number | undefined;
  closedAt: number | undefined;
  private trickle: NodeJS.Timeout | undefined;

  constructor(url: string, options: { contentLength: number; bytesPerTick: number; tickMs: number }) {
    const { hostname, port } = new URL(url);
    const boundary = 'a2i-trickle';
    const head = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="request"',
      '',
      JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }] }),
      `--${boundary}`,
      'Content-Disposition: form-data; name="sound"; filename="sound.wav"',
      'Content-Type: application/octet-stream',
      '',
      '',
    ].join('\r\n');
    this.socket = connect(Number(port), hostname, () => {
      this.socket.write(
        `POST /v1/generations HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${options.contentLength}\r\n\r\n${head}`,
      );
      this.trickle = setInterval(() => {
        if (this.socket.writable) this.socket.write(Buffer.alloc(options.bytesPerTick, 0x41));
      }, options.tickMs);
    });
    this.socket.on('data', (chunk) => {
      this.answer += chunk.toString('latin1');
      this.answeredAt ??= Date.now();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closedAt = Date.now();
      clearInterval(this.trickle);
    });
  }

  get status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.answer);
    return match ? Number(match[1]) : undefined;
  }

  get body(): { error?: { code: string } } | undefined {
    const start = this.answer.indexOf('\r\n\r\n');
    return start < 0 ? undefined : JSON.parse(this.answer.slice(start + 4).replace(/^[0-9a-f]+\r\n/, '').split('\r\n')[0]!);
  }

  stop(): void {
    clearInterval(this.trickle);
    this.socket.destroy();
  }
}

async function uploadFolders(stack: Stack): Promise<string[]> {
  return readdir(stack.config.dirs.uploads).catch(() => []);
}

let stack: Stack | undefined;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await stack?.close();
  stack = undefined;
});

describe('request bodies and uploads', () => {
  it('cuts off 20 clients sending 1 byte/s within the window (408 UPLOAD_TOO_SLOW, folders removed) while a normal upload succeeds', async () => {
    const WINDOW_MS = 1000;
    // 21 generations a minute: the 20 slow ones and the normal one; a 22nd is refused (429) before its body is read
    stack = await startStack({ env: { A2I_BODY_MIN_BYTES_PER_SECOND: '1024', A2I_BODY_RATE_WINDOW_MS: String(WINDOW_MS), A2I_RATE_GENERATIONS: '21/60' } });
    const url = stack.urls[0]!;
    const slow = Array.from({ length: 20 }, () => new TricklingUpload(url, { contentLength: 100_000, bytesPerTick: 1, tickMs: 1000 }));
    // every trickling request holds an upload folder before it is cut off
    await waitFor(async () => ((await uploadFolders(stack!)).length >= 20 ? true : undefined), '20 upload folders', 5000);

    // meanwhile a normal upload goes through and its job runs
    const created = await fetch(`${url}/v1/generations`, { method: 'POST', body: soundForm() });
    expect(created.status).toBe(202);
    const { id, token } = await json(created);
    // answered early, its body still trickling: Node would read it to the end, the floor closes it
    const refused = new TricklingUpload(url, { contentLength: 100_000, bytesPerTick: 1, tickMs: 1000 });

    await waitFor(() => (slow.every((client) => client.closedAt !== undefined) ? true : undefined), 'every slow client cut off', 6000);
    for (const client of slow) {
      expect(client.status).toBe(408);
      expect(client.body?.error?.code).toBe('UPLOAD_TOO_SLOW');
      // one window to notice (the timer's phase) plus one of margin
      expect(client.answeredAt! - client.opened).toBeLessThan(2 * WINDOW_MS + 1000);
    }
    await waitFor(() => (refused.closedAt !== undefined ? true : undefined), 'the refused slow client closed', 5000);
    expect(refused.status).toBe(429);
    expect(refused.closedAt! - refused.opened).toBeLessThan(2 * WINDOW_MS + 1000);
    await waitFor(async () => {
      const status = await json(await fetch(`${url}/v1/generations/${id}`, { headers: { 'x-job-token': token } }));
      return status.status === 'succeeded' ? true : undefined;
    }, 'the normal job to succeed');
    // no partial upload left: the cut-off folders at once, the job's by its worker
    await waitFor(async () => ((await uploadFolders(stack!)).length === 0 ? true : undefined), 'no upload folder left', 5000);
  });

  it('refuses uploads past the bytes in flight and on disk with 503 UPLOADS_BUSY + Retry-After, and takes them again once there is room', async () => {
    stack = await startStack({
      env: { A2I_UPLOADS_IN_FLIGHT_BYTES: '200000', A2I_UPLOADS_DISK_BYTES: '300000', A2I_BODY_RATE_WINDOW_MS: '0', A2I_QUEUE_RETRY_AFTER_SECONDS: '7' },
    });
    const url = stack.urls[0]!;
    const sound = wav(2); // 64 kB
    // one body of 150 kB in flight (it says so in Content-Length): 150 + 64 > 200 kB
    const holding = new TricklingUpload(url, { contentLength: 150_000, bytesPerTick: 100, tickMs: 100 });
    await waitFor(async () => ((await uploadFolders(stack!)).length === 1 ? true : undefined), 'the first upload in flight', 5000);
    const busy = await fetch(`${url}/v1/generations`, { method: 'POST', body: soundForm(sound) });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('7');
    expect((await json(busy)).error.code).toBe('UPLOADS_BUSY');
    expect(await uploadFolders(stack)).toHaveLength(1);
    holding.stop();
    await waitFor(async () => ((await uploadFolders(stack!)).length === 0 ? true : undefined), 'the abandoned upload removed', 5000);

    // 260 kB of queued jobs' files on disk: 260 + 64 > 300 kB
    const queued = join(stack.config.dirs.uploads, 'queued-job');
    await mkdir(queued, { recursive: true });
    await writeFile(join(queued, 'part-0'), Buffer.alloc(260_000));
    const full = await fetch(`${url}/v1/generations`, { method: 'POST', body: soundForm(sound) });
    expect([full.status, (await json(full)).error.code]).toEqual([503, 'UPLOADS_BUSY']);
    await rm(queued, { recursive: true });
    expect((await fetch(`${url}/v1/generations`, { method: 'POST', body: soundForm(sound) })).status).toBe(202);

    // a body larger than the caps themselves could never be taken
    const huge = await fetch(`${url}/v1/generations`, { method: 'POST', body: soundForm(Buffer.alloc(250_000)) });
    expect([huge.status, (await json(huge)).error.code]).toEqual([413, 'UPLOAD_TOO_LARGE']);
  });
});

describe('rate limits and priority', () => {
  it('answers the N+1th POST of one key with 429 + Retry-After, counted across two api instances, without touching another key', async () => {
    stack = await startStack({ apis: 2, env: { A2I_RATE_GENERATIONS: '3/60', A2I_API_KEYS: `key-a,key-b,${PRIORITY_KEY}` } });
    const [first, second] = stack.urls as [string, string];
    const post = (base: string, key: string) => postJson(`${base}/v1/generations`, { inputs: [TEXT], steps: 2 }, { 'x-api-key': key });
    const statuses = [(await post(first, 'key-a')).status, (await post(second, 'key-a')).status, (await post(first, 'key-a')).status];
    expect(statuses).toEqual([202, 202, 202]);
    const limited = await post(second, 'key-a');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await post(first, 'key-b')).status).toBe(202);
    // an unknown key is no client of its own: it is counted by address (and refused: 401)
    for (let i = 0; i < 3; i++) expect((await post(first, `made-up-${i}`)).status).toBe(401);
    expect((await post(first, 'made-up-3')).status).toBe(429);
  });

  it('refuses priority "high" to anonymous clients and keys not in A2I_PRIORITY_KEYS (403 PRIORITY_NOT_ALLOWED), takes it from a priority key', async () => {
    stack = await startStack({ env: { A2I_PRIORITY_KEYS: 'vip-key' } });
    const url = stack.urls[0]!;
    const anonymous = await postJson(`${url}/v1/generations`, { inputs: [TEXT], priority: 'high' });
    const other = await postJson(`${url}/v1/generations`, { inputs: [TEXT], priority: 'high' }, { 'x-api-key': 'someone' });
    const allowed = await postJson(`${url}/v1/generations`, { inputs: [TEXT], steps: 2, priority: 'high' }, { 'x-api-key': 'vip-key' });
    const normal = await postJson(`${url}/v1/generations`, { inputs: [TEXT], steps: 2 });
    expect([anonymous.status, anonymous.body.error.code]).toEqual([403, 'PRIORITY_NOT_ALLOWED']);
    expect([other.status, other.body.error.code]).toEqual([403, 'PRIORITY_NOT_ALLOWED']);
    expect([allowed.status, normal.status]).toEqual([202, 202]);
  });
});

describe('socket.io connections, CORS and security headers', () => {
  const connectFrom = (url: string, address: string, extra: Record<string, unknown> = {}) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { 'x-forwarded-for': address }, ...extra }) as TestSocket;
    sockets.push(socket);
    return new Promise<{ socket: TestSocket; refusal?: { code: string; retryAfterSeconds?: number } }>((resolve) => {
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (error) => {
        socket.close();
        resolve({ socket, refusal: (error as { data?: { code: string; retryAfterSeconds?: number } }).data ?? { code: error.message } });
      });
    });
  };

  it('caps connections per address and in total, rate-limits new ones, all at the handshake with a code', async () => {
    stack = await startStack({
      workers: 0,
      env: { A2I_TRUST_PROXY: 'loopback', A2I_SOCKETS_PER_ADDRESS: '3', A2I_SOCKETS_TOTAL: '5', A2I_RATE_CONNECTIONS: '4/60' },
    });
    const url = stack.urls[0]!;
    const a = await Promise.all([1, 2, 3].map(() => connectFrom(url, '203.0.113.1')));
    expect(a.map((attempt) => attempt.refusal)).toEqual([undefined, undefined, undefined]);
    expect((await connectFrom(url, '203.0.113.1')).refusal?.code).toBe('TOO_MANY_CONNECTIONS');
    // closed connections give their slots back (the cap is checked before the rate: no budget spent above)
    a[0]!.socket.close();
    a[1]!.socket.close();
    await waitFor(async () => ((await connectFrom(url, '203.0.113.1')).refusal === undefined ? true : undefined), 'a slot given back', 5000);
    // that was the address's 4th new connection of the minute
    const limited = await connectFrom(url, '203.0.113.1');
    expect(limited.refusal?.code).toBe('RATE_LIMITED');
    expect(limited.refusal?.retryAfterSeconds).toBeGreaterThan(0);
    // the total: 2 open from a, 3 more from b fill it
    const b = await Promise.all([1, 2, 3].map(() => connectFrom(url, '198.51.100.7')));
    expect(b.map((attempt) => attempt.refusal)).toEqual([undefined, undefined, undefined]);
    expect((await connectFrom(url, '192.0.2.9')).refusal?.code).toBe('CONNECTIONS_FULL');
  });

  it('sends a CSP and frame options, refuses an unknown origin (HTTP and socket.io) and allows a listed one', async () => {
    stack = await startStack({ workers: 0, env: { A2I_CORS_ORIGINS: 'https://allowed.example' } });
    const url = stack.urls[0]!;
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');

    const foreign = await fetch(`${url}/v1/pack`, { headers: { origin: 'https://evil.example' } });
    expect([foreign.status, (await json(foreign)).error.code]).toEqual([403, 'ORIGIN_NOT_ALLOWED']);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await fetch(`${url}/healthz`, { headers: { origin: 'https://allowed.example' } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://allowed.example');
    const preflight = await fetch(`${url}/v1/generations`, {
      method: 'OPTIONS',
      headers: { origin: 'https://allowed.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://allowed.example');
    const sameOrigin = await fetch(`${url}/healthz`, { headers: { origin: url } });
    expect(sameOrigin.status).toBe(200);

    expect((await connectFrom(url, '127.0.0.1', { extraHeaders: { origin: 'https://evil.example' } })).refusal).toBeDefined();
    expect((await connectFrom(url, '127.0.0.1', { extraHeaders: { origin: 'https://allowed.example' } })).refusal).toBeUndefined();
  });
});
