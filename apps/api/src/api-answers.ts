import { z } from 'zod';
import { JOB_STATUSES, errorCodeSchema, ingestResultSchema, type CollectionView, type SearchResultView } from '@a2i/protocol';
import type { IngestStatusView } from './search-service.js';
import type { ZeroShotResult } from './zero-shot.js';

/**
 * Zod schemas of the answers whose shapes the api declares as TypeScript types only (the
 * other answers already have zod schemas in @a2i/protocol). They exist for the OpenAPI
 * document (openapi-document.ts). So the shapes are not kept twice by hand, each schema is
 * tied to its type below: if either changes without the other, `npm run typecheck` fails.
 */

const metadataValue = z.union([z.string(), z.number(), z.boolean()]);

export const healthAnswerSchema = z.object({ ok: z.literal(true) });
export const readyAnswerSchema = z.object({
  ready: z.literal(true),
  workers: z.number().int().positive(),
  pack: z.string(),
  /** The warm-up (A2I_WARM_UP) of the worker that last published the pack, in ms; null: it ran none. */
  warmUpMs: z.number().int().positive().nullable(),
});

/** POST /v1/embeddings: one vector per input and their weighted sum. */
export const embeddingsAnswerSchema = z.object({
  dim: z.number().int().positive(),
  vectors: z.array(z.array(z.number())),
  /** The weighted sum of the inputs' vectors. */
  combined: z.array(z.number()),
});

export const collectionViewSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  /** The pack whose space the collection's vectors are in. */
  pack: z.string(),
  dim: z.number().int().positive(),
  count: z.number().int().nonnegative(),
  /** ISO 8601 */
  createdAt: z.string(),
});
export const collectionListSchema = z.object({ collections: z.array(collectionViewSchema) });

/** 202 answer of POST /v1/collections/:name/items. */
export const ingestCreatedSchema = z.object({
  id: z.string(),
  token: z.string(),
  links: z.object({ self: z.string(), events: z.string() }),
});

export const ingestStatusSchema = z.object({
  id: z.string(),
  collection: z.string(),
  status: z.enum(JOB_STATUSES),
  createdAt: z.number(),
  updatedAt: z.number(),
  progress: z.object({ step: z.number().int(), steps: z.number().int(), etaMs: z.number().nullable() }).optional(),
  /** succeeded only: the ids stored and the items that failed */
  result: ingestResultSchema.optional(),
  /** failed only */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  links: z.object({ self: z.string(), events: z.string() }),
});

export const itemLookupAnswerSchema = z.object({
  present: z.array(z.string()),
  /** How many items (and files) one ingest request may carry. */
  limits: z.object({ itemsPerRequest: z.number().int().positive(), filesPerRequest: z.number().int().positive() }),
});

export const itemViewSchema = z.object({
  id: z.string(),
  modality: z.string(),
  metadata: z.record(z.string(), metadataValue),
  /** URL of the item's thumbnail, when it has one. */
  media: z.string().optional(),
  /** Only with ?vector=true. */
  vector: z.array(z.number()).optional(),
});

export const searchResultSchema = z.object({
  id: z.string(),
  /** Cosine similarity to the query. */
  score: z.number(),
  modality: z.string(),
  metadata: z.record(z.string(), metadataValue),
  media: z.string().optional(),
});
export const searchAnswerSchema = z.object({ results: z.array(searchResultSchema) });

export const classifyAnswerSchema = z.object({
  /** Best first. */
  labels: z.array(
    z.object({
      label: z.string(),
      /** cos(query, label), in [-1, 1] */
      score: z.number(),
      logit: z.number(),
      /** softmax over the labels */
      probability: z.number(),
    }),
  ),
  logitScale: z.number(),
  logitScaleSource: z.enum(['text-postprocess', 'clip-default']),
});

/** A socket.io acknowledgement: `{ ok: true }` or an error body. */
export const socketAckSchema = z.union([z.object({ ok: z.literal(true) }), z.object({ error: z.object({ code: errorCodeSchema, message: z.string() }) })]);

// ---- each schema stays the shape of its type (a compile-time check, no runtime cost)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Shape<S extends z.ZodType> = z.output<S>;
export const ANSWER_TYPES_MATCH: [
  Same<Shape<typeof collectionViewSchema>, CollectionView>,
  Same<Shape<typeof searchResultSchema>, SearchResultView>,
  Same<Shape<typeof ingestStatusSchema>, IngestStatusView>,
  Same<Shape<typeof classifyAnswerSchema>, ZeroShotResult>,
] = [true, true, true, true];
