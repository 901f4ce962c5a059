import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinaries } from '../../src/ffmpeg/binaries.js';

const run = promisify(execFile);

/**
 * Encodes test fixtures with the ffmpeg the decoders run (the system's), in a temp dir:
 * `inputs` are written as in0, in1, ... (referred to as {in0} in args), the output is {out}.
 */
export async function ffmpegEncode(args: string[], outName: string, inputs: Uint8Array[] = []): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'a2i-media-test-'));
  try {
    const paths = await Promise.all(inputs.map(async (bytes, i) => {
      const p = join(dir, `in${i}`);
      await writeFile(p, bytes);
      return p;
    }));
    const out = join(dir, outName);
    const resolved = args.map((a) => a.replace(/\{in(\d+)\}/g, (_, i: string) => paths[Number(i)]!).replace('{out}', out));
    await run(ffmpegBinaries().ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...resolved], { maxBuffer: 64 * 1024 * 1024 });
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Catches the MediaError code of a promise or function (undefined if it did not throw one). */
export async function errorCode(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return (error as { code?: string }).code ?? `not a MediaError: ${String(error)}`;
  }
  return undefined;
}

/** Signal-to-noise ratio of `x` against `reference` in dB, at lag 0, over the common length. */
export function snrDb(reference: ArrayLike<number>, x: ArrayLike<number>, skip = 0): number {
  const n = Math.min(reference.length, x.length);
  let signal = 0;
  let noise = 0;
  for (let i = skip; i < n - skip; i++) {
    signal += reference[i]! ** 2;
    noise += (reference[i]! - x[i]!) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}
