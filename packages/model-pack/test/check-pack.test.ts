import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkPack, compareSignature, graphSignatures, isPackError, loadPack, PackError, type GraphSignature, type PackReport, type SessionLike } from '../src/index.js';
import { TINY_PACK, tinyPackCopy, type Json } from './tiny-pack.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A tiny-pack copy with `edit` applied, checked. */
async function checkEdited(edit: (manifest: Json, dir: string) => void, options = {}): Promise<PackReport> {
  const { dir, cleanup } = tinyPackCopy(edit);
  cleanups.push(cleanup);
  return checkPack(dir, options);
}

const codes = (report: PackReport) => report.problems.map((p) => p.code);

describe('checkPack', () => {
  it('passes the tiny pack: every file hashed, every ONNX graph opened and compared', async () => {
    const report = await checkPack(TINY_PACK);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toEqual({ files: 11, checksums: true, sessions: 9 });
    expect(report.manifest?.name).toBe('tiny');
  });

  it('refuses a missing file with PACK_FILE_MISSING naming the file and the field', async () => {
    const report = await checkEdited((_m, dir) => rmSync(join(dir, 'encoders/audio.onnx')));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { code: 'PACK_FILE_MISSING', where: 'encoders/audio.onnx', message: expect.stringContaining('encoders/audio.onnx (named by encoders.audio.file) is not in the pack folder') },
    ]);
  });

  it('refuses a file whose sha256 differs with PACK_CHECKSUM_MISMATCH, and skips hashing when asked', async () => {
    const edit = (_m: Json, dir: string) => writeFileSync(join(dir, 'tokenizer/merges.txt'), '#version: 0.2\nt h\n');
    const report = await checkEdited(edit);
    expect(codes(report)).toEqual(['PACK_CHECKSUM_MISMATCH']);
    expect(report.problems[0]!.where).toBe('tokenizer/merges.txt');
    expect(report.problems[0]!.message).toMatch(/tokenizer\/merges\.txt has sha256 [0-9a-f]{64} but the manifest's files says [0-9a-f]{64}/);
    expect((await checkEdited(edit, { verifyChecksums: false })).ok).toBe(true);
  });

  it('refuses a renamed ONNX input (the manifest says "mel", the graph has "fbank") with PACK_TENSOR_MISMATCH', async () => {
    const report = await checkEdited((m) => {
      m.encoders.audio.input.name = 'mel';
    });
    expect(new Set(codes(report))).toEqual(new Set(['PACK_TENSOR_MISMATCH']));
    const named = report.problems.find((p) => p.where === 'encoders.audio.input.name');
    expect(named?.message).toBe('encoders.audio.input.name is "mel" but encoders/audio.onnx has no input of that name (its inputs: "fbank")');
    // and the graph's own input would never be fed
    expect(report.problems.some((p) => p.where === 'encoders.audio' && p.message.includes('"fbank"'))).toBe(true);
    // without sessions the graph is not read, so the rename goes unseen
    expect((await checkEdited((m) => (m.encoders.audio.input.name = 'mel'), { openSessions: false })).ok).toBe(true);
  });

  it('refuses a 16-d decoder behind 8-d encoders with PACK_SPACE_MISMATCH (as 768-d behind 1024-d)', async () => {
    const report = await checkEdited((m) => {
      const aug = m.decoder.noiseAugmentation;
      aug.mean = [...aug.mean, ...aug.mean];
      aug.std = [...aug.std, ...aug.std];
      aug.timestepEmbedding.dim = 16;
    });
    expect(report.ok).toBe(false);
    const space = report.problems.filter((p) => p.code === 'PACK_SPACE_MISMATCH');
    expect(space.map((p) => p.where)).toEqual(['decoder.noiseAugmentation.mean', 'decoder.noiseAugmentation.std', 'decoder.noiseAugmentation.timestepEmbedding.dim']);
    expect(space[0]!.message).toBe(`The decoder's noise augmentation (decoder.noiseAugmentation.mean) is 16-d but its space "imagebind" (the encoders' embeddings) is 8-d`);
  });

  it('refuses encoders whose output width is not their space dim, and a graph that outputs another width', async () => {
    const report = await checkEdited((m) => {
      m.spaces.imagebind.dim = 16;
    });
    const where = report.problems.filter((p) => p.code === 'PACK_SPACE_MISMATCH').map((p) => p.where);
    expect(where).toContain('encoders.vision.output.shape');
    expect(where).toContain('decoder.noiseAugmentation.mean');
    // manifest says 16, the ONNX graph outputs 8: caught by the session check
    const graph = await checkEdited((m) => {
      m.spaces.imagebind.dim = 16;
      m.encoders.imu.output.shape = [-1, 16];
    });
    expect(graph.problems).toContainEqual({
      code: 'PACK_TENSOR_MISMATCH',
      where: 'encoders.imu.output.name',
      message: 'output "embedding" of encoders/imu.onnx has shape [batch, 8] but the manifest (encoders.imu) says [-1, 16]',
    });
  });

  it('refuses a prior whose space is not the decoder\'s', async () => {
    const report = await checkEdited((m) => {
      m.spaces.small = { dim: 4 };
      m.prior.space = 'small';
    });
    expect(report.problems.filter((p) => p.code === 'PACK_SPACE_MISMATCH').map((p) => p.where)).toEqual(['prior.space', 'prior.normalizer.mean', 'prior.normalizer.std']);
  });

  it('names an unknown format, a missing manifest, bad JSON and invalid fields', async () => {
    expect((await checkEdited((m) => (m.format = 'imagebind-unclip-pack/2'))).problems).toEqual([
      { code: 'PACK_FORMAT_UNKNOWN', where: 'format', message: 'Expected format "imagebind-unclip-pack/1" but received "imagebind-unclip-pack/2"' },
    ]);
    const noManifest = tinyPackCopy();
    cleanups.push(noManifest.cleanup);
    rmSync(join(noManifest.dir, 'manifest.json'));
    expect((await checkPack(noManifest.dir)).problems).toEqual([
      { code: 'PACK_MANIFEST_MISSING', where: 'manifest.json', message: `No manifest.json in ${noManifest.dir}: is this a model pack folder?` },
    ]);
    const invalid = await checkEdited((m) => {
      m.encoders.audio.file = '../audio.onnx';
      delete m.decoder.vae.scalingFactor;
    });
    expect(codes(invalid)).toEqual(['PACK_MANIFEST_INVALID', 'PACK_MANIFEST_INVALID']);
    expect(invalid.problems.map((p) => p.where).sort()).toEqual(['decoder.vae.scalingFactor', 'encoders.audio.file']);
    expect(invalid.problems.find((p) => p.where === 'encoders.audio.file')!.message).toContain('relative to the pack folder');
  });

  it('accepts an encoders-only pack (no decoder, no prior): it embeds, and opens only the encoder graphs', async () => {
    const report = await checkEdited((m) => {
      delete m.decoder;
      m.prior = null;
      delete m.defaults;
      delete m.files['decoder/unet.onnx'];
      delete m.files['decoder/vae_decoder.onnx'];
      delete m.files['prior/prior.onnx'];
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.manifest?.decoder).toBeUndefined();
  });

  it('accepts a conditioning section (export_imagebind.py) in place of decoder.embeddingNorm, and refuses both or a bad norm', async () => {
    const section = { norm: 18.25, measurement: { photos: ['bird_image.jpg', 'car_image.jpg'], min: 17.5, max: 19 } };
    const good = await checkEdited((m) => {
      m.conditioning = section;
      delete m.decoder.embeddingNorm;
    });
    expect(good.problems).toEqual([]);
    expect(good.manifest?.conditioning).toEqual(section);
    const both = await checkEdited((m) => (m.conditioning = section));
    expect(both.problems).toEqual([
      { code: 'PACK_MANIFEST_INVALID', where: 'decoder.embeddingNorm', message: expect.stringContaining('Expected no decoder.embeddingNorm in a pack with a conditioning section') },
    ]);
    for (const norm of [0, -1, '18', null]) {
      const bad = await checkEdited((m) => {
        m.conditioning = { norm };
        delete m.decoder.embeddingNorm;
      });
      expect(bad.problems.map((p) => [p.code, p.where])).toEqual([['PACK_MANIFEST_INVALID', 'conditioning.norm']]);
    }
  });

  it('refuses a file named by a section but absent from files (PACK_FILE_UNLISTED)', async () => {
    const report = await checkEdited((m) => delete m.files['prior/prior.onnx']);
    expect(report.problems).toEqual([{ code: 'PACK_FILE_UNLISTED', where: 'prior.file', message: 'prior/prior.onnx (named by prior.file) has no sha256 in the manifest\'s files' }]);
  });
});

describe('loadPack', () => {
  it('returns the typed manifest, absolute paths and resolved settings', async () => {
    const pack = await loadPack(TINY_PACK);
    expect(pack.dir).toBe(TINY_PACK);
    expect(pack.resolve('encoders/audio.onnx')).toBe(join(TINY_PACK, 'encoders/audio.onnx'));
    expect(pack.files.map((f) => f.where)).toContain('encoders.text.preprocess.tokenizer.vocab');
    expect(pack.files.find((f) => f.where === 'decoder.unet.file')?.absolute).toBe(join(TINY_PACK, 'decoder/unet.onnx'));
    expect(pack.settings).toEqual({
      decoder: { scheduler: 'ddim', steps: 4, guidanceScale: 3, noiseLevel: 0 },
      prior: { scheduler: 'ddim', steps: 5, guidanceScale: 2, defaultFor: ['text', 'audio', 'depth', 'thermal', 'imu'] },
      priorMode: 'auto',
      limits: { maxSteps: 50, maxImages: 4 },
      maxNoiseLevel: 999,
    });
  });

  it('throws a PackError carrying every problem', async () => {
    const { dir, cleanup } = tinyPackCopy((m) => {
      m.format = 'other';
    });
    cleanups.push(cleanup);
    const error = await loadPack(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackError);
    expect(isPackError(error, 'PACK_FORMAT_UNKNOWN')).toBe(true);
    expect((error as PackError).code).toBe('PACK_FORMAT_UNKNOWN');
    expect((error as PackError).fault).toBe('server');
    const missingDefaults = tinyPackCopy((m) => {
      delete m.defaults;
      delete m.decoder.defaults.steps;
    });
    cleanups.push(missingDefaults.cleanup);
    await expect(loadPack(missingDefaults.dir)).rejects.toThrow('Expected decoder.defaults.steps (or defaults.steps) but received nothing');
  });
});

describe('compareSignature', () => {
  let audio: GraphSignature | undefined;
  beforeAll(async () => {
    audio = graphSignatures((await loadPack(TINY_PACK)).manifest).find((s) => s.part === 'encoders.audio');
  });
  const session = (shape: Array<number | string>, type = 'float32'): SessionLike => ({
    inputNames: ['fbank'],
    outputNames: ['embedding'],
    inputMetadata: [{ name: 'fbank', isTensor: true, type, shape }],
    outputMetadata: [{ name: 'embedding', isTensor: true, type: 'float32', shape: ['n', 8] }],
  });
  it('lets symbolic dimensions match anything and checks fixed ones and the element type', () => {
    expect(compareSignature(session(['n', 1, 128, 204]), audio!)).toEqual([]);
    expect(compareSignature(session(['n', 1, 'mel', 'frames']), audio!)).toEqual([]);
    expect(compareSignature(session(['n', 1, 64, 204]), audio!)[0]!.message).toBe(
      'input "fbank" of encoders/audio.onnx has shape [n, 1, 64, 204] but the manifest (encoders.audio) says [-1, 1, 128, 204]',
    );
    expect(compareSignature(session(['n', 128, 204]), audio!)).toHaveLength(1);
    expect(compareSignature(session(['n', 1, 128, 204], 'float16'), audio!)[0]!.message).toContain('is float16 but encoders.audio needs float32');
  });
});

describe('check-cli', () => {
  const cli = fileURLToPath(new URL('../src/check-cli.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(tsx, [cli, ...args]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
  it('prints OK and exits 0 for a good pack, lists the problems and exits 1 for a bad one', async () => {
    const good = await run([TINY_PACK]);
    expect(good).toEqual({ code: 0, stdout: expect.stringMatching(/^OK: model pack "tiny" at .*tiny-pack \(11 file\(s\) with checksums, 9 ONNX session\(s\) checked\)\n$/) });
    const { dir, cleanup } = tinyPackCopy((m) => (m.encoders.audio.input.name = 'mel'));
    cleanups.push(cleanup);
    const bad = await run(['--no-checksums', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('FAILED: model pack "tiny"');
    expect(bad.stdout).toContain('PACK_TENSOR_MISMATCH  encoders.audio.input.name: encoders.audio.input.name is "mel"');
    expect((await run([])).code).toBe(2);
  });
});
