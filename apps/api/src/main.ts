import pino from 'pino';
import { loadServerConfig } from '@a2i/protocol';
import { createApp } from './create-app.js';

/** After the grace period: time left for closing Redis connections before the process exits anyway. */
const SHUTDOWN_MARGIN_MS = 3_000;

/** `tsx apps/api/src/main.ts`: one api process; configuration from A2I_* variables. */
const config = loadServerConfig();
const logger = pino({ level: config.logLevel, base: { app: 'api' } });
try {
  const api = await createApp({ config, logger });
  const url = await api.listen();
  logger.info({ url }, 'api listening');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'api stopping');
    // Followers are told at once; requests in flight get the grace period; then Redis closes.
    // Should closing Redis itself hang (an outage), the process still ends soon after the grace.
    const deadline = setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'api did not close in time; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_MARGIN_MS);
    deadline.unref();
    api.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'api close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  logger.fatal({ err: error }, 'api could not start');
  process.exit(1);
}
