import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout, webhookAddressPolicy, type WebhookDelivery } from '@a2i/protocol';
import { REDIS_URL, postJson, send, useStack, waitFor } from './harness.js';
import { attemptDelivery } from '../src/webhook-worker.js';
import { WebhookTargets } from '../src/webhook-target.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const TEXT_INPUT = { modality: 'text', text: 'rain on a tin roof' };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered. */
  answered: number;
}

/**
 * A real HTTP receiver on loopback. `answer(path, tries)` picks the status of a request, given
 * how many requests with the same webhook-id came before it (0 for the first).
 */
function useReceiver(answer: (path: string, tries: number) => number = () => 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      const tries = received.filter((r) => r.headers['webhook-id'] === req.headers['webhook-id']).length;
      const status = answer(path, tries);
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
      res.writeHead(status, status >= 300 && status < 400 ? { location: 'http://10.0.0.1/elsewhere' } : {}).end('ok');
    });
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    received,
    url: (path: string) => `${base}${path}`,
    at: (path: string) => received.filter((r) => r.path === path),
  };
}

/** The Standard Webhooks signature, computed here with node:crypto (not the server's library). */
function expectSignedBySecret(delivery: Received) {
  const id = delivery.headers['webhook-id'] as string;
  const timestamp = delivery.headers['webhook-timestamp'] as string;
  expect(id).toMatch(/^msg_/);
  expect(timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(60);
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest('base64');
  expect(delivery.headers['webhook-signature']).toBe(`v1,${expected}`);
  expect(delivery.headers['content-type']).toBe('application/json');
}

describe('webhooks to a loopback receiver the allow-list names', () => {
  const run = useStack({ env: { A2I_WEBHOOK_SECRET: SECRET, A2I_WEBHOOK_ALLOW: '127.0.0.1', A2I_WEBHOOK_BACKOFF_MS: '100', A2I_SYNTHETIC_STEP_MS: '5' } });
  const receiver = useReceiver((path, tries) => (path === '/flaky' && tries < 2 ? 500 : path === '/moved' ? 302 : 200));
  let webhooks: Queue<WebhookDelivery>;
  let connection: Redis;
  beforeAll(() => {
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    webhooks = new Queue<WebhookDelivery>('webhooks', { connection, prefix: redisLayout(run.stack.config.redis.prefix).prefix });
  });
  afterAll(async () => {
    await webhooks.close();
    await connection.quit();
  });

  async function generate(path: string, extra: Record<string, unknown> = {}) {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 8, webhook: { url: receiver.url(path), ...extra } });
    expect(created.status).toBe(202);
    return created.body as { id: string; token: string };
  }

  it('sends one signed `completed` by default: the job status as GET answers it, plus type', async () => {
    const job = await generate('/default');
    const [delivery] = await waitFor(() => receiver.at('/default').length === 1 && receiver.at('/default'), 'the completed webhook');
    expectSignedBySecret(delivery!);
    // an independent verifier (the spec's reference library) accepts it too
    expect(() => new Webhook(SECRET).verify(delivery!.body, delivery!.headers as Record<string, string>)).not.toThrow();
    const body = JSON.parse(delivery!.body);
    expect(body.type).toBe('completed');
    expect(body.id).toBe(job.id);
    expect(body.status).toBe('succeeded');
    const status = await send(`${run.url}/v1/generations/${job.id}`, 'GET', undefined, { 'x-job-token': job.token });
    expect(body.images).toEqual(status.body.images);
    expect(body.images[0].url).toBe(`/v1/generations/${job.id}/images/0`);
    expect(delivery!.headers['webhook-id']).toBe(`msg_${job.id}.completed`);
    // no start, logs or output was asked for: nothing else comes
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.at('/default')).toHaveLength(1);
  });

  it('retries a receiver that fails twice: three attempts, one webhook-id, one accepted delivery', async () => {
    const job = await generate('/flaky');
    await waitFor(() => receiver.at('/flaky').some((r) => r.answered === 200), 'the accepted retry', 10_000);
    const attempts = receiver.at('/flaky');
    expect(attempts.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((r) => r.headers['webhook-id']))).toEqual(new Set([`msg_${job.id}.completed`]));
    expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    for (const attempt of attempts) expectSignedBySecret(attempt);
    // the receiver's 200 reaches the test before BullMQ records the delivery job as completed
    const entry = await waitFor(async () => {
      const delivery = await webhooks.getJob(`${job.id}.completed`);
      return delivery && (await delivery.getState()) === 'completed' ? delivery : undefined;
    }, 'the delivery recorded as completed');
    expect(entry.attemptsMade).toBe(3);
  });

  it('sends only the events asked for, each once', async () => {
    const job = await generate('/some', { events: ['start', 'output', 'completed'] });
    const progress = await generate('/logs', { events: ['logs'] });
    await waitFor(() => receiver.at('/some').length === 3 && receiver.at('/logs').length > 0, 'start, output, completed and logs');
    await waitFor(async () => (await send(`${run.url}/v1/generations/${progress.id}`, 'GET', undefined, { 'x-job-token': progress.token })).body.status === 'succeeded', 'the logs job to finish');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.at('/some')).toHaveLength(3);
    // deliveries run side by side, so their order is not promised: each event by its type
    const some = Object.fromEntries(receiver.at('/some').map((r) => [JSON.parse(r.body).type, { status: JSON.parse(r.body).status, id: r.headers['webhook-id'] }]));
    expect(some).toEqual({
      start: { status: 'running', id: `msg_${job.id}.start` },
      output: { status: 'succeeded', id: `msg_${job.id}.output` },
      completed: { status: 'succeeded', id: `msg_${job.id}.completed` },
    });
    const logs = receiver.at('/logs').map((r) => JSON.parse(r.body));
    expect(logs.every((b) => b.type === 'logs' && b.status === 'running' && b.progress !== undefined)).toBe(true);
    for (const r of [...receiver.at('/some'), ...receiver.at('/logs')]) expectSignedBySecret(r);
  });

  it('sends `completed` with status canceled for a job canceled while it runs (recorded by the api)', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], steps: 200, webhook: { url: receiver.url('/canceled'), events: ['start', 'completed'] } });
    const job = created.body as { id: string; token: string };
    await waitFor(() => receiver.at('/canceled').length === 1, 'the start webhook');
    const canceled = await send(`${run.url}/v1/generations/${job.id}/cancel`, 'POST', undefined, { 'x-job-token': job.token });
    expect(canceled.body.status).toBe('canceled');
    await waitFor(() => receiver.at('/canceled').length === 2, 'the completed webhook');
    expect(JSON.parse(receiver.at('/canceled')[1]!.body)).toMatchObject({ id: job.id, type: 'completed', status: 'canceled' });
  });

  it('does not follow a redirect and does not retry it', async () => {
    const job = await generate('/moved');
    await waitFor(async () => (await webhooks.getJob(`${job.id}.completed`))?.finishedOn !== undefined, 'the delivery to give up', 10_000);
    const entry = await webhooks.getJob(`${job.id}.completed`);
    expect(await entry?.getState()).toBe('failed');
    expect(entry?.attemptsMade).toBe(1);
    expect(receiver.at('/moved')).toHaveLength(1);
  });

  it('refuses an address outside the list (a public one too, as the list has no `*`)', async () => {
    for (const url of ['http://127.0.0.2/hook', 'http://93.184.215.14/hook']) {
      const refused = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], webhook: { url } });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('WEBHOOK_NOT_ALLOWED');
    }
  });
});

describe('webhook refusals under the default allow-list (public addresses only)', () => {
  const run = useStack({ env: { A2I_WEBHOOK_SECRET: SECRET } });

  it('refuses private, loopback and link-local targets with 422 and bad URLs with 400, queueing nothing', async () => {
    const notAllowed = [
      'http://10.0.0.1/hook',
      'http://192.168.1.20:8080/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://127.0.0.1:9/hook',
      // a host name that resolves to loopback is refused after resolution
      'http://localhost:9/hook',
      'http://[::1]:9/hook',
      'http://[::ffff:127.0.0.1]/hook',
      // the WHATWG parser reads 0x7f.1 as 127.0.0.1
      'http://0x7f.1/hook',
    ];
    const invalid = ['ftp://example.com/hook', 'file:///etc/passwd', 'not a url', 'http://user:pw@example.com/hook'];
    const cases: Array<[string, number, string]> = [
      ...notAllowed.map((url): [string, number, string] => [url, 422, 'WEBHOOK_NOT_ALLOWED']),
      ...invalid.map((url): [string, number, string] => [url, 400, 'WEBHOOK_INVALID']),
    ];
    for (const [url, status, code] of cases) {
      const refused = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], webhook: { url } });
      expect({ url, status: refused.status, code: refused.body.error.code }).toEqual({ url, status, code });
    }
    const unknownEvent = await postJson(`${run.url}/v1/generations`, { inputs: [TEXT_INPUT], webhook: { url: 'https://example.com/hook', events: ['finished'] } });
    expect(unknownEvent.status).toBe(400);
    expect(unknownEvent.body.error.code).toBe('INVALID_REQUEST');
    const counts = await run.probe.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'prioritized', 'delayed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await run.probe.redis.keys(`${run.stack.config.redis.prefix}:job:*`)).toEqual([]);
  });
});

describe('webhook checks without a stack', () => {
  const config = { secret: SECRET, allow: [{ kind: 'any' as const }], timeoutMs: 2000, attempts: 3, backoffMs: 100 };

  it('refuses any webhook with 400 WEBHOOKS_DISABLED when the server has no secret', async () => {
    const targets = new WebhookTargets({ ...config, secret: undefined });
    await expect(targets.require({ url: 'https://example.com/hook', events: ['completed'] })).rejects.toMatchObject({ code: 'WEBHOOKS_DISABLED' });
  });

  it('refuses a host when any of its addresses is private, and checks again at delivery time without retrying', async () => {
    let answer = [{ address: '93.184.215.14', family: 4 }];
    const targets = new WebhookTargets(config, async () => answer);
    await expect(targets.require({ url: 'https://hooks.example.com/x', events: ['completed'] })).resolves.toBeUndefined();
    answer = [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }];
    await expect(targets.require({ url: 'https://hooks.example.com/x', events: ['completed'] })).rejects.toMatchObject({ code: 'WEBHOOK_NOT_ALLOWED' });
    // the host now resolves into the private network (DNS changed after the POST): given up at once
    answer = [{ address: '10.0.0.5', family: 4 }];
    const delivery: WebhookDelivery = { jobId: 'j', event: 'completed', url: 'https://hooks.example.com/x', messageId: 'msg_j.completed', body: '{}' };
    const outcome = await attemptDelivery(delivery, targets, new Webhook(SECRET), 1000);
    expect(outcome).toMatchObject({ sent: false, retry: false });
    expect(outcome.sent === false && outcome.reason).toMatch(/^WEBHOOK_NOT_ALLOWED/);
  });

  it('the default policy allows public addresses only', () => {
    const policy = webhookAddressPolicy(config.allow);
    expect(policy.allows('example.com', '93.184.215.14')).toBe(true);
    expect(policy.allows('example.com', '2606:2800:21f:cb07:6820:80da:af6b:8b2c')).toBe(true);
    expect(policy.allows('example.com', '127.0.0.1')).toBe(false);
  });
});
