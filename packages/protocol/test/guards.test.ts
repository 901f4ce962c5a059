import { describe, expect, it } from 'vitest';
import { CodedError } from '../src/errors.js';
import { createGuards, describeValue } from '../src/guards.js';

class PackageError extends CodedError {
  override readonly name = 'PackageError';
}
const guards = createGuards((code, message) => new PackageError(code, message));

/** The error a guard call throws. */
function thrown(call: () => unknown): PackageError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(PackageError);
    return error as PackageError;
  }
  throw new Error('the guard passed');
}

describe('the option guards', () => {
  it('take (value, name, ...what they need, code?) and throw the package error with one template', () => {
    expect(thrown(() => guards.expectPositiveInteger(0, 'size'))).toMatchObject({ code: 'INVALID_OPTION', fault: 'input', message: 'Expected a positive integer for size but received 0' });
    expect(thrown(() => guards.expectPositiveNumber(-1, 'scale', 'INVALID_MANIFEST'))).toMatchObject({ code: 'INVALID_MANIFEST', fault: 'server', message: 'Expected a positive finite number for scale but received -1' });
    expect(thrown(() => guards.expectIntegerInRange(1000, 'noiseLevel', 0, 999)).message).toBe('Expected an integer in [0, 999] for noiseLevel but received 1000');
    expect(thrown(() => guards.expectNumberInRange(Number.NaN, 'eta', 0, 1)).message).toBe('Expected a finite number in [0, 1] for eta but received NaN');
    expect(thrown(() => guards.expectOneOf('lms', 'scheduler', ['ddim', 'euler'])).message).toBe('Expected one of "ddim", "euler" for scheduler but received "lms"');
    expect(thrown(() => guards.expectIntegerIn(2, 'channels', [1, 3])).message).toBe('Expected one of 1, 3 for channels but received 2');
    expect(thrown(() => guards.expectNumberArray([0.5], 'mean', 3)).message).toBe('Expected an array of 3 finite numbers for mean but received [0.5]');
    expect(thrown(() => guards.expectNumberArray([1, 0, 1], 'std', 3, true)).message).toBe('Expected an array of 3 positive finite numbers for std but received [1, 0, 1]');
    expect(thrown(() => guards.expectKnownKeys({ rollof: 0.9 }, 'resample options', ['rolloff'])).message).toBe('Expected one of the options rolloff for resample options key but received "rollof"');
    expect(thrown(() => guards.expectLength(new Float32Array(5), 'noise', 8, 'TENSOR_SIZE_MISMATCH'))).toMatchObject({ code: 'TENSOR_SIZE_MISMATCH', message: 'Expected 8 values for noise but received 5' });
    expect(thrown(() => guards.expectObject(null, 'preprocess')).message).toBe('Expected an object for preprocess but received null');
    expect(thrown(() => guards.expectString('', 'file')).message).toBe('Expected a non-empty string for file but received ""');
    expect(thrown(() => guards.expectBoolean(undefined, 'snipEdges')).message).toBe('Expected a boolean for snipEdges but received undefined');
    expect(thrown(() => guards.expectNonNegativeInteger(-1, 'channel')).message).toBe('Expected a non-negative integer for channel but received -1');
    expect(thrown(() => guards.expectFiniteValues([1, Number.POSITIVE_INFINITY], 'the query'))).toMatchObject({ code: 'NON_FINITE_VALUE', message: 'Expected finite numbers in the query but received Infinity at index 1' });
    expect(thrown(() => { throw guards.invalid('an even FFT size', 'paddedWindowSize', 511, 'UNSUPPORTED_OPTION'); })).toMatchObject({ code: 'UNSUPPORTED_OPTION', message: 'Expected an even FFT size for paddedWindowSize but received 511' });
  });

  it('return the value when it passes', () => {
    expect(guards.expectPositiveInteger(3, 'n')).toBe(3);
    expect(guards.expectOneOf('ddim', 'scheduler', ['ddim'] as const)).toBe('ddim');
    expect(guards.expectObject({ a: 1 }, 'o')).toEqual({ a: 1 });
    expect(guards.expectNumberInRange(0.5, 'eta', 0, 1)).toBe(0.5);
    expect(() => guards.expectKnownKeys({ a: 1 }, 'o', ['a', 'b'])).not.toThrow();
  });

  it('show what they received briefly', () => {
    expect(describeValue('x')).toBe('"x"');
    expect(describeValue(new Float32Array(4))).toBe('Float32Array(4)');
    expect(describeValue([1, 'a', null])).toBe('[1, "a", null]');
    expect(describeValue(Array.from({ length: 100 }, () => 0))).toBe('an array of length 100');
    expect(describeValue({ long: 'y'.repeat(200) })).toMatch(/^\{"long":"y+\.\.\.$/);
    expect(describeValue(10n)).toBe('10');
  });
});
