import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { infotextOf, pngTextOf, type RequestEcho } from '@a2i/protocol';
import { encodeImage, readPngText, withPngText } from '../src/index.js';

const ECHO: RequestEcho = {
  pack: 'demo',
  inputs: [
    { modality: 'audio', weight: 1, file: { part: 'sound', bytes: 17640, format: 'wav' } },
    { modality: 'text', weight: 0.5, text: 'rain, at night' },
  ],
  prompt: '',
  seed: 41,
  steps: 12,
  guidance: 4.5,
  scheduler: 'ddim',
  prior: 'on',
  noiseLevel: 0,
  numImages: 2,
  format: 'png',
  priority: 'normal',
};

async function png(): Promise<Buffer> {
  return encodeImage(new Uint8Array(8 * 6 * 3).fill(90), 8, 6, 'png');
}

describe('PNG text chunks', () => {
  it('sharp reads back the tEXt chunks inserted after IHDR, and the pixels are unchanged', async () => {
    const plain = await png();
    const texted = withPngText(plain, [
      { keyword: 'parameters', text: 'a cat\nSteps: 3, Seed: 9' },
      { keyword: 'Comment', text: 'plain' },
    ]);
    expect(texted.toString('latin1', 37, 41)).toBe('tEXt');
    const meta = await sharp(texted).metadata();
    expect(meta.comments).toEqual([
      { keyword: 'parameters', text: 'a cat\nSteps: 3, Seed: 9' },
      { keyword: 'Comment', text: 'plain' },
    ]);
    expect(await sharp(texted).raw().toBuffer()).toEqual(await sharp(plain).raw().toBuffer());
  });

  it('writes text beyond ASCII as UTF-8 iTXt, which sharp and readPngText both read', async () => {
    const text = 'caf\u00e9 \u96e8\u306e\u97f3 \u{1f327}';
    const texted = withPngText(await png(), [{ keyword: 'parameters', text }]);
    expect(texted.toString('latin1', 37, 41)).toBe('iTXt');
    expect(readPngText(texted)).toEqual([{ keyword: 'parameters', text }]);
    expect((await sharp(texted).metadata()).comments).toEqual([{ keyword: 'parameters', text }]);
  });

  it('refuses a keyword the PNG specification does not allow, and bytes that are not a PNG', async () => {
    expect(() => withPngText(Buffer.from('not a png at all, just some text here'), [{ keyword: 'a', text: 'b' }])).toThrow(/PNG/);
    await expect(png().then((bytes) => withPngText(bytes, [{ keyword: ' lead', text: 'x' }]))).rejects.toThrow(/keyword/);
    await expect(png().then((bytes) => withPngText(bytes, [{ keyword: 'k'.repeat(80), text: 'x' }]))).rejects.toThrow(/keyword/);
  });
});

describe('infotext (AUTOMATIC1111 parameters)', () => {
  it('puts the inputs first when there is no prompt, then one Key: value line with this image\'s seed and size', () => {
    const text = infotextOf(ECHO, { seed: 42, width: 64, height: 48 });
    const [first, line, ...rest] = text.split('\n');
    expect(rest).toEqual([]);
    expect(first).toBe('audio sound (wav, 17640 B) x1 + text "rain, at night" x0.5');
    expect(line).toBe(
      'Steps: 12, Sampler: ddim, CFG scale: 4.5, Seed: 42, Size: 64x48, Model: demo, Noise level: 0, Prior: on, Inputs: "audio sound (wav, 17640 B) x1 + text \\"rain, at night\\" x0.5"',
    );
  });

  it('puts the prompt first when there is one; the a2i chunk is the echo as ASCII JSON with the image\'s seed', () => {
    const echo = { ...ECHO, prompt: 'p\u00e9ch\u00e9 \u96e8' };
    const [parameters, a2i] = pngTextOf(echo, { seed: 43, width: 64, height: 64 });
    expect(parameters!.text.split('\n')[0]).toBe('p\u00e9ch\u00e9 \u96e8');
    expect(a2i!.keyword).toBe('a2i');
    expect(/^[\x20-\x7e]*$/.test(a2i!.text)).toBe(true);
    expect(JSON.parse(a2i!.text)).toEqual({ ...echo, seed: 43 });
  });
});
