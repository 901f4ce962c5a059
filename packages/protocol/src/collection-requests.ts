import { z } from 'zod';
import { embeddingRequestSchema } from './generation-request.js';
import { modalitySchema } from './modalities.js';
import { pipelineInputSchema } from './generation-job.js';

/**
 * Requests of the collections, search and classification routes (README "Search"). Shapes
 * and absolute bounds only: the configured limits (items per request, k, labels), the
 * pack's modalities and the metadata / filter rules are checked by the api and by
 * @a2i/collections, each with its own stable code.
 */

/** Collection names: lower-case, URL- and file-name-safe (the same rule as @a2i/collections). */
export const COLLECTION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const finiteNumber = z.number().refine(Number.isFinite, 'Expected a finite number');

/** POST /v1/collections. The name is checked by the store (INVALID_NAME), not here. */
export const createCollectionRequestSchema = z
  .object({
    name: z.string(),
    description: z.string().max(2000).optional(),
  })
  .strict();
export type CreateCollectionRequest = z.infer<typeof createCollectionRequestSchema>;

/** A metadata value: string, finite number or boolean (field names: [A-Za-z_][A-Za-z0-9_]{0,63}). */
const metadataSchema = z.record(z.string(), z.union([z.string().max(4096), finiteNumber, z.boolean()]));

/** One item to store: like a generation input (no weight), plus an optional id and metadata. */
export const ingestItemSpecSchema = z
  .object({
    /** Given again later, the item is replaced (upsert); absent, the server makes one. */
    id: z.string().min(1).max(512).optional(),
    modality: modalitySchema,
    /** Multipart part name holding the file (audio, image, video, depth, thermal, imu). */
    file: z.string().min(1).max(100).optional(),
    /** The text, for modality `text`. */
    text: z.string().min(1).optional(),
    /** A vector in the pack's space, for modality `embedding`. */
    vector: z.array(finiteNumber).min(1).optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    const wants = item.modality === 'text' ? 'text' : item.modality === 'embedding' ? 'vector' : 'file';
    for (const key of ['file', 'text', 'vector'] as const) {
      if (key === wants && item[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `Expected ${key} for a ${item.modality} item but received nothing` });
      if (key !== wants && item[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `Expected no ${key} for a ${item.modality} item (it takes ${wants})` });
    }
  });
export type IngestItemSpec = z.infer<typeof ingestItemSpecSchema>;

/** POST /v1/collections/:name/items (JSON, or the `request` field of a multipart body). */
export const ingestRequestSchema = z.object({ items: z.array(ingestItemSpecSchema).min(1, 'Expected at least one item') }).strict();
export type IngestRequest = z.infer<typeof ingestRequestSchema>;

/**
 * POST /v1/collections/:name/search. `inputs` are a generation's inputs: their weighted sum is
 * the query. `k` and `filter` are checked by the store (INVALID_K, INVALID_FILTER).
 */
export const searchRequestSchema = z
  .object({
    inputs: embeddingRequestSchema.shape.inputs,
    k: z.unknown().optional(),
    /** Metadata filter: { field: value | { eq|ne|in|nin|gt|gte|lt|lte: ... } }, all AND-ed. */
    filter: z.unknown().optional(),
    /** Only items of this modality or these modalities. */
    modality: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .strict();
export type SearchRequest = z.infer<typeof searchRequestSchema>;

/** Ids one POST /v1/collections/:name/items/lookup may ask about. */
export const MAX_LOOKUP_IDS = 1000;

/** POST /v1/collections/:name/items/lookup: which of these ids the collection holds (a resumable upload's check). */
export const itemLookupRequestSchema = z
  .object({ ids: z.array(z.string().min(1).max(512)).max(MAX_LOOKUP_IDS, `Expected at most ${MAX_LOOKUP_IDS} ids`) })
  .strict();
export type ItemLookupRequest = z.infer<typeof itemLookupRequestSchema>;

/** POST /v1/classify. The number of labels is checked against A2I_CLASSIFY_MAX_LABELS. */
export const classifyRequestSchema = z
  .object({
    inputs: embeddingRequestSchema.shape.inputs,
    labels: z.array(z.string().trim().min(1, 'Expected a non-empty label').max(1000)),
  })
  .strict();
export type ClassifyRequest = z.infer<typeof classifyRequestSchema>;

/** One item of an ingest job, as the worker receives it: the file as a path or an s3:// location (the uploads store's). */
export const ingestJobItemSchema = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().min(1).max(512),
  modality: modalitySchema,
  file: z.string().min(1).optional(),
  text: z.string().optional(),
  vector: z.array(finiteNumber).optional(),
  metadata: metadataSchema.optional(),
});
export type IngestJobItem = z.infer<typeof ingestJobItemSchema>;

/** The data of a job on the `ingest` queue. */
export const ingestJobSchema = z.object({
  id: z.string().min(1),
  createdAt: z.number().int(),
  collection: z.string().regex(COLLECTION_NAME_PATTERN),
  /** The collection's owner (sha256 of an API key), null when collections are shared. */
  owner: z.string().min(1).nullable(),
  items: z.array(ingestJobItemSchema).min(1),
  /** Folder of this job's uploads, named after the job's id (apps/api/src/request-body.ts). */
  uploadDir: z.string().optional(),
});
export type IngestJob = z.infer<typeof ingestJobSchema>;

/** An ingest item's single input to the pipeline's embed. */
export function ingestItemInput(item: IngestJobItem): z.infer<typeof pipelineInputSchema> {
  const input: z.infer<typeof pipelineInputSchema> = { modality: item.modality, weight: 1 };
  if (item.file !== undefined) input.file = item.file;
  if (item.text !== undefined) input.text = item.text;
  if (item.vector !== undefined) input.vector = item.vector;
  return input;
}

/** Links of an ingest job (202 answer). Events use the one job event stream of every job. */
export function ingestLinks(collection: string, id: string): { self: string; events: string } {
  return { self: `/v1/collections/${collection}/jobs/${id}`, events: `/v1/generations/${id}/events` };
}

/** The URL of an item's thumbnail. */
export function itemMediaUrl(collection: string, id: string): string {
  return `/v1/collections/${collection}/items/${encodeURIComponent(id)}/media`;
}

// ---------------------------------------------------------------- answers (README "Search")

/** A collection as the server describes it. */
export interface CollectionView {
  name: string;
  description: string | null;
  pack: string;
  dim: number;
  count: number;
  createdAt: string;
}

/** One search result, best first; `score` is the cosine similarity. */
export interface SearchResultView {
  id: string;
  score: number;
  modality: string;
  metadata: Record<string, string | number | boolean>;
  /** URL of the item's thumbnail, when it has one. */
  media?: string;
}
