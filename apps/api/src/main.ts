import pino from 'pino';
import { loadServerConfig } from '@a2i/protocol';
import { createApp } from './create-app.js';

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
    logger.info({ signal }, 'api stopping');
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  logger.fatal({ err: error }, 'api could not start');
  process.exit(1);
}
