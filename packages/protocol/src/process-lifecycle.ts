/** The part of a pino logger the signal handling writes to. */
export interface SignalLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface StopOnSignalsOptions {
  /** 'api' or 'worker': the log lines say '<name> stopping'. */
  name: string;
  logger: SignalLogger;
  /** Closes the process's servers and connections; the process exits 0 when it resolves, 1 when it rejects. */
  close: () => Promise<void>;
  /** Fields logged with the stopping line. */
  fields?: object;
  /** Exit 1 if close has not settled by then (ms after the signal); none by default. */
  deadlineMs?: number;
}

/**
 * SIGTERM and SIGINT close the process once (a second signal is ignored while it closes), then
 * exit. Both process mains use it, so a rolling restart treats the api and the worker alike.
 */
export function stopOnSignals({ name, logger, close, fields = {}, deadlineMs }: StopOnSignalsOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, ...fields }, `${name} stopping`);
    if (deadlineMs !== undefined) {
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs }, `${name} did not close in time; exiting`);
        process.exit(1);
      }, deadlineMs);
      deadline.unref();
    }
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, `${name} did not close cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A2I_LOG_FORMAT: `pretty` (human-readable lines), `json` (one JSON object a line), or `auto`. */
export type LogFormat = 'auto' | 'pretty' | 'json';

/**
 * pino's options for a server process: JSON lines for log collectors, or readable coloured lines
 * (pino-pretty, in pino's worker-thread transport) when the output is a terminal, as `npm start`
 * on a laptop is. `auto` chooses by whether stdout is a TTY.
 */
export function processLoggerOptions(options: { app: string; level: string; format: LogFormat; isTTY: boolean; base?: Record<string, unknown> }) {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && options.isTTY);
  return {
    level: options.level,
    base: { app: options.app, ...options.base },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: options.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } } } : {}),
  };
}
