import { z } from 'zod';
import { generationRequestSchema, ingestItemSpecSchema, inputSpecSchema, type InputKind } from '@a2i/protocol';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1 Schema Objects). */
export type JsonSchema = { [key: string]: unknown };

/**
 * A zod schema as an OpenAPI 3.1 Schema Object, with z.toJSONSchema (draft 2020-12, which
 * OpenAPI 3.1 uses as it is):
 * - requests and query parameters as zod reads them (`io: 'input'`: a field with a default
 *   may be left out, a transform's input is shown), answers and events as they are sent
 *   (`io: 'output'`);
 * - a piped check (`guidance`: a finite number, then 0..100) keeps both sides' bounds;
 * - bytes (`z.custom<Uint8Array>`: previews, inline images) become a string: base64 over SSE,
 *   binary over socket.io;
 * - the rules zod checks in code (superRefine, refine) that clients need to know are added in
 *   JSON Schema (CROSS_FIELD_RULES below), so a validator of the document refuses what the
 *   api refuses; test/openapi.test.ts checks the two agree on examples.
 */
export function toOpenApiSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def;
      if (def.type === 'custom') Object.assign(ctx.jsonSchema, { type: 'string', description: 'bytes: base64 in JSON and SSE, binary over socket.io' });
      if (io === 'input' && def.type === 'pipe' && def.out._zod.def.type !== 'transform') {
        const checked = toOpenApiSchema(def.out as unknown as z.ZodType, io);
        ctx.jsonSchema.allOf = [...(ctx.jsonSchema.allOf ?? []), checked];
      }
      const rule = CROSS_FIELD_RULES.get(ctx.zodSchema as unknown as z.ZodType);
      if (rule) Object.assign(ctx.jsonSchema, rule());
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

// ---- rules the zod schemas check in code (generation-request.ts, collection-requests.ts)

/** `{ modality: m }` takes exactly `wants` of `fields` (inputSpecSchema's and ingestItemSpecSchema's superRefine). */
function fieldsPerModality(kinds: readonly InputKind[], fields: readonly string[], wants: (kind: InputKind) => string[]): JsonSchema {
  return {
    allOf: kinds.map((kind) => {
      const wanted = wants(kind);
      const forbidden = Object.fromEntries(fields.filter((field) => !wanted.includes(field)).map((field) => [field, false]));
      return { if: { properties: { modality: { const: kind } }, required: ['modality'] }, then: { required: wanted, properties: forbidden } };
    }),
  };
}

const inputWants = (kind: InputKind): string[] => (kind === 'text' ? ['text'] : kind === 'embedding' ? ['vector'] : kind === 'item' ? ['collection', 'id'] : ['file']);
const enumOf = (schema: z.ZodType): InputKind[] => (schema as unknown as { options: InputKind[] }).options;

const CROSS_FIELD_RULES = new Map<z.ZodType, () => JsonSchema>([
  [inputSpecSchema, () => fieldsPerModality(enumOf(inputSpecSchema.shape.modality), ['file', 'text', 'vector', 'collection', 'id'], inputWants)],
  [ingestItemSpecSchema, () => fieldsPerModality(enumOf(ingestItemSpecSchema.shape.modality), ['file', 'text', 'vector'], inputWants)],
  // at least one input with a non-zero weight (an absent weight is 1)
  [generationRequestSchema.shape.inputs, () => ({ contains: { not: { required: ['weight'], properties: { weight: { const: 0 } } } } })],
]);
