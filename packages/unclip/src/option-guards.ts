import { UnclipError } from './unclip-error.js';

/** One template for every bad option: "Expected <what> for <name> but received <value>". */
export function badOption(what: string, name: string, value: unknown, code = 'INVALID_OPTION'): UnclipError {
  return new UnclipError(code, `Expected ${what} for ${name} but received ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

export function expectInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badOption(`an integer in [${min}, ${max}]`, name, value);
  }
  return value;
}

export function expectNumber(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badOption(`a finite number in [${min}, ${max}]`, name, value);
  }
  return value;
}

export function expectBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw badOption('a boolean', name, value);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badOption(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, name, value);
  }
  return value as T;
}

export function expectLength(array: ArrayLike<number>, length: number, name: string): void {
  if (array.length !== length) {
    throw new UnclipError('TENSOR_SIZE_MISMATCH', `Expected ${length} values for ${name} but received ${array.length}`);
  }
}

/** Refuses keys an options object does not know, naming them (a typo must not be ignored). */
export function expectKnownKeys(object: object, known: readonly string[], name: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw new UnclipError(
        'UNSUPPORTED_OPTION',
        `Unsupported option ${name}.${key}; known options are ${known.join(', ')}`,
      );
    }
  }
}
