import type { Redis } from 'ioredis';

/**
 * BullMQ has no queue-position API, so it is read from its keys (bullmq 5/6 layout,
 * commands/moveToActive-11.lua): a worker takes the next job with RPOPLPUSH from the `wait`
 * list (added with LPUSH: the oldest is on the right), and only when that list is empty the
 * lowest score of the `prioritized` sorted set (priority * 2^32 + insertion counter).
 * One round trip, O(log n) for prioritized jobs (every job here has a priority) and a
 * server-side scan for the rare job in `wait` (retries without priority).
 */
export class QueuePositions {
  private readonly waitKey: string;
  private readonly prioritizedKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    queueName: string,
  ) {
    this.waitKey = `${prefix}:${queueName}:wait`;
    this.prioritizedKey = `${prefix}:${queueName}:prioritized`;
  }

  /** 1 = next to start; null when the job is not waiting (running, delayed for a retry, gone). */
  async position(jobId: string): Promise<number | null> {
    const replies = await this.redis
      .multi()
      .llen(this.waitKey)
      .lpos(this.waitKey, jobId)
      .zrank(this.prioritizedKey, jobId)
      .exec();
    const [waitLength, indexInWait, rank] = (replies ?? []).map(([error, value]) => (error ? null : value)) as [number | null, number | null, number | null];
    if (waitLength === null) return null;
    if (indexInWait !== null) return waitLength - indexInWait;
    if (rank !== null) return waitLength + rank + 1;
    return null;
  }

  /** Jobs waiting to start (the depth the queue limit counts). */
  async depth(): Promise<number> {
    const replies = await this.redis.multi().llen(this.waitKey).zcard(this.prioritizedKey).exec();
    return (replies ?? []).reduce((sum, [error, value]) => sum + (error ? 0 : Number(value)), 0);
  }
}
