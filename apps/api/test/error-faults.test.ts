import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout } from '@a2i/protocol';
import { FAULT_TEXTS, SERVER_DETAIL } from './fixtures/faulty-pipeline.js';
import { postJson, readSse, REDIS_URL, startStack, waitFor, type RecordedEvent, type Stack } from './harness.js';

const FAULTY_PIPELINE = fileURLToPath(new URL('./fixtures/faulty-pipeline.ts', import.meta.url));

/** Creates a generation from one text input and reads its events to the end. */
async function generate(url: string, text: string): Promise<{ id: string; token: string; events: RecordedEvent[] }> {
  const created = await postJson(`${url}/v1/generations`, { inputs: [{ modality: 'text', text }], steps: 3, prior: 'off', previewEvery: 0 });
  expect(created.status).toBe(202);
  const events = await readSse(`${url}${created.body.links.events}`, { 'x-job-token': created.body.token });
  return { id: created.body.id, token: created.body.token, events };
}


describe('faults: the input\'s fail at once with their message, the server\'s are retried and answered generically', () => {
  let stack: Stack;
  let url: string;
  let connection: Redis;
  let queue: Queue;
  /** How many times BullMQ ran the job, once it has recorded the final failure (just after job:failed). */
  const attemptsMade = async (id: string) => {
    const job = await waitFor(async () => ((await queue.getJob(id))?.finishedOn ? queue.getJob(id) : undefined), 'the job to be failed in BullMQ');
    return job!.attemptsMade;
  };
  beforeAll(async () => {
    stack = await startStack({ env: { A2I_PIPELINE: FAULTY_PIPELINE, A2I_JOB_ATTEMPTS: '2' } });
    url = stack.urls[0]!;
    const layout = redisLayout(stack.config.redis.prefix);
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(layout.generationQueue, { connection, prefix: layout.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await connection?.quit();
    await stack?.close();
  });

  it('fails a job at once on an input fault, with its code and message (one attempt)', async () => {
    const { id, token, events } = await generate(url, FAULT_TEXTS.input);
    expect(await attemptsMade(id)).toBe(1);
    expect(events.at(-1)).toMatchObject({
      type: 'job:failed',
      payload: { code: 'TEXT_INVALID', message: 'Expected text the tokenizer can read but received only control characters' },
    });
    const status = await fetch(`${url}/v1/generations/${id}?token=${token}`).then((r) => r.json());
    expect(status).toMatchObject({ status: 'failed', error: { code: 'TEXT_INVALID' } });
  });

  it('retries a job on a server fault, then fails it with the code and a generic message', async () => {
    const { id, token, events } = await generate(url, FAULT_TEXTS.server);
    expect(await attemptsMade(id)).toBe(2);
    const failed = events.at(-1)!;
    expect(failed).toMatchObject({ type: 'job:failed', payload: { code: 'ENCODER_OUTPUT_MISMATCH' } });
    expect(failed.payload.message).toBe('The server failed to generate the images (ENCODER_OUTPUT_MISMATCH); the details are in the server log');
    const status = await fetch(`${url}/v1/generations/${id}?token=${token}`).then((r) => r.text());
    expect(status).not.toContain(SERVER_DETAIL);
    expect(status).toContain('ENCODER_OUTPUT_MISMATCH');
  });

  it('reports an error without a code as INTERNAL, after its retries', async () => {
    const { id, events } = await generate(url, FAULT_TEXTS.uncoded);
    expect(await attemptsMade(id)).toBe(2);
    expect(events.at(-1)).toMatchObject({ type: 'job:failed', payload: { code: 'INTERNAL' } });
    expect(JSON.stringify(events)).not.toContain(SERVER_DETAIL);
  });

  it('answers an embedding with a server fault 500 and no internals, one with an input fault 4xx and its message', async () => {
    const server = await postJson(`${url}/v1/embeddings`, { inputs: [{ modality: 'text', text: FAULT_TEXTS.server }] });
    expect(server.status).toBe(500);
    expect(server.body).toEqual({ error: { code: 'ENCODER_OUTPUT_MISMATCH', message: expect.stringMatching(/^The server failed to .* \(ENCODER_OUTPUT_MISMATCH\); the details are in the server log$/) } });
    expect(JSON.stringify(server.body)).not.toContain(SERVER_DETAIL);

    const uncoded = await postJson(`${url}/v1/embeddings`, { inputs: [{ modality: 'text', text: FAULT_TEXTS.uncoded }] });
    expect(uncoded.status).toBe(500);
    expect(uncoded.body.error.code).toBe('INTERNAL');
    expect(JSON.stringify(uncoded.body)).not.toContain(SERVER_DETAIL);

    const input = await postJson(`${url}/v1/embeddings`, { inputs: [{ modality: 'text', text: FAULT_TEXTS.input }] });
    expect(input.status).toBe(422);
    expect(input.body).toEqual({ error: { code: 'TEXT_INVALID', message: 'Expected text the tokenizer can read but received only control characters' } });

    const fine = await postJson(`${url}/v1/embeddings`, { inputs: [{ modality: 'text', text: 'a bell' }] });
    expect(fine.status).toBe(200);
  });
});
