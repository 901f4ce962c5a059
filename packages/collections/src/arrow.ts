import { createRequire } from 'node:module';

/**
 * apache-arrow, loaded as the same CommonJS instance that @lancedb/lancedb requires.
 *
 * apache-arrow ships separate ESM and CJS builds; LanceDB (CJS) checks
 * `x instanceof arrow.Field` / `arrow.Schema` against its own copy, so a Field built
 * from the ESM import is not recognised (addColumns fails with "Missing field valueSql").
 * Every Arrow object this package hands to LanceDB is built from this module.
 */
const require = createRequire(import.meta.url);
export const arrow = require('apache-arrow') as typeof import('apache-arrow');
