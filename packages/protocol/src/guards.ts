import type { ErrorCode } from './errors.js';

/**
 * One guard per kind of option, one argument order for all of them,
 * `expectX(value, name, ...what X needs, code?)`, and one error template (sharp's lib/is.js):
 * "Expected <what> for <name> but received <value>".
 *
 * Each package binds the guards to its own error class once (`createGuards`), so a guard
 * throws an ImageBindError in @a2i/imagebind, an UnclipError in @a2i/unclip, ...
 * `code` defaults to the package's default (INVALID_OPTION unless told otherwise).
 */
export type GuardErrorFactory = (code: ErrorCode, message: string) => Error;

export interface Guards {
  /** The error for a value that is not `what` (for checks no guard below makes). */
  invalid(what: string, name: string, value: unknown, code?: ErrorCode): Error;
  expectObject(value: unknown, name: string, code?: ErrorCode): Record<string, unknown>;
  /** Refuses keys `known` lacks, so a misspelt option never passes silently. */
  expectKnownKeys(value: object, name: string, known: readonly string[], code?: ErrorCode): void;
  expectString(value: unknown, name: string, code?: ErrorCode): string;
  expectBoolean(value: unknown, name: string, code?: ErrorCode): boolean;
  expectFiniteNumber(value: unknown, name: string, code?: ErrorCode): number;
  expectPositiveNumber(value: unknown, name: string, code?: ErrorCode): number;
  /** A finite number in [min, max]. */
  expectNumberInRange(value: unknown, name: string, min?: number, max?: number, code?: ErrorCode): number;
  expectPositiveInteger(value: unknown, name: string, code?: ErrorCode): number;
  expectNonNegativeInteger(value: unknown, name: string, code?: ErrorCode): number;
  /** An integer in [min, max]. */
  expectIntegerInRange(value: unknown, name: string, min: number, max?: number, code?: ErrorCode): number;
  expectOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], code?: ErrorCode): T;
  expectIntegerIn<T extends number>(value: unknown, name: string, allowed: readonly T[], code?: ErrorCode): T;
  /** An array of `length` finite numbers (positive ones when `positive`). */
  expectNumberArray(value: unknown, name: string, length: number, positive?: boolean, code?: ErrorCode): number[];
  /** `length` values in `array`. */
  expectLength(array: ArrayLike<unknown>, name: string, length: number, code?: ErrorCode): void;
  /** Throws at the first NaN or infinity, naming where it is (code NON_FINITE_VALUE unless told). */
  expectFiniteValues(data: ArrayLike<number>, name: string, code?: ErrorCode): void;
}

/** How a received value is written in a message: strings quoted, long things shortened. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null || value === undefined) return String(value);
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describeValue).join(', ')}]` : `an array of length ${value.length}`;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return typeof value;
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

export function createGuards(makeError: GuardErrorFactory, defaultCode: ErrorCode = 'INVALID_OPTION'): Guards {
  const invalid = (what: string, name: string, value: unknown, code: ErrorCode = defaultCode): Error =>
    makeError(code, `Expected ${what} for ${name} but received ${describeValue(value)}`);
  const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
  const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

  return {
    invalid,
    expectObject(value, name, code) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('an object', name, value, code);
      return value as Record<string, unknown>;
    },
    expectKnownKeys(value, name, known, code) {
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) throw invalid(`one of the options ${known.join(', ')}`, `${name} key`, key, code);
      }
    },
    expectString(value, name, code) {
      if (typeof value !== 'string' || value.length === 0) throw invalid('a non-empty string', name, value, code);
      return value;
    },
    expectBoolean(value, name, code) {
      if (typeof value !== 'boolean') throw invalid('a boolean', name, value, code);
      return value;
    },
    expectFiniteNumber(value, name, code) {
      if (!isNumber(value)) throw invalid('a finite number', name, value, code);
      return value;
    },
    expectPositiveNumber(value, name, code) {
      if (!isNumber(value) || value <= 0) throw invalid('a positive finite number', name, value, code);
      return value;
    },
    expectNumberInRange(value, name, min = -Infinity, max = Infinity, code) {
      if (!isNumber(value) || value < min || value > max) throw invalid(`a finite number in [${min}, ${max}]`, name, value, code);
      return value;
    },
    expectPositiveInteger(value, name, code) {
      if (!isInteger(value) || value <= 0) throw invalid('a positive integer', name, value, code);
      return value;
    },
    expectNonNegativeInteger(value, name, code) {
      if (!isInteger(value) || value < 0) throw invalid('a non-negative integer', name, value, code);
      return value;
    },
    expectIntegerInRange(value, name, min, max = Number.MAX_SAFE_INTEGER, code) {
      if (!isInteger(value) || value < min || value > max) throw invalid(`an integer in [${min}, ${max}]`, name, value, code);
      return value;
    },
    expectOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], code?: ErrorCode): T {
      if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
        throw invalid(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, name, value, code);
      }
      return value as T;
    },
    expectIntegerIn<T extends number>(value: unknown, name: string, allowed: readonly T[], code?: ErrorCode): T {
      if (typeof value !== 'number' || !(allowed as readonly number[]).includes(value)) throw invalid(`one of ${allowed.join(', ')}`, name, value, code);
      return value as T;
    },
    expectNumberArray(value, name, length, positive = false, code) {
      const what = `an array of ${length} ${positive ? 'positive ' : ''}finite numbers`;
      if (!Array.isArray(value) || value.length !== length) throw invalid(what, name, value, code);
      for (const v of value) {
        if (!isNumber(v) || (positive && v <= 0)) throw invalid(what, name, value, code);
      }
      return value as number[];
    },
    expectLength(array, name, length, code) {
      if (array.length !== length) throw invalid(`${length} values`, name, array.length, code);
    },
    expectFiniteValues(data, name, code = 'NON_FINITE_VALUE') {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) throw makeError(code, `Expected finite numbers in ${name} but received ${data[i]} at index ${i}`);
      }
    },
  };
}
