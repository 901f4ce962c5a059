import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Deletes what has outlived its time: result folders (`<resultsDir>/<jobId>`) older than the
 * result TTL, and upload folders left behind (a worker that died mid-job) older than the job
 * state TTL. Age is the folder's modification time.
 */
export async function sweepExpired(dir: string, ttlMs: number, now: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (!info || now - info.mtimeMs <= ttlMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export interface SweeperOptions {
  targets: Array<{ dir: string; ttlMs: number }>;
  intervalMs: number;
  onSwept?: (dir: string, removed: string[]) => void;
  onError?: (error: unknown) => void;
}

/** Runs `sweepExpired` on each target every `intervalMs`; returns a stop function. */
export function startSweeper(options: SweeperOptions): () => void {
  const sweep = async () => {
    for (const target of options.targets) {
      try {
        const removed = await sweepExpired(target.dir, target.ttlMs, Date.now());
        if (removed.length > 0) options.onSwept?.(target.dir, removed);
      } catch (error) {
        options.onError?.(error);
      }
    }
  };
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
