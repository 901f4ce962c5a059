import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPack, graphSignatures, loadPack, type PackReport } from '../src/index.js';
import { tinyPackCopy, type Json } from './tiny-pack.js';

// A top-level `promptEncoder` (models/README.md): the decoder's own text model, as Stable
// unCLIP's SD 2.1 text model is in a real pack. The tiny pack's text graph stands in for it
// (input_ids int64 [-1, 77] -> last_hidden_state [-1, 77, 8]), copied to its own file.

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const PROMPT_FILE = 'prompt_encoder/text_encoder.onnx';

/** The tiny pack with its decoder reading prompts from a promptEncoder, then `edit`. */
function withPromptEncoder(edit: (manifest: Json, dir: string) => void = () => {}): string {
  const { dir, cleanup } = tinyPackCopy((m, folder) => {
    mkdirSync(join(folder, 'prompt_encoder'), { recursive: true });
    copyFileSync(join(folder, 'encoders/text.onnx'), join(folder, PROMPT_FILE));
    m.files[PROMPT_FILE] = createHash('sha256').update(readFileSync(join(folder, PROMPT_FILE))).digest('hex');
    const text = m.encoders.text;
    m.promptEncoder = structuredClone({ file: PROMPT_FILE, input: text.input, preprocess: text.preprocess, hiddenStates: text.hiddenStates });
    delete text.hiddenStates; // the prompt's states can only come from the promptEncoder now
    m.decoder.promptConditioning.encoder = 'promptEncoder';
    edit(m, folder);
  });
  cleanups.push(cleanup);
  return dir;
}

const where = (report: PackReport) => report.problems.map((p) => p.where);

describe('promptEncoder', () => {
  it('passes a pack whose decoder reads its prompt from the promptEncoder, whose graph is opened and compared', async () => {
    const dir = withPromptEncoder();
    const report = await checkPack(dir);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // the tiny pack's 9 graphs (check-pack.test.ts) + the prompt encoder; 11 files + 1
    expect(report.checked).toEqual({ files: 12, checksums: true, sessions: 10 });
    const pack = await loadPack(dir);
    expect(pack.files.map((f) => f.where)).toContain('promptEncoder.file');
    expect(pack.files.filter((f) => f.where.startsWith('promptEncoder.preprocess.tokenizer.')).map((f) => f.path)).toEqual(['tokenizer/vocab.json', 'tokenizer/merges.txt']);
    const signature = graphSignatures(pack.manifest).find((s) => s.part === 'promptEncoder');
    expect(signature).toEqual({
      part: 'promptEncoder',
      file: PROMPT_FILE,
      inputs: [{ name: 'input_ids', where: 'promptEncoder.input.name', shape: [-1, 77], dtypes: ['int64'] }],
      outputs: [{ name: 'last_hidden_state', where: 'promptEncoder.hiddenStates.name', shape: [-1, 77, 8], dtypes: ['float32'] }],
    });
  });

  it('refuses a promptConditioning.encoder that names nothing, saying what it could name', async () => {
    const none = await checkPack(withPromptEncoder((m) => delete m.promptEncoder));
    expect(none.ok).toBe(false);
    expect(none.problems).toContainEqual({
      code: 'PACK_TENSOR_MISMATCH',
      where: 'decoder.promptConditioning.encoder',
      message: 'decoder.promptConditioning.encoder is "promptEncoder" but this pack has no promptEncoder entry (it can name "promptEncoder", the top-level entry, or an encoder declaring hiddenStates; this pack has neither)',
    });
    const typo = await checkPack(withPromptEncoder((m) => (m.decoder.promptConditioning.encoder = 'prompt')));
    expect(typo.problems).toContainEqual({
      code: 'PACK_TENSOR_MISMATCH',
      where: 'decoder.promptConditioning.encoder',
      message: 'decoder.promptConditioning.encoder is "prompt" but this pack has no encoder of that name (it can name "promptEncoder", the top-level entry, or an encoder declaring hiddenStates; this pack has "promptEncoder")',
    });
  });

  it('still accepts an encoders key that declares hiddenStates (the demo pack\'s "text")', async () => {
    const report = await checkPack(withPromptEncoder((m) => {
      m.encoders.text.hiddenStates = m.promptEncoder.hiddenStates;
      m.decoder.promptConditioning.encoder = 'text';
    }));
    expect(report.problems).toEqual([]);
  });

  it('refuses hidden states of another width than promptConditioning.shape, and a renamed graph output', async () => {
    const wide = await checkPack(withPromptEncoder((m) => (m.promptEncoder.hiddenStates.shape = [-1, 77, 16])));
    expect(wide.problems).toContainEqual({
      code: 'PACK_TENSOR_MISMATCH',
      where: 'decoder.promptConditioning.shape',
      message: 'decoder.promptConditioning.shape is [77, 8] but promptEncoder.hiddenStates.shape is [-1, 77, 16]',
    });
    // the graph outputs [-1, 77, 8]: the session check says so too
    expect(wide.problems.some((p) => p.where === 'promptEncoder.hiddenStates.name' && p.message.includes('[-1, 77, 16]'))).toBe(true);

    const renamed = await checkPack(withPromptEncoder((m) => {
      m.promptEncoder.hiddenStates.name = 'hidden';
      m.decoder.promptConditioning.output = 'hidden';
    }));
    expect(renamed.problems).toEqual([{
      code: 'PACK_TENSOR_MISMATCH',
      where: 'promptEncoder.hiddenStates.name',
      message: `promptEncoder.hiddenStates.name is "hidden" but ${PROMPT_FILE} has no output of that name (its outputs: "embedding", "last_hidden_state")`,
    }]);
  });

  it('refuses a promptEncoder input that its tokenizer cannot fill, and a missing promptEncoder file', async () => {
    const short = await checkPack(withPromptEncoder((m) => (m.promptEncoder.preprocess.tokenizer = { ...m.promptEncoder.preprocess.tokenizer, contextLength: 64 })), { openSessions: false });
    expect(short.problems).toEqual([{
      code: 'PACK_TENSOR_MISMATCH',
      where: 'promptEncoder.input.shape',
      message: 'promptEncoder.input.shape is [-1, 77] but its text preprocess makes [-1, 64]',
    }]);
    const missing = await checkPack(withPromptEncoder((_m, dir) => rmSync(join(dir, PROMPT_FILE))));
    expect(where(missing)).toEqual([PROMPT_FILE]);
    expect(missing.problems[0]!.code).toBe('PACK_FILE_MISSING');
    expect(missing.problems[0]!.message).toContain('named by promptEncoder.file');
  });

  it('validates the entry\'s fields by name', async () => {
    const report = await checkPack(withPromptEncoder((m) => delete m.promptEncoder.hiddenStates));
    expect(report.ok).toBe(false);
    expect(where(report)).toContain('promptEncoder.hiddenStates');
  });
});
