import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '@a2i/storage';
import { sweepExpired } from '../src/index.js';

describe('sweepExpired', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2i-sweep-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes result folders older than the TTL and keeps the others', async () => {
    const now = Date.now();
    for (const [name, ageMs] of [
      ['old', 7_200_000],
      ['fresh', 60_000],
    ] as const) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, '0.png'), 'x');
      const time = new Date(now - ageMs);
      await utimes(join(dir, name), time, time);
    }
    expect(await sweepExpired(new FileStore(dir), 3_600_000, now)).toEqual(['old']);
    expect(await readdir(dir)).toEqual(['fresh']);
  });

  it('treats a missing folder as empty', async () => {
    expect(await sweepExpired(new FileStore(join(dir, 'nope')), 1, Date.now())).toEqual([]);
  });
});
