import { describe, expect, it } from 'vitest';
import { json, postJson, useStack, waitFor } from './harness.js';

/**
 * A finished job's state and files expire after A2I_RESULT_TTL_SECONDS; its tombstone stays
 * A2I_TOMBSTONE_TTL_SECONDS, so its owner then gets 410 RESULT_EXPIRED (and anyone else still 404).
 */
describe('results after they expire', () => {
  const run = useStack({ env: { A2I_RESULT_TTL_SECONDS: '1', A2I_TOMBSTONE_TTL_SECONDS: '60' } });

  it('answers 410 RESULT_EXPIRED to the owner for status and images, 404 to others', async () => {
    const created = await postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: 'a kettle whistling' }], steps: 2, prior: 'off', previewEvery: 0 });
    expect(created.status).toBe(202);
    const { id, token } = created.body as { id: string; token: string };
    const owner = { 'x-job-token': token };
    await waitFor(async () => ((await json(await fetch(`${run.url}/v1/generations/${id}`, { headers: owner }))).status === 'succeeded' ? true : undefined), 'the job to succeed');
    expect((await fetch(`${run.url}/v1/generations/${id}/images/0`, { headers: owner })).status).toBe(200);

    // The state (1 s) is gone; the tombstone is not.
    const expired = await waitFor(async () => {
      const response = await fetch(`${run.url}/v1/generations/${id}`, { headers: owner });
      return response.status === 200 ? undefined : response;
    }, 'the state to expire', 5000);
    expect(expired.status).toBe(410);
    expect((await json(expired)).error.code).toBe('RESULT_EXPIRED');
    const image = await fetch(`${run.url}/v1/generations/${id}/images/0`, { headers: owner });
    expect(image.status).toBe(410);
    expect((await json(image)).error.code).toBe('RESULT_EXPIRED');

    // Someone without the token learns nothing: 404, as for a job that never existed.
    const stranger = await fetch(`${run.url}/v1/generations/${id}`, { headers: { 'x-job-token': 'not-the-token' } });
    expect(stranger.status).toBe(404);
    expect((await fetch(`${run.url}/v1/generations/${id}`)).status).toBe(404);
    expect((await fetch(`${run.url}/v1/generations/never-existed-job`, { headers: owner })).status).toBe(404);
  });
});
