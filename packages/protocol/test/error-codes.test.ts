import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  CodedError,
  ERROR_CODES,
  ERROR_REGISTRY,
  codeOf,
  isCodedError,
  isErrorCode,
  isInputFault,
  jobFailureReason,
  parseJobFailureReason,
  serverFaultMessage,
} from '../src/errors.js';

/**
 * Every code of the system, once, with its fault and HTTP status. A new code is added here
 * and in the registry (packages/protocol/src/errors.ts) together; a renamed one changes both.
 */
const EVERY_CODE: Record<string, string> = {
  AUDIO_INVALID: 'input 422',
  AUDIO_INVALID_PCM: 'input 422',
  AUDIO_NO_SAMPLES: 'input 422',
  AUDIO_NO_STREAM: 'input 422',
  AUDIO_TOO_LONG: 'input 422',
  AUDIO_TOO_MANY_CHANNELS: 'input 422',
  AUDIO_TOO_SHORT: 'input 422',
  AUDIO_TRUNCATED: 'input 422',
  AUDIO_UNSUPPORTED_ENCODING: 'input 422',
  CANCELED: 'input 409',
  COLLECTION_EXISTS: 'input 409',
  COLLECTION_NOT_FOUND: 'input 404',
  CONFIG_INVALID: 'server 500',
  CONNECTIONS_FULL: 'input 503',
  CONNECT_ERROR: 'server 503',
  EMBEDDING_DIMENSION_MISMATCH: 'input 400',
  EMBEDDING_TIMEOUT: 'input 504',
  EMBEDDING_ZERO: 'input 422',
  ENCODER_INPUT_MISMATCH: 'server 500',
  ENCODER_LOAD_FAILED: 'server 500',
  ENCODER_NO_FILE: 'server 500',
  ENCODER_OUTPUT_MISMATCH: 'server 500',
  ENCODER_OUTPUT_NON_FINITE: 'server 500',
  IMAGE_INVALID: 'input 422',
  IMAGE_INVALID_SHAPE: 'input 422',
  IMAGE_TOO_LARGE: 'input 422',
  IMU_INVALID: 'input 422',
  IMU_INVALID_SHAPE: 'input 422',
  IMU_TOO_LONG: 'input 422',
  INTERNAL: 'server 500',
  INVALID_FILTER: 'input 400',
  INVALID_ITEM: 'input 400',
  INVALID_JOB: 'server 500',
  INVALID_JSON: 'input 400',
  INVALID_K: 'input 400',
  INVALID_MANIFEST: 'server 500',
  INVALID_METADATA: 'input 400',
  INVALID_NAME: 'input 400',
  INVALID_OPTION: 'input 422',
  INVALID_OWNER: 'input 400',
  INVALID_REQUEST: 'input 400',
  INVALID_SPACE: 'input 400',
  INVALID_VECTOR: 'input 400',
  ITEM_NOT_FOUND: 'input 404',
  JOB_FINISHED: 'input 409',
  JOB_STATE_LOST: 'server 503',
  LIMIT_EXCEEDED: 'input 400',
  LIVE_CHUNK_INVALID: 'input 413',
  LIVE_STREAMS_FULL: 'input 503',
  LIVE_TOO_MANY_STREAMS: 'input 429',
  MEDIA_ABORTED: 'input 422',
  MEDIA_EMPTY: 'input 422',
  MEDIA_NEEDS_FFMPEG: 'input 415',
  MEDIA_TIMEOUT: 'input 422',
  MEDIA_TOO_LARGE: 'input 422',
  MEDIA_UNSUPPORTED_FORMAT: 'input 415',
  MISSING_FILE: 'input 400',
  MODEL_OUTPUT_INVALID: 'server 500',
  MODEL_SIGNATURE_MISMATCH: 'server 500',
  MORPH_NEEDS_INPUTS: 'input 400',
  NON_FINITE_VALUE: 'input 422',
  NOT_FOUND: 'input 404',
  NOT_READY: 'input 503',
  NPY_INVALID: 'input 422',
  NPY_TOO_LARGE: 'input 422',
  NPY_TRUNCATED: 'input 422',
  NPY_UNSUPPORTED_DTYPE: 'input 422',
  NPY_UNSUPPORTED_ORDER: 'input 422',
  OBJECT_STORE_UNAVAILABLE: 'server 503',
  ORIGIN_NOT_ALLOWED: 'input 403',
  PACK_CHECKSUM_MISMATCH: 'server 500',
  PACK_FILE_MISSING: 'server 500',
  PACK_FILE_UNLISTED: 'server 500',
  PACK_FORMAT_UNKNOWN: 'server 500',
  PACK_MANIFEST_INVALID: 'server 500',
  PACK_MANIFEST_MISSING: 'server 500',
  PACK_NO_DECODER: 'server 500',
  PACK_SESSION_FAILED: 'server 500',
  PACK_SPACE_MISMATCH: 'server 500',
  PACK_TENSOR_MISMATCH: 'server 500',
  PACK_UNAVAILABLE: 'input 503',
  PREVIEW_UNAVAILABLE: 'input 422',
  PRIORITY_NOT_ALLOWED: 'input 403',
  PRIOR_UNAVAILABLE: 'input 400',
  PROMPT_CONDITIONING_REQUIRED: 'server 500',
  QUEUE_FULL: 'input 503',
  RATE_LIMITED: 'input 429',
  RESULT_EXPIRED: 'input 410',
  RESULT_NOT_READY: 'input 409',
  SAMPLING_ABORTED: 'input 409',
  SCHEDULER_NOISE_REQUIRED: 'server 500',
  SCHEDULER_NOT_READY: 'server 500',
  SCHEDULER_TIMESTEP_MISMATCH: 'server 500',
  SCHEDULER_TIMESTEP_UNKNOWN: 'server 500',
  SEEDS_REQUIRED: 'server 500',
  SPACE_MISMATCH: 'input 409',
  STORAGE_FAILURE: 'server 500',
  TENSOR_SIZE_MISMATCH: 'server 500',
  TEXT_INVALID: 'input 422',
  TIMESTEP_NOT_INTEGER: 'input 422',
  TOKENIZER_INVALID_FILES: 'server 500',
  TOO_MANY_CONNECTIONS: 'input 429',
  UNAUTHORIZED: 'input 401',
  UNEXPECTED_FILE: 'input 400',
  UNSUPPORTED_CONTENT_TYPE: 'input 415',
  UNSUPPORTED_MODALITY: 'input 400',
  UNSUPPORTED_OPTION: 'input 422',
  UPLOADS_BUSY: 'input 503',
  UPLOAD_MISSING: 'server 500',
  UPLOAD_TOO_LARGE: 'input 413',
  UPLOAD_TOO_SLOW: 'input 408',
  VIDEO_INVALID: 'input 422',
  VIDEO_NEEDS_AUDIO: 'input 400',
  VIDEO_TOO_LARGE: 'input 422',
  VIDEO_TOO_LONG: 'input 422',
  WEBHOOKS_DISABLED: 'input 400',
  WEBHOOK_INVALID: 'input 400',
  WEBHOOK_NOT_ALLOWED: 'input 422',
  WORKER_LOST: 'server 503',
};

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Every .ts file in the src folder of each package and app. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'node_modules') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.ts')) files.push(path);
    }
  };
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const src = join(ROOT, group, name, 'src');
      if (statSync(join(ROOT, group, name)).isDirectory() && readdirSync(join(ROOT, group, name)).includes('src')) walk(src);
    }
  }
  return files;
}

const CODE = "'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'";
/** With an underscore, so `format(x, 'FLAC')` is not read as a code. */
const SNAKE_CODE = "'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'";

/**
 * The code literals a source file uses: the first argument of `new XxxError(...)` (a ternary
 * of codes included), `code: 'X'`, `ERROR_CODES.X`, an UPPER_SNAKE literal passed last
 * (a guard's code: `..., 'X_Y')`), and every literal of a file named *error.ts (the code
 * unions and lists). The registry itself (protocol/src/errors.ts) is not scanned.
 */
function codesUsedIn(text: string, isErrorFile: boolean): string[] {
  const found: string[] = [];
  for (const [, firstArgument] of text.matchAll(/new \w*Error\(\s*([^,)]*)/g)) {
    for (const [, code] of firstArgument!.matchAll(new RegExp(CODE, 'g'))) found.push(code!);
  }
  for (const [, code] of text.matchAll(new RegExp(`\\bcode: ${CODE}`, 'g'))) found.push(code!);
  for (const [, code] of text.matchAll(/\bERROR_CODES\.([A-Z][A-Z0-9_]*)/g)) found.push(code!);
  for (const [, code] of text.matchAll(new RegExp(`, ${SNAKE_CODE}\\)`, 'g'))) found.push(code!);
  if (isErrorFile) for (const [, code] of text.matchAll(new RegExp(CODE, 'g'))) found.push(code!);
  return found;
}

describe('the error registry', () => {
  it('lists every code once, with the fault and status the table above gives it', () => {
    const registry = Object.fromEntries(Object.entries(ERROR_REGISTRY).map(([code, { fault, status }]) => [code, `${fault} ${status}`]));
    expect(registry).toEqual(EVERY_CODE);
    expect([...ALL_ERROR_CODES].sort()).toEqual(Object.keys(EVERY_CODE));
    expect(new Set(ALL_ERROR_CODES).size).toBe(ALL_ERROR_CODES.length);
  });

  it('has UPPER_SNAKE codes, ERROR_CODES naming each, and statuses that fit the fault', () => {
    for (const code of ALL_ERROR_CODES) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(ERROR_CODES[code]).toBe(code);
      const { fault, status } = ERROR_REGISTRY[code];
      if (fault === 'input') expect(status === 503 || status === 504 || (status >= 400 && status < 500), `${code} ${status}`).toBe(true);
      else expect([500, 503], code).toContain(status);
    }
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...ALL_ERROR_CODES].sort());
  });

  it('has one code per condition: the merged and split names are gone', () => {
    expect(isErrorCode('EMBEDDING_DIM_MISMATCH')).toBe(false);
    expect(ERROR_REGISTRY.EMBEDDING_DIMENSION_MISMATCH.fault).toBe('input');
    expect(ERROR_REGISTRY.NON_FINITE_VALUE.fault).toBe('input');
    expect(ERROR_REGISTRY.ENCODER_OUTPUT_NON_FINITE.fault).toBe('server');
    for (const code of ['ENCODER_OUTPUT_MISMATCH', 'MODEL_SIGNATURE_MISMATCH', 'MODEL_OUTPUT_INVALID', 'INVALID_MANIFEST', 'ENCODER_LOAD_FAILED', 'WORKER_LOST', 'INTERNAL'] as const) {
      expect(ERROR_REGISTRY[code].fault, code).toBe('server');
    }
  });

  it('holds every code the sources throw (packages/<name>/src, apps/<name>/src)', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const file of files) {
      if (file.endsWith(join('protocol', 'src', 'errors.ts'))) continue;
      const isErrorFile = /error\.ts$/.test(file);
      for (const code of codesUsedIn(readFileSync(file, 'utf8'), isErrorFile)) {
        used.add(code);
        if (!isErrorCode(code)) unknown.push(`${relative(ROOT, file)}: ${code}`);
      }
    }
    expect(unknown).toEqual([]);
    // the scan does see the codes (a broken pattern would pass the check above vacuously)
    for (const code of ['MEDIA_EMPTY', 'ENCODER_OUTPUT_NON_FINITE', 'TENSOR_SIZE_MISMATCH', 'PACK_NO_DECODER', 'QUEUE_FULL', 'UNSUPPORTED_OPTION']) expect(used, code).toContain(code);
  });
});

describe('CodedError', () => {
  it('takes its fault and status from the registry by code', () => {
    const input = new CodedError('MEDIA_EMPTY', 'The audio file is empty');
    expect(input).toMatchObject({ code: 'MEDIA_EMPTY', fault: 'input', httpStatus: 422, message: 'The audio file is empty' });
    expect(isCodedError(input)).toBe(true);
    expect(isInputFault(input)).toBe(true);
    const server = new CodedError('ENCODER_OUTPUT_MISMATCH', 'Expected [1, 1024]');
    expect(server).toMatchObject({ fault: 'server', httpStatus: 500 });
    expect(isInputFault(server)).toBe(false);
    expect(() => new CodedError('NO_SUCH_CODE' as never, 'x')).toThrow(/registered error code/);
  });

  it('treats anything else as a server fault without a code of its own', () => {
    const system = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(isCodedError(system)).toBe(false);
    expect(codeOf(system)).toBe('INTERNAL');
    // a claimed fault that is not the registry's is not the contract
    expect(isCodedError(Object.assign(new Error('x'), { code: 'ENCODER_OUTPUT_MISMATCH', fault: 'input' }))).toBe(false);
    expect(codeOf('a string')).toBe('INTERNAL');
  });

  it('writes and reads the failure reason of a job', () => {
    const reason = jobFailureReason('AUDIO_TOO_LONG', 'Expected at most 60 s: 61 s');
    expect(parseJobFailureReason(reason)).toEqual({ code: 'AUDIO_TOO_LONG', message: 'Expected at most 60 s: 61 s' });
    expect(parseJobFailureReason('job stalled more than allowable limit')).toBeNull();
    expect(parseJobFailureReason('NOT_A_CODE: text')).toBeNull();
    expect(serverFaultMessage('generate the images', 'INTERNAL')).toBe('The server failed to generate the images (INTERNAL); the details are in the server log');
  });
});
