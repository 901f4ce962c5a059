import pino from 'pino';
import { loadServerConfig } from '@a2i/protocol';
import { processLoggerOptions, stopOnSignals } from '@a2i/protocol/process-lifecycle';
import { createApp } from './create-app.js';

/** After the grace period: time left for closing Redis connections before the process exits anyway. */
const SHUTDOWN_MARGIN_MS = 3_000;

/** `tsx apps/api/src/main.ts`: one api process; configuration from A2I_* variables. */
const config = loadServerConfig();
const logger = pino(processLoggerOptions({ app: 'api', level: config.logLevel, format: config.logFormat, isTTY: process.stdout.isTTY === true }));
try {
  const api = await createApp({ config, logger });
  const url = await api.listen();
  logger.info({ url }, 'api listening');
  // Followers are told at once; requests in flight get the grace period; then Redis closes.
  // Should closing Redis itself hang (an outage), the process still ends soon after the grace.
  stopOnSignals({
    name: 'api',
    logger,
    close: () => api.close(),
    fields: { graceMs: config.shutdownGraceMs },
    deadlineMs: config.shutdownGraceMs + SHUTDOWN_MARGIN_MS,
  });
} catch (error) {
  logger.fatal({ err: error }, 'api could not start');
  process.exit(1);
}
