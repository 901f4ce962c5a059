import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connections.js';
import type { RedisLayout } from './redis-layout.js';

/**
 * How many generations an owner's index keeps: the newest; older ones drop out of the history
 * (not out of GET /v1/generations/:id) when a new one is added.
 */
export const HISTORY_MAX_JOBS_PER_OWNER = 1000;

/** One entry of an owner's index: a job id and when it was created (ms). */
export interface IndexedJob {
  id: string;
  createdAt: number;
}

/**
 * The generations of each API key (`<prefix>:owner-jobs:<owner>`, a sorted set by createdAt),
 * so that GET /v1/generations lists a key's jobs without scanning job hashes. Written in the
 * transaction that creates the job (JobStateStore.create). Job hashes expire on their own and
 * the index is not told: the history drops ids whose job is gone when it reads them (forget).
 * The key does not expire: there is one per configured API key, each bounded.
 */
export class OwnerJobIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly layout: RedisLayout,
  ) {}

  /** Adds the job to its owner's index inside `multi` and trims the index to its bound. */
  static add(multi: ChainableCommander, layout: RedisLayout, owner: string, job: IndexedJob): void {
    const key = layout.ownerJobsKey(owner);
    multi.zadd(key, job.createdAt, job.id).zremrangebyrank(key, 0, -(HISTORY_MAX_JOBS_PER_OWNER + 1));
  }

  /** The owner's jobs, oldest first (the history sorts them itself: apps/api/src/history-page.ts). */
  async list(owner: string): Promise<IndexedJob[]> {
    const flat = await this.redis.zrange(this.layout.ownerJobsKey(owner), '0', '-1', 'WITHSCORES');
    const jobs: IndexedJob[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) jobs.push({ id: flat[i]!, createdAt: Number(flat[i + 1]) });
    return jobs;
  }

  /** Removes jobs whose state has expired. */
  async forget(owner: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.layout.ownerJobsKey(owner), ...ids);
  }
}
