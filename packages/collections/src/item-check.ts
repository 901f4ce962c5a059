import { prepareItems } from './item-columns.js';

/**
 * Checks what can be checked of items before they are embedded (ids, modality names,
 * metadata field names, value types, and one type per field within the batch), with the
 * same codes and messages as `upsert` (INVALID_ITEM, INVALID_METADATA): a request can be
 * refused before any work is queued. A field's type against the collection's existing
 * columns is only known to `upsert`.
 */
export function checkItemsBeforeEmbedding(items: ReadonlyArray<{ id: string; modality: string; metadata?: Record<string, unknown> }>): void {
  prepareItems(
    items.map((item) => ({ ...item, vector: [1] })),
    1,
  );
}
