import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type express from 'express';
import type { OpenApiDocument } from '../src/openapi-document.js';

/** JSON Schema 2020-12 validators of a document's component schemas (its `$ref`s resolved). */
export function componentValidators(doc: OpenApiDocument): (name: string) => ValidateFunction {
  const at = schemaValidators(doc);
  return (name) => at(`/components/schemas/${name}`);
}

/** A validator of the schema at a JSON pointer into the document (`/paths/~1v1~1pack/get/...`). */
export function schemaValidators(doc: OpenApiDocument): (pointer: string) => ValidateFunction {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const id = 'https://a2i.invalid/openapi.json';
  ajv.addSchema({ $id: id, components: doc.components, paths: doc.paths });
  const cache = new Map<string, ValidateFunction>();
  return (pointer) => {
    let validate = cache.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `${id}#${pointer}` });
      cache.set(pointer, validate);
    }
    return validate;
  };
}

/** `/v1/generations/{id}` -> `~1v1~1generations~1{id}` (RFC 6901), percent-encoding `{` and `}` for the URI fragment. */
export const pointerSegment = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1').replace(/[{}]/g, encodeURIComponent);

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  rawPath?: string | string[];
}

/** `METHOD /path` of every route an express 5 app has, mounted routers included (express syntax). */
export function expressRoutes(app: express.Express): Set<string> {
  const found = new Set<string>();
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of [layer.route.path].flat()) {
          for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) found.add(`${method.toUpperCase()} ${prefix}${path}`);
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return found;
}
