import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCallReport, RowLimitReport } from '@a2i/pipeline';

/**
 * A worker's Prometheus metrics (A2I_WORKER_METRICS_PORT): how full its continuous batch runs
 * (README "Continuous batching"), read where an operator sizes A2I_MAX_BATCH_ROWS on a GPU:
 * - a2i_worker_model_call_rows{stage}: model rows in each shared prior / UNet call (a guided
 *   image is 2), a histogram: its mean is the batch the device actually runs;
 * - a2i_worker_model_call_seconds{stage}: each shared call's time in session.run;
 * - a2i_worker_jobs_in_flight / a2i_worker_rows_in_flight: generation-queue jobs the worker
 *   holds and their images (rows, as A2I_MAX_BATCH_ROWS counts them), and
 *   a2i_worker_max_batch_rows, the limit they are held to;
 * - a2i_worker_pipeline_instances: A2I_PIPELINE_INSTANCES (the call metrics are all instances' together);
 * - a2i_worker_model_call_row_limit{stage}: the model rows a shared call is held to after one
 *   failed while its parts ran (a device out of memory); absent while no limit is in force (none
 *   yet, or a whole call tried again ran);
 * and the process's default metrics (CPU, memory, event loop lag).
 * Shared calls exist only with batching on (A2I_MAX_BATCH_ROWS > 1, the ONNX pipeline).
 */
export function createWorkerMetrics(maxBatchRows: number, sharedCallRows: number | null = null, pipelineInstances = 1) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const callRows = new Histogram({
    name: 'a2i_worker_model_call_rows',
    help: 'Model rows in each shared model call (continuous batching), by stage: prior, or decode (the UNet)',
    labelNames: ['stage'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: 'a2i_worker_model_call_seconds',
    help: 'Time of each shared model call in session.run, by stage',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const callWaitingRows = new Histogram({
    name: 'a2i_worker_model_call_waiting_rows',
    help: 'Model rows a row cap (A2I_SHARED_CALL_ROWS) left waiting for a later call, at each shared call, by stage',
    labelNames: ['stage'] as const,
    buckets: [0, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const jobsInFlight = new Gauge({ name: 'a2i_worker_jobs_in_flight', help: 'Generation-queue jobs this worker holds', registers: [registry] });
  const rowsInFlight = new Gauge({ name: 'a2i_worker_rows_in_flight', help: 'Images (rows) of the generation-queue jobs this worker holds', registers: [registry] });
  const rowLimit = new Gauge({
    name: 'a2i_worker_model_call_row_limit',
    help: 'Model rows a shared call holds at most, by stage (prior, decode: the UNet, vae), after one failed while its parts ran (device memory); absent while no limit is in force',
    labelNames: ['stage'] as const,
    registers: [registry],
  });
  new Gauge({ name: 'a2i_worker_max_batch_rows', help: 'A2I_MAX_BATCH_ROWS: rows in flight before the worker stops taking jobs', registers: [registry] }).set(maxBatchRows);
  new Gauge({ name: 'a2i_worker_pipeline_instances', help: 'A2I_PIPELINE_INSTANCES: pipeline instances (threads with their own sessions) the jobs are spread over; the model call metrics are theirs together', registers: [registry] }).set(pipelineInstances);
  if (sharedCallRows !== null) {
    new Gauge({ name: 'a2i_worker_shared_call_rows', help: 'A2I_SHARED_CALL_ROWS: model rows a shared UNet call holds at most, the jobs with the fewest steps left first; absent: no cap', registers: [registry] }).set(sharedCallRows);
  }

  return {
    registry,
    /** A shared model call the pipeline thread reported (ThreadedPipeline.onModelCall). */
    recordModelCall(call: ModelCallReport): void {
      callRows.observe({ stage: call.stage }, call.rows);
      callSeconds.observe({ stage: call.stage }, call.runMs / 1000);
      callWaitingRows.observe({ stage: call.stage }, call.waitingRows);
    },
    /** A stage's row limit changed (ThreadedPipeline.onRowLimit): shown while one is in force. */
    recordRowLimit(change: RowLimitReport): void {
      if (change.limit === null) rowLimit.remove({ stage: change.stage });
      else rowLimit.set({ stage: change.stage }, change.limit);
    },
    /** `processor`, with its jobs and their rows counted in flight while it runs. */
    track<J, A extends unknown[], R>(processor: (job: J, ...rest: A) => Promise<R>, rowsOf: (job: J) => number): (job: J, ...rest: A) => Promise<R> {
      return async (job, ...rest) => {
        const rows = rowsOf(job);
        jobsInFlight.inc();
        rowsInFlight.inc(rows);
        try {
          return await processor(job, ...rest);
        } finally {
          jobsInFlight.dec();
          rowsInFlight.dec(rows);
        }
      };
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** Serves `registry` at GET /metrics on host:port (port 0: any free one); 404 elsewhere. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the worker serves GET /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
