import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes the bytes to a private temporary file (mode 0600 in a fresh 0700 directory) for a
 * tool that needs to seek (an MP4 whose index is at the end cannot be read from a pipe), and
 * removes it afterwards whatever happens.
 */
export async function withTempFile<T>(bytes: Uint8Array, run: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'a2i-media-'));
  try {
    const path = join(dir, 'input');
    await writeFile(path, bytes, { mode: 0o600 });
    return await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
