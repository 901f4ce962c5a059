import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * How long an upload folder no job owns is left alone. The api creates the folder before its
 * job exists (the request phase: the body streams in, then it is validated and enqueued), so
 * a folder with no job may be a request still arriving: this must outlast any request. Node's
 * http server ends a request that takes more than 300 s to arrive (server.requestTimeout).
 */
export const UPLOAD_GRACE_MS = 15 * 60_000;

/**
 * Deletes what has outlived its time: entries of `dir` (`<dir>/<jobId>`) older than `ttlMs`,
 * except those `isOwned` claims. Results: every folder older than the result TTL. Uploads:
 * folders left behind (a process died between the job's end and their removal) older than
 * UPLOAD_GRACE_MS whose job is finished or unknown, never one of a job that waits or runs
 * (`isOwned` = upload-cleanup.ts liveJobOwns). Age is the folder's modification time.
 */
export async function sweepExpired(dir: string, ttlMs: number, now: number, isOwned?: (name: string) => Promise<boolean>): Promise<string[]> {
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
    if (isOwned && (await isOwned(name))) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export interface SweeperOptions {
  targets: Array<{ dir: string; ttlMs: number; isOwned?: (name: string) => Promise<boolean> }>;
  intervalMs: number;
  onSwept?: (dir: string, removed: string[]) => void;
  onError?: (error: unknown) => void;
}

/** Runs `sweepExpired` on each target every `intervalMs`; returns a stop function. */
export function startSweeper(options: SweeperOptions): () => void {
  const sweep = async () => {
    for (const target of options.targets) {
      try {
        const removed = await sweepExpired(target.dir, target.ttlMs, Date.now(), target.isOwned);
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
