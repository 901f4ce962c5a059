import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerMetrics, serveMetrics } from '../src/worker-metrics.js';
import { metricSample } from '../../../test/support/prometheus-text.js';

describe('worker metrics', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('counts each shared model call by stage: its rows in a histogram, its run time in another', async () => {
    const metrics = createWorkerMetrics(32, 12, 2);
    metrics.recordModelCall({ stage: 'decode', rows: 1, seats: 1, runMs: 3, waitingRows: 0 });
    metrics.recordModelCall({ stage: 'decode', rows: 12, seats: 5, runMs: 30, waitingRows: 20 });
    metrics.recordModelCall({ stage: 'prior', rows: 4, seats: 2, runMs: 1, waitingRows: 0 });
    const page = await metrics.registry.metrics();
    expect(metricSample(page, 'a2i_worker_model_call_rows_count{stage="decode"}')).toBe(2);
    expect(metricSample(page, 'a2i_worker_model_call_rows_sum{stage="decode"}')).toBe(13);
    // one call of 1 row, one of 12: within 1, not within 8, both within 16
    expect(metricSample(page, 'a2i_worker_model_call_rows_bucket{le="1",stage="decode"}')).toBe(1);
    expect(metricSample(page, 'a2i_worker_model_call_rows_bucket{le="8",stage="decode"}')).toBe(1);
    expect(metricSample(page, 'a2i_worker_model_call_rows_bucket{le="16",stage="decode"}')).toBe(2);
    expect(metricSample(page, 'a2i_worker_model_call_rows_sum{stage="prior"}')).toBe(4);
    expect(metricSample(page, 'a2i_worker_model_call_seconds_sum{stage="decode"}')).toBeCloseTo(0.033, 6);
    expect(metricSample(page, 'a2i_worker_max_batch_rows')).toBe(32);
    // the row cap, and the rows it left waiting: 20 at the second call
    expect(metricSample(page, 'a2i_worker_shared_call_rows')).toBe(12);
    expect(metricSample(page, 'a2i_worker_model_call_waiting_rows_sum{stage="decode"}')).toBe(20);
    expect(metricSample(page, 'a2i_worker_model_call_waiting_rows_bucket{le="0",stage="decode"}')).toBe(1);
    expect(metricSample((await createWorkerMetrics(32).registry.metrics()), 'a2i_worker_shared_call_rows')).toBeUndefined();
    // the pipeline instances the calls come from (all of them counted together): 2 here, 1 unless told
    expect(metricSample(page, 'a2i_worker_pipeline_instances')).toBe(2);
    expect(metricSample((await createWorkerMetrics(32).registry.metrics()), 'a2i_worker_pipeline_instances')).toBe(1);
    // no row limit until a call has failed while its parts ran
    expect(metricSample(page, 'a2i_worker_model_call_row_limit{stage="decode"}')).toBeUndefined();
  });

  it('shows the row limit a stage\'s calls are held to once one failed while its parts ran, the latest by stage', async () => {
    const metrics = createWorkerMetrics(32);
    metrics.recordRowLimit({ stage: 'decode', limit: 24, failedRows: 48, error: 'Failed to allocate memory' });
    metrics.recordRowLimit({ stage: 'decode', limit: 12, failedRows: 24, error: 'Failed to allocate memory' });
    const page = await metrics.registry.metrics();
    expect(metricSample(page, 'a2i_worker_model_call_row_limit{stage="decode"}')).toBe(12);
    expect(metricSample(page, 'a2i_worker_model_call_row_limit{stage="prior"}')).toBeUndefined();
    // a whole call, tried again, ran: no limit, so no sample
    metrics.recordRowLimit({ stage: 'decode', limit: null, ranRows: 48 });
    expect(metricSample(await metrics.registry.metrics(), 'a2i_worker_model_call_row_limit{stage="decode"}')).toBeUndefined();
  });

  it('holds a job and its rows in flight while its processor runs, and lets them go when it ends or throws', async () => {
    const metrics = createWorkerMetrics(8);
    const releases: Array<(ok: boolean) => void> = [];
    const processor = metrics.track(
      (job: { rows: number }) => new Promise<string>((resolve, reject) => releases.push((ok) => (ok ? resolve(`done ${job.rows}`) : reject(new Error('bad input'))))),
      (job) => job.rows,
    );
    const inFlight = async () => {
      const page = await metrics.registry.metrics();
      return [metricSample(page, 'a2i_worker_jobs_in_flight'), metricSample(page, 'a2i_worker_rows_in_flight')];
    };
    const first = processor({ rows: 3 });
    const second = processor({ rows: 2 });
    expect(await inFlight()).toEqual([2, 5]);
    releases[0]!(true);
    await expect(first).resolves.toBe('done 3');
    expect(await inFlight()).toEqual([1, 2]);
    releases[1]!(false);
    await expect(second).rejects.toThrow('bad input');
    expect(await inFlight()).toEqual([0, 0]);
  });

  it('serves the page at GET /metrics with Prometheus\'s content type, and nothing else', async () => {
    const metrics = createWorkerMetrics(4);
    const server = await serveMetrics(metrics.registry, '127.0.0.1', 0);
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const page = await response.text();
    expect(metricSample(page, 'a2i_worker_max_batch_rows')).toBe(4);
    expect(page).toContain('process_cpu_seconds_total');
    expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
  });

  it('refuses a port that is taken, so a worker stops before it takes a job', async () => {
    const metrics = createWorkerMetrics(4);
    const first = await serveMetrics(metrics.registry, '127.0.0.1', 0);
    servers.push(first);
    const port = Number(new URL(first.url).port);
    await expect(serveMetrics(metrics.registry, '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
  });
});
