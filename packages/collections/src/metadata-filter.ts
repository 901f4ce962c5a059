import { CollectionError, describeValue, expected } from './collection-error.js';
import { FIELD_NAME, MODALITY_NAME, isPlainObject } from './guards.js';

/**
 * The metadata filter language: a JSON object whose keys are metadata field names,
 * all conditions AND-ed together.
 *
 *   { "place": "sea", "year": { "in": [2020, 2021] }, "score": { "gte": 0.5 } }
 *
 * Per field, either a scalar (equality) or one object of operators:
 *   eq, ne         string | number | boolean
 *   in, nin        non-empty array (at most 1000) of strings, or of numbers, or of booleans
 *   gt, gte, lt, lte   number
 * Values must have the type of the stored field (a number field is never compared to a
 * string): a mismatch is INVALID_FILTER, never a silent empty answer. A field that no
 * item has yet matches nothing (eq/in/range) or everything (ne/nin), as if absent = null.
 */
export type MetadataScalar = string | number | boolean;
export interface FieldOperators {
  eq?: MetadataScalar;
  ne?: MetadataScalar;
  in?: MetadataScalar[];
  nin?: MetadataScalar[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}
export type MetadataFilter = Record<string, MetadataScalar | FieldOperators>;

export type MetadataFieldType = 'string' | 'number' | 'boolean';

const OPERATORS = new Set(['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte']);
const MAX_IN_VALUES = 1000;
const MAX_FILTER_FIELDS = 32;

/** The column that stores metadata field `field`. */
export function metadataColumn(field: string): string {
  return `meta_${field}`;
}

/** A quoted column reference; `column` must already be validated (FIELD_NAME). */
export function quoteColumn(column: string): string {
  return `\`${column}\``;
}

/**
 * A SQL string literal. LanceDB's SQL (DataFusion) uses standard quoting: a quote inside
 * a literal is doubled and backslash is an ordinary character (checked by the tests with
 * values like `a\' OR 1=1 --`).
 */
export function sqlString(value: string): string {
  if (value.includes('\u0000')) throw expected('INVALID_FILTER', 'a string without NUL characters', 'filter value', value);
  return `'${value.replace(/'/g, "''")}'`;
}

function sqlNumber(value: number, label: string): string {
  if (!Number.isFinite(value)) throw expected('INVALID_FILTER', 'a finite number', label, value);
  // String(n) gives "1e+21" / "1e-7" for extremes; DataFusion parses both forms.
  return String(value);
}

function literal(value: unknown, type: MetadataFieldType | undefined, label: string): string {
  const actual = typeof value;
  if (actual !== 'string' && actual !== 'number' && actual !== 'boolean') {
    throw expected('INVALID_FILTER', 'a string, number or boolean', label, value);
  }
  if (type !== undefined && actual !== type) throw expected('INVALID_FILTER', `a ${type} (the field's stored type)`, label, value);
  if (actual === 'string') return sqlString(value as string);
  if (actual === 'number') return sqlNumber(value as number, label);
  // booleans are stored as Int8 0/1 (see item-columns.ts)
  return (value as boolean) ? '1' : '0';
}

/**
 * Translates a filter to a LanceDB `where` clause, or `null` for "no condition".
 * `fieldTypes` lists the metadata fields the collection has (from its column schema).
 */
export function metadataFilterToSql(filter: unknown, fieldTypes: ReadonlyMap<string, MetadataFieldType>): string | null {
  if (filter === undefined || filter === null) return null;
  if (!isPlainObject(filter)) throw expected('INVALID_FILTER', 'an object of field conditions', 'filter', filter);
  const entries = Object.entries(filter);
  if (entries.length > MAX_FILTER_FIELDS) {
    throw expected('INVALID_FILTER', `at most ${MAX_FILTER_FIELDS} fields`, 'filter', `${entries.length} fields`);
  }
  const clauses: string[] = [];
  for (const [field, condition] of entries) {
    if (!FIELD_NAME.test(field)) throw expected('INVALID_FILTER', 'a field name matching [A-Za-z_][A-Za-z0-9_]{0,63}', 'filter field', field);
    const type = fieldTypes.get(field);
    const column = quoteColumn(metadataColumn(field));
    const label = `filter field ${field}`;
    if (!isPlainObject(condition)) {
      clauses.push(type === undefined ? 'FALSE' : `${column} = ${literal(condition, type, label)}`);
      continue;
    }
    const operators = Object.entries(condition);
    if (operators.length === 0) throw expected('INVALID_FILTER', 'at least one operator (eq, ne, in, nin, gt, gte, lt, lte)', label, condition);
    for (const [op, operand] of operators) {
      if (!OPERATORS.has(op)) {
        throw new CollectionError('INVALID_FILTER', `Expected one of eq, ne, in, nin, gt, gte, lt, lte for operator of ${label} but received ${describeValue(op)}`);
      }
      clauses.push(operatorClause(op, operand, column, type, label));
    }
  }
  return clauses.length === 0 ? null : clauses.map((c) => `(${c})`).join(' AND ');
}

function operatorClause(op: string, operand: unknown, column: string, type: MetadataFieldType | undefined, label: string): string {
  const opLabel = `${label} (${op})`;
  switch (op) {
    case 'eq':
      return type === undefined ? (literal(operand, undefined, opLabel), 'FALSE') : `${column} = ${literal(operand, type, opLabel)}`;
    case 'ne':
      // Absent (NULL) counts as "not equal", the way a document store would answer.
      return type === undefined ? (literal(operand, undefined, opLabel), 'TRUE') : `(${column} IS NULL OR ${column} <> ${literal(operand, type, opLabel)})`;
    case 'in':
    case 'nin': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > MAX_IN_VALUES) {
        throw expected('INVALID_FILTER', `a non-empty array of at most ${MAX_IN_VALUES} values`, opLabel, operand);
      }
      const first = typeof operand[0];
      const list = operand.map((v, i) => {
        if (typeof v !== first) throw expected('INVALID_FILTER', `values of one type (${first})`, `${opLabel}[${i}]`, v);
        return literal(v, type, `${opLabel}[${i}]`);
      });
      if (type === undefined) return op === 'in' ? 'FALSE' : 'TRUE';
      return op === 'in' ? `${column} IN (${list.join(', ')})` : `(${column} IS NULL OR ${column} NOT IN (${list.join(', ')}))`;
    }
    default: {
      // gt, gte, lt, lte: numbers only.
      if (typeof operand !== 'number') throw expected('INVALID_FILTER', 'a number', opLabel, operand);
      if (type !== undefined && type !== 'number') throw expected('INVALID_FILTER', `a ${type} comparison (the field is not a number)`, opLabel, operand);
      if (type === undefined) return (sqlNumber(operand, opLabel), 'FALSE');
      const sqlOp = op === 'gt' ? '>' : op === 'gte' ? '>=' : op === 'lt' ? '<' : '<=';
      return `${column} ${sqlOp} ${sqlNumber(operand, opLabel)}`;
    }
  }
}

/** The SQL clause restricting a search to one or more modalities (null: any). */
export function modalityClause(modality: unknown): string | null {
  if (modality === undefined) return null;
  const list = typeof modality === 'string' ? [modality] : modality;
  if (!Array.isArray(list) || list.length === 0 || list.length > 32) throw expected('INVALID_FILTER', 'a modality name or a non-empty array of them', 'modality', modality);
  for (const m of list) if (typeof m !== 'string' || !MODALITY_NAME.test(m)) throw expected('INVALID_FILTER', 'a modality name matching [a-z][a-z0-9_-]{0,31}', 'modality', m);
  return `modality IN (${(list as string[]).map(sqlString).join(', ')})`;
}

/** A search's SQL condition: the metadata filter (typed by the table's columns) AND the modality; null for none. */
export function searchWhereClause(filter: unknown, modality: unknown, fieldTypes: ReadonlyMap<string, MetadataFieldType>): string | null {
  const clauses = [metadataFilterToSql(filter, fieldTypes), modalityClause(modality)].filter((c): c is string => c !== null);
  return clauses.length > 0 ? clauses.join(' AND ') : null;
}
