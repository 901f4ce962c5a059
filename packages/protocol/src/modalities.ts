import { z } from 'zod';

/**
 * Every kind of input a generation can mix. The six ImageBind modalities (+ video, which
 * goes through the vision encoder), and `embedding`: a ready vector in the pack's space.
 * Which of them a running pack accepts is in its `PackDescription.modalities`.
 */
export const MODALITIES = ['audio', 'image', 'text', 'video', 'depth', 'thermal', 'imu', 'embedding'] as const;
export type Modality = (typeof MODALITIES)[number];
export const modalitySchema = z.enum(MODALITIES);

/** Modalities whose content is an uploaded file (the others carry `text` or `vector`). */
export const FILE_MODALITIES: ReadonlySet<Modality> = new Set(['audio', 'image', 'video', 'depth', 'thermal', 'imu']);

/**
 * What a generation input may be: one of the modalities, or `item`, a stored collection item
 * (collection + id) whose vector the api looks up before queueing (it reaches the pipeline as
 * an `embedding` input). Items are refused where no collection is read (a pack's modalities,
 * ingest items).
 */
export const INPUT_KINDS = [...MODALITIES, 'item'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
export const inputKindSchema = z.enum(INPUT_KINDS);

export function isModality(value: unknown): value is Modality {
  return typeof value === 'string' && (MODALITIES as readonly string[]).includes(value);
}
