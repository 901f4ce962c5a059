import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { credentialsOf, newJobId } from './job-access.js';
import { sendStoredImage } from './image-delivery.js';
import { withRequestBody, type ReadBody } from './request-body.js';
import type { CollectionsService, SearchTimings } from './search-service.js';

type Handler = (req: Request, res: Response) => Promise<void>;
const STREAM = { mode: 'stream', presignSeconds: 0 } as const;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

/** `Server-Timing` (W3C): `embed;dur=12.3, search;dur=4.5, total;dur=18.0`, milliseconds; absent phases left out. */
function serverTiming(phases: Record<string, number | undefined>): string {
  return Object.entries(phases)
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .map(([phase, ms]) => `${phase};dur=${ms.toFixed(1)}`)
    .join(', ');
}

/**
 * The collections, search and classification routes (README "Search"), mounted under /v1.
 * Errors go to the app's one error handler ({ error: { code, message } }).
 *
 *   POST   /collections                          { name, description? }          201 collection
 *   GET    /collections                                                          200 { collections }
 *   GET    /collections/:name                                                    200 collection
 *   DELETE /collections/:name                                                    204
 *   POST   /collections/:name/items              { items } (JSON or multipart)   202 { id, token, links }
 *   GET    /collections/:name/jobs/:id           (token or owning key)           200 ingest status
 *   POST   /collections/:name/items/lookup       { ids }                         200 { present, limits }
 *   GET    /collections/:name/items/:id          ?vector=true adds the vector    200 item
 *   GET    /collections/:name/items/:id/media                                    200 image/webp
 *   DELETE /collections/:name/items/:id                                          204
 *   POST   /collections/:name/search             { inputs, k?, filter?, modality? } (JSON or multipart)  200 { results }
 *                                                 + Server-Timing: embed;dur=, search;dur=, total;dur= (ms)
 *   POST   /classify                             { inputs, labels } (JSON or multipart)  200 { labels, logitScale, logitScaleSource }
 */
export function createCollectionsRouter(deps: { collections: CollectionsService; json: RequestHandler; readBody: ReadBody }): express.Router {
  const { collections, json, readBody } = deps;
  const router = express.Router();
  const name = (req: Request) => String(req.params.name);

  router.post(
    '/collections',
    json,
    route(async (req, res) => {
      const created = await collections.create(req.body, credentialsOf(req));
      res.status(201).location(`/v1/collections/${created.name}`).json(created);
    }),
  );
  router.get(
    '/collections',
    route(async (req, res) => {
      res.json({ collections: await collections.list(credentialsOf(req)) });
    }),
  );
  router.get(
    '/collections/:name',
    route(async (req, res) => {
      res.json(await collections.get(name(req), credentialsOf(req)));
    }),
  );
  router.delete(
    '/collections/:name',
    route(async (req, res) => {
      await collections.drop(name(req), credentialsOf(req));
      res.status(204).end();
    }),
  );

  router.post(
    '/collections/:name/items',
    json,
    route(async (req, res) => {
      const credentials = credentialsOf(req);
      // refuse an unknown collection (or a missing key) before anything is uploaded
      await collections.get(name(req), credentials);
      const id = newJobId();
      const created = await withRequestBody(readBody, req, res, id, (received) => collections.ingest(name(req), received.body, id, credentials, received.files));
      res.status(202).location(created.links.self).json(created);
    }),
  );
  router.get(
    '/collections/:name/jobs/:id',
    route(async (req, res) => {
      res.json(await collections.ingestStatus(name(req), String(req.params.id), credentialsOf(req)));
    }),
  );

  router.post(
    '/collections/:name/items/lookup',
    json,
    route(async (req, res) => {
      res.json(await collections.lookupItems(name(req), req.body, credentialsOf(req)));
    }),
  );
  router.get(
    '/collections/:name/items/:id',
    route(async (req, res) => {
      res.json(await collections.getItem(name(req), String(req.params.id), credentialsOf(req), req.query.vector === 'true' || req.query.vector === '1'));
    }),
  );
  router.get(
    '/collections/:name/items/:id/media',
    route(async (req, res) => {
      const media = await collections.itemMedia(name(req), String(req.params.id), credentialsOf(req));
      // streamed from object storage (never a redirect: small, and the page shows many at once)
      await sendStoredImage(res, media, STREAM, 'private, max-age=300');
    }),
  );
  router.delete(
    '/collections/:name/items/:id',
    route(async (req, res) => {
      await collections.deleteItem(name(req), String(req.params.id), credentialsOf(req));
      res.status(204).end();
    }),
  );

  router.post(
    '/collections/:name/search',
    json,
    route(async (req, res) => {
      const started = performance.now();
      const credentials = credentialsOf(req);
      await collections.get(name(req), credentials);
      // the query's uploads go to an embedding job: its folder is named after it (request-body.ts)
      const timings: SearchTimings = {};
      const found = await withRequestBody(readBody, req, res, `embed-${newJobId()}`, (received) => collections.search(name(req), received.body, credentials, received.files, timings));
      res.set('server-timing', serverTiming({ embed: timings.embedMs, search: timings.searchMs, total: performance.now() - started }));
      res.json(found);
    }),
  );
  router.post(
    '/classify',
    json,
    route(async (req, res) => {
      res.json(await withRequestBody(readBody, req, res, `embed-${newJobId()}`, (received) => collections.classify(received.body, credentialsOf(req), received.files)));
    }),
  );
  return router;
}
