import type { ObjectStore } from '@a2i/storage';

/**
 * How long an upload folder no job owns is left alone. The api creates the folder before its
 * job exists (the request phase: the body streams in, then it is validated and enqueued), so
 * a folder with no job may be a request still arriving: this must outlast any request. Node's
 * http server ends a request that takes more than 300 s to arrive (server.requestTimeout).
 */
export const UPLOAD_GRACE_MS = 15 * 60_000;

/**
 * Deletes what has outlived its time: top-level entries of `store` (`<jobId>/...`) older than
 * `ttlMs`, except those `isOwned` claims. Results: every job's folder older than the result TTL
 * (in object storage as in a directory: a bucket needs no lifecycle rule for the TTL to hold).
 * Uploads: folders left behind (a process died between the job's end and their removal) older
 * than UPLOAD_GRACE_MS whose job is finished or unknown, never one of a job that waits or runs
 * (`isOwned` = upload-cleanup.ts liveJobOwns). Age is a folder's modification time in a
 * directory, the newest object's LastModified under it in object storage.
 */
export async function sweepExpired(store: ObjectStore, ttlMs: number, now: number, isOwned?: (name: string) => Promise<boolean>): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await store.topLevel()) {
    if (now - entry.modifiedMs <= ttlMs) continue;
    if (isOwned && (await isOwned(entry.name))) continue;
    await deleteEntry(store, entry.name);
    removed.push(entry.name);
  }
  return removed;
}

/** A top-level entry: a folder (`<name>/...`), or an object of that name. */
async function deleteEntry(store: ObjectStore, name: string): Promise<void> {
  await store.deletePrefix(`${name}/`);
  await store.delete(name);
}

export interface SweeperOptions {
  targets: Array<{ store: ObjectStore; ttlMs: number; isOwned?: (name: string) => Promise<boolean> }>;
  intervalMs: number;
  /** `root`: the store's directory or s3://bucket/prefix/. */
  onSwept?: (root: string, removed: string[]) => void;
  onError?: (error: unknown) => void;
}

/** Runs `sweepExpired` on each target every `intervalMs`; returns a stop function. */
export function startSweeper(options: SweeperOptions): () => void {
  const sweep = async () => {
    for (const target of options.targets) {
      try {
        const removed = await sweepExpired(target.store, target.ttlMs, Date.now(), target.isOwned);
        if (removed.length > 0) options.onSwept?.(target.store.root, removed);
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
