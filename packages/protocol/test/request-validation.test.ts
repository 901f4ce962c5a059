import { describe, expect, it } from 'vitest';
import { RequestError, generationRequestSchema, parseOrThrow, resolveGenerationRequest, type PackDescription } from '../src/index.js';

const pack: PackDescription = {
  name: 'test',
  dim: 4,
  modalities: ['audio', 'text', 'embedding'],
  imageSize: { width: 64, height: 64 },
  prior: { available: false },
  defaults: { steps: 25, guidance: 3, noiseLevel: 0 },
  limits: { maxSteps: 50, maxImages: 2, maxNoiseLevel: 999 },
};
const limits = { maxSteps: 40, maxImages: 4, maxInputs: 3, maxTextChars: 20 };
const ctx = { id: 'j', createdAt: 1, randomSeed: () => 1234 };

function resolve(body: unknown, files?: Map<string, string>) {
  const request = parseOrThrow(generationRequestSchema, body);
  return resolveGenerationRequest(request, pack, limits, { ...ctx, ...(files ? { files: { byPart: files, uploadDir: '/up/j' } } : {}) });
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    return (error as RequestError).code;
  }
  throw new Error('expected a RequestError');
}

describe('generation requests', () => {
  it('fills defaults from the pack and binds files to uploaded paths', () => {
    const job = resolve({ inputs: [{ modality: 'audio', file: 'a' }, { modality: 'text', text: 'rain', weight: 0.5 }] }, new Map([['a', '/up/j/part-0']]));
    expect(job.inputs).toEqual([
      { modality: 'audio', weight: 1, file: '/up/j/part-0' },
      { modality: 'text', weight: 0.5, text: 'rain' },
    ]);
    expect(job.options).toEqual({
      prompt: '',
      seed: 1234,
      steps: 25,
      guidance: 3,
      usePrior: false,
      noiseLevel: 0,
      numImages: 1,
      format: 'png',
      previewEvery: 5,
      priority: 'normal',
    });
    expect(job.uploadDir).toBe('/up/j');
  });

  it('applies the smaller of the server and pack limits and names the limit in the message', () => {
    expect(() => resolve({ inputs: [{ modality: 'text', text: 'x' }], steps: 45 })).toThrow('Expected steps of at most 40 but received 45');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'text', text: 'x' }], numImages: 3 }))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'text', text: 'x'.repeat(21) }] }))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => resolve({ inputs: Array(4).fill({ modality: 'text', text: 'x' }) }))).toBe('LIMIT_EXCEEDED');
  });

  it('refuses what the pack lacks', () => {
    expect(codeOf(() => resolve({ inputs: [{ modality: 'image', file: 'a' }] }, new Map([['a', '/p']])))).toBe('UNSUPPORTED_MODALITY');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'embedding', vector: [1, 2, 3] }] }))).toBe('EMBEDDING_DIMENSION_MISMATCH');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'text', text: 'x' }], prior: 'on' }))).toBe('PRIOR_UNAVAILABLE');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'text', text: 'x' }] }, new Map([['stray', '/p']])))).toBe('UNEXPECTED_FILE');
  });

  it('refuses malformed requests with the field named', () => {
    expect(() => resolve({ inputs: [{ modality: 'text', text: 'x', weight: Number.NaN }] })).toThrow(/inputs\.0\.weight/);
    expect(() => resolve({ inputs: [{ modality: 'text', text: 'x', weight: Infinity }] })).toThrow(/inputs\.0\.weight/);
    expect(codeOf(() => resolve({ inputs: [{ modality: 'sonar', text: 'x' }] }))).toBe('UNSUPPORTED_MODALITY');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'embedding', vector: [1, Number.NaN, 0, 0] }] }))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolve({ inputs: [{ modality: 'text', text: 'x' }], seed: -1 }))).toBe('INVALID_REQUEST');
  });
});

describe('scheduler and prior choice', () => {
  const withPrior: PackDescription = { ...pack, modalities: ['audio', 'text', 'image', 'embedding'], prior: { available: true, defaultFor: ['audio', 'text'] } };
  const resolveWith = (body: unknown) => resolveGenerationRequest(parseOrThrow(generationRequestSchema, body), withPrior, limits, ctx);

  it('passes a chosen scheduler on and refuses an unknown one by name', () => {
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }], scheduler: 'euler' }).options.scheduler).toBe('euler');
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }] }).options.scheduler).toBeUndefined();
    expect(() => parseOrThrow(generationRequestSchema, { inputs: [{ modality: 'text', text: 'owl' }], scheduler: 'lms' })).toThrow(RequestError);
  });

  it('prior "auto" runs the prior only when every weighted input is of a modality in defaultFor', () => {
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }] }).options.usePrior).toBe(true);
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }, { modality: 'embedding', vector: [1, 0, 0, 0] }] }).options.usePrior).toBe(false);
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }, { modality: 'embedding', vector: [1, 0, 0, 0], weight: 0 }] }).options.usePrior).toBe(true);
    expect(resolveWith({ inputs: [{ modality: 'embedding', vector: [1, 0, 0, 0] }], prior: 'on' }).options.usePrior).toBe(true);
    expect(resolveWith({ inputs: [{ modality: 'text', text: 'owl' }], prior: 'off' }).options.usePrior).toBe(false);
  });
});
