import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { json, postJson, useApiWithWorkerProcesses, waitFor } from './harness.js';
import { metricSample } from '../../../test/support/prometheus-text.js';

const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const JOBS = 4;

describe('a batching worker\'s metrics (A2I_WORKER_METRICS_PORT)', () => {
  const run = useApiWithWorkerProcesses();

  it('show the shared UNet calls of jobs that ran together: more rows a call than one job has, the jobs spread over the pipeline instances', async () => {
    const port = await freePort();
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    // the demo pack's default batch (32 rows); one onnxruntime thread, as two test processes share
    // the machine; two pipeline instances, whatever the machine's cores
    run.spawnWorker('metered', 'onnx', { A2I_PACK_DIR: DEMO, A2I_ORT_THREADS: '1', A2I_PIPELINE_INSTANCES: '2', A2I_WORKER_METRICS_PORT: String(port) });
    await waitFor(async () => ((await fetch(`${run.url}/readyz`)).status === 200 ? true : undefined), 'the worker ready', 90_000);

    const before = await (await fetch(metricsUrl)).text();
    expect(metricSample(before, 'a2i_worker_max_batch_rows')).toBe(32);
    expect(metricSample(before, 'a2i_worker_pipeline_instances')).toBe(2);
    // the warm-up's calls are not counted: nothing yet
    expect(metricSample(before, 'a2i_worker_model_call_rows_count{stage="decode"}') ?? 0).toBe(0);

    // one unguided image each (1 model row a job), posted together: long enough to share steps
    const created = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => postJson(`${run.url}/v1/generations`, { inputs: [{ modality: 'text', text: `a small red star in the sea ${i}` }], steps: 60, guidance: 1, numImages: 1, prior: 'off', previewEvery: 0 })),
    );
    for (const c of created) expect(c.status).toBe(202);
    await waitFor(async () => {
      const states = await Promise.all(created.map(async (c) => (await json(await fetch(`${run.url}/v1/generations/${c.body.id}`, { headers: { 'X-Job-Token': c.body.token } }))).status));
      return states.every((s) => s === 'succeeded') ? true : undefined;
    }, 'every job succeeded', 60_000);

    const page = await (await fetch(metricsUrl)).text();
    const calls = metricSample(page, 'a2i_worker_model_call_rows_count{stage="decode"}') ?? 0;
    const rows = metricSample(page, 'a2i_worker_model_call_rows_sum{stage="decode"}') ?? 0;
    const singleRowCalls = metricSample(page, 'a2i_worker_model_call_rows_bucket{le="1",stage="decode"}') ?? 0;
    // every row of every step was in some call: 4 jobs x 60 steps (a scheduler may add a call or two)
    expect(rows).toBeGreaterThanOrEqual(JOBS * 60);
    expect(rows).toBeLessThanOrEqual(JOBS * 62);
    // some calls held more than one job's row, so there were fewer calls than rows
    expect(singleRowCalls, page).toBeLessThan(calls);
    expect(calls).toBeLessThan(rows);
    expect(metricSample(page, 'a2i_worker_model_call_seconds_count{stage="decode"}')).toBe(calls);
    // the jobs were spread over the two instances, two each at most (each goes where the least work is
    // in hand): no call held more than 2 rows, where one instance would have shared 3 or 4
    expect(metricSample(page, 'a2i_worker_model_call_rows_bucket{le="2",stage="decode"}'), page).toBe(calls);
    // nothing held once every job has ended
    expect(metricSample(page, 'a2i_worker_jobs_in_flight')).toBe(0);
    expect(metricSample(page, 'a2i_worker_rows_in_flight')).toBe(0);
  }, 150_000);
});
