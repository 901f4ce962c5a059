import { createRequire } from 'node:module';
import { build } from 'esbuild';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ERROR_CODES, errorBody } from '@a2i/protocol';

let bundle: Promise<string> | null = null;

/**
 * @a2i/client as one browser ES module (socket.io-client inside), built by esbuild the first
 * time it is asked for and kept in memory for the life of the process (every app of the
 * process shares it). A failed build is not kept: the next request tries again.
 */
export function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [createRequire(import.meta.url).resolve('@a2i/client')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  bundle.catch(() => {
    bundle = null;
  });
  return bundle;
}

/** GET /client.js: the page imports the client from here (`import { A2iClient } from '/client.js'`). */
export function serveClientBundle(logger: Logger) {
  return (_req: Request, res: Response) => {
    clientBundle().then(
      (text) => res.type('text/javascript').set('cache-control', 'public, max-age=300').send(text),
      (error: unknown) => {
        logger.error({ err: error }, 'could not bundle @a2i/client for /client.js');
        res.status(500).json(errorBody(ERROR_CODES.INTERNAL, 'The client bundle could not be built; see the api log'));
      },
    );
  };
}
