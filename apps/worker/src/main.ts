import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadServerConfig } from '@a2i/protocol';
import { processLoggerOptions, stopOnSignals } from '@a2i/protocol/process-lifecycle';
import { ONNX_PIPELINE } from '@a2i/pipeline';
import { startWorker } from './worker-app.js';

/**
 * `tsx apps/worker/src/main.ts [--pipeline onnx|synthetic|<module path>]`: one worker process.
 * Configuration from A2I_* environment variables (packages/protocol/src/server-config.ts);
 * `--pipeline` overrides A2I_PIPELINE; with neither, the worker runs the real ONNX pipeline
 * on A2I_PACK_DIR (models/demo by default). SIGTERM/SIGINT: no new job is taken; the jobs
 * running get A2I_SHUTDOWN_GRACE_MS to finish, then go back to the queue for another worker
 * (hand-back.ts); then the process closes and exits.
 */
/** After the grace period: time left to hand jobs back, close the pipeline and Redis before the process exits anyway. */
const SHUTDOWN_MARGIN_MS = 5_000;

const { values } = parseArgs({ options: { pipeline: { type: 'string' } } });
const env = { ...process.env, A2I_PIPELINE: values.pipeline ?? (process.env.A2I_PIPELINE || ONNX_PIPELINE) };
const config = loadServerConfig(env);
const logger = pino(processLoggerOptions({ app: 'worker', level: config.logLevel, format: config.logFormat, isTTY: process.stdout.isTTY === true, base: { name: config.worker.name } }));

try {
  const worker = await startWorker({ config, logger });
  // Running jobs get the grace period, then go back to the queue; should closing hang past it
  // (Redis away), the process still ends: a job it held is another worker's once its lock expires.
  stopOnSignals({ name: 'worker', logger, close: () => worker.close(), fields: { graceMs: config.shutdownGraceMs }, deadlineMs: config.shutdownGraceMs + SHUTDOWN_MARGIN_MS });
} catch (error) {
  logger.fatal({ err: error }, 'worker could not start');
  process.exit(1);
}
