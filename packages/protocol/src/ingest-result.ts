import { z } from 'zod';
import { errorCodeSchema } from './error-codes.js';

/**
 * What an ingest job (POST /v1/collections/:name/items) ends with, in its job:succeeded
 * event (`ingest`) and its status: the ids stored (inserted or replaced) and, per item that
 * could not be stored, its index in the request, its id, and the error's code and message.
 * A job whose every item failed still succeeds as a job: the failures are the answer.
 */
export const ingestFailureSchema = z.object({
  /** The item's position in the request's `items`. */
  index: z.number().int().nonnegative(),
  id: z.string(),
  code: errorCodeSchema,
  message: z.string(),
});
export type IngestFailure = z.infer<typeof ingestFailureSchema>;

export const ingestResultSchema = z.object({
  collection: z.string(),
  stored: z.array(z.string()),
  failed: z.array(ingestFailureSchema),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;
