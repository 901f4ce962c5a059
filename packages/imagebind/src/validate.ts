import { ImageBindError } from './imagebind-error.js';

// One error template for every option guard (sharp's lib/is.js style):
// "Expected <what> for <name> but received <value>".

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

export function invalid(what: string, name: string, value: unknown, code = 'INVALID_OPTION'): ImageBindError {
  return new ImageBindError(code, `Expected ${what} for ${name} but received ${show(value)}`);
}

export function expectPositiveInteger(value: unknown, name: string, code?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw invalid('a positive integer', name, value, code);
  return value;
}

export function expectPositiveNumber(value: unknown, name: string, code?: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid('a positive finite number', name, value, code);
  return value;
}

export function expectFiniteNumber(value: unknown, name: string, code?: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('a finite number', name, value, code);
  return value;
}

/** An array of `length` finite numbers (and positive ones when `positive`). */
export function expectNumberArray(value: unknown, length: number, name: string, positive = false, code?: string): number[] {
  const what = `an array of ${length} ${positive ? 'positive ' : ''}finite numbers`;
  if (!Array.isArray(value) || value.length !== length) throw invalid(what, name, value, code);
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) throw invalid(what, name, value, code);
  }
  return value as number[];
}

export function expectOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string, code?: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, name, value, code);
  }
  return value as T;
}

export function expectIntegerIn<T extends number>(value: unknown, allowed: readonly T[], name: string, code?: string): T {
  if (typeof value !== 'number' || !(allowed as readonly number[]).includes(value)) throw invalid(`one of ${allowed.join(', ')}`, name, value, code);
  return value as T;
}

export function expectObject(value: unknown, name: string, code?: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('an object', name, value, code);
  return value as Record<string, unknown>;
}

export function expectString(value: unknown, name: string, code?: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('a non-empty string', name, value, code);
  return value;
}

/** Throws NON_FINITE_VALUE at the first NaN or infinity, naming where it is. */
export function assertFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ImageBindError('NON_FINITE_VALUE', `Expected finite numbers in ${name} but received ${data[i]} at index ${i}`);
    }
  }
}
