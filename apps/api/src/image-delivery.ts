import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { ERROR_CODES, type ImageDelivery } from '@a2i/protocol';
import type { ByteRange } from '@a2i/storage';
import { ApiError } from './api-error.js';
import type { StoredImage } from './generation-service.js';

/** Cache-Control of an image answer: private (it needs the job's token), and a result does not change. */
const IMAGE_CACHE_CONTROL = 'private, max-age=3600';

/**
 * Hands a stored image over to the client (GET /v1/generations/:id/images/:n; an item's
 * thumbnail, always streamed), by the store and A2I_STORAGE_REDIRECT:
 * - a file in a directory: sent from disk (express's sendFile: Range, conditional GET);
 * - object storage, `off` (the default): streamed from the bucket through the api, so a
 *   client that cannot reach the bucket (it is private, or on another network) still gets it;
 *   a single byte range is honoured (206), as from disk;
 * - object storage, `presigned`: 307 to a presigned GET of the object that works for
 *   A2I_STORAGE_PRESIGN_SECONDS, the image's bytes never pass through the api (the bucket
 *   answers with the image's Content-Type and Cache-Control). The redirect itself is not cached.
 * An image no longer stored (swept, expired) is 410 RESULT_EXPIRED.
 */
export async function sendStoredImage(res: Response, image: StoredImage, delivery: ImageDelivery, cacheControl = IMAGE_CACHE_CONTROL): Promise<void> {
  const { store, key, mime } = image;
  const path = store.localPath(key);
  if (path !== null) {
    if (!(await store.head(key))) throw expired();
    res.set('cache-control', cacheControl);
    await new Promise<void>((resolve, reject) => res.type(mime).sendFile(path, (error) => (error ? reject(error) : resolve())));
    return;
  }
  if (delivery.mode === 'presigned') {
    if (!(await store.head(key))) throw expired();
    const url = await store.presignGet(key, { expiresInSeconds: delivery.presignSeconds, contentType: mime, cacheControl });
    if (url !== null) {
      res.set('cache-control', 'no-store').redirect(307, url);
      return;
    }
  }
  const range = await requestedRange(res, image);
  if (range === 'unsatisfiable') return;
  const object = await store.get(key, range ?? undefined);
  if (!object) throw expired();
  res.set({ 'accept-ranges': 'bytes', 'cache-control': cacheControl, 'content-type': mime, 'content-length': String(object.size) });
  if (range) res.status(206).set('content-range', `bytes ${range.start}-${range.end}/${object.totalSize}`);
  else res.status(200);
  await pipeline(object.body, res);
}

/**
 * The one byte range a streamed object's request asks for (`Range: bytes=...`, as express's
 * `req.range` reads it), so that a `<video>` served from object storage can seek as one served
 * from disk can: null for the whole object (no Range, a malformed one, or several ranges, which,
 * as `sendFile`, get the whole object); 'unsatisfiable' once a 416 naming the object's size is sent.
 */
async function requestedRange(res: Response, image: StoredImage): Promise<ByteRange | null | 'unsatisfiable'> {
  const req = res.req;
  if (!req.headers.range) return null;
  const info = await image.store.head(image.key);
  if (!info) throw expired();
  const ranges = req.range(info.size, { combine: true });
  if (ranges === -1) {
    res.status(416).set({ 'accept-ranges': 'bytes', 'content-range': `bytes */${info.size}` }).end();
    return 'unsatisfiable';
  }
  if (ranges === -2 || ranges === undefined || ranges.type !== 'bytes' || ranges.length !== 1) return null;
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}

function expired(): ApiError {
  return new ApiError(ERROR_CODES.RESULT_EXPIRED, 'The image has expired');
}
