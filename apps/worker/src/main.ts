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
 * on A2I_PACK_DIR (models/demo by default). SIGTERM/SIGINT finish the current job's
 * bookkeeping and close; a job still running is picked up by another worker once its lock expires.
 */
const { values } = parseArgs({ options: { pipeline: { type: 'string' } } });
const env = { ...process.env, A2I_PIPELINE: values.pipeline ?? (process.env.A2I_PIPELINE || ONNX_PIPELINE) };
const config = loadServerConfig(env);
const logger = pino(processLoggerOptions({ app: 'worker', level: config.logLevel, format: config.logFormat, isTTY: process.stdout.isTTY === true, base: { name: config.worker.name } }));

try {
  const worker = await startWorker({ config, logger });
  stopOnSignals({ name: 'worker', logger, close: () => worker.close() });
} catch (error) {
  logger.fatal({ err: error }, 'worker could not start');
  process.exit(1);
}
