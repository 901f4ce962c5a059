import type { RedisClient } from '@a2i/protocol';

/**
 * BullMQ has no queue-position API, so it is read from its keys (bullmq 5/6 layout,
 * commands/moveToActive-11.lua): a worker takes the next job with RPOPLPUSH from the `wait`
 * list (added with LPUSH: the oldest is on the right), and only when that list is empty the
 * lowest score of the `prioritized` sorted set (priority * 2^32 + insertion counter).
 * One round trip, O(log n) for prioritized jobs (every job here has a priority) and a
 * server-side scan for the rare job in `wait` (retries without priority).
 */
/**
 * Admission to a queue of bounded depth, atomic across api instances: a reservation is taken
 * only while waiting jobs + reservations in flight < limit (one Lua script, so two requests
 * racing for the last place cannot both get it). The reservation counter expires, so a
 * crashed api cannot leak places for long.
 */
const RESERVE_SCRIPT = `
local depth = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + tonumber(redis.call('GET', KEYS[3]) or '0')
if depth >= tonumber(ARGV[1]) then return -depth end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return depth + 1`;
const RESERVATION_TTL_SECONDS = 60;

export class QueuePositions {
  private readonly waitKey: string;
  private readonly prioritizedKey: string;
  private readonly reservationsKey: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    queueName: string,
    /**
     * How often an api instance reads the positions of the queued jobs its clients follow, at
     * most (A2I_QUEUE_POSITION_INTERVAL_MS): the rate of job:queued refreshes a follower gets.
     */
    readonly readIntervalMs = 500,
  ) {
    this.waitKey = `${prefix}:${queueName}:wait`;
    this.prioritizedKey = `${prefix}:${queueName}:prioritized`;
    this.reservationsKey = `${prefix}:${queueName}:a2i-admission`;
  }

  /**
   * Reserves a place for a job about to be added; `{ ok: false, depth }` when the queue is
   * full. Call `release()` once the job is in the queue (or was not added after all).
   */
  async reserve(limit: number): Promise<{ ok: boolean; depth: number }> {
    const reply = Number(await this.redis.eval(RESERVE_SCRIPT, 3, this.waitKey, this.prioritizedKey, this.reservationsKey, limit, RESERVATION_TTL_SECONDS));
    return reply > 0 ? { ok: true, depth: reply } : { ok: false, depth: -reply };
  }

  async release(): Promise<void> {
    const left = await this.redis.decr(this.reservationsKey);
    if (left < 0) await this.redis.set(this.reservationsKey, '0', 'EX', RESERVATION_TTL_SECONDS);
  }

  /** 1 = next to start; null when the job is not waiting (running, delayed for a retry, gone). */
  async position(jobId: string): Promise<number | null> {
    return (await this.positions([jobId]))[0]!;
  }

  /**
   * The positions of many jobs in one round trip (one MULTI: LLEN, then LPOS + ZRANK per job),
   * in the order of `jobIds`. O(k log n) for k prioritized jobs in a queue of n; the LPOS scan
   * only finds work in `wait` (jobs without priority: none here but retries).
   */
  async positions(jobIds: readonly string[]): Promise<Array<number | null>> {
    if (jobIds.length === 0) return [];
    const multi = this.redis.multi().llen(this.waitKey);
    for (const jobId of jobIds) multi.lpos(this.waitKey, jobId).zrank(this.prioritizedKey, jobId);
    const replies = ((await multi.exec()) ?? []).map(([error, value]) => (error ? null : value)) as Array<number | null>;
    const waitLength = replies[0];
    return jobIds.map((_, i) => {
      const indexInWait = replies[1 + 2 * i] ?? null;
      const rank = replies[2 + 2 * i] ?? null;
      if (waitLength === null || waitLength === undefined) return null;
      if (indexInWait !== null) return waitLength - indexInWait;
      if (rank !== null) return waitLength + rank + 1;
      return null;
    });
  }

  /** Jobs waiting to start (the depth the queue limit counts). */
  async depth(): Promise<number> {
    const replies = await this.redis.multi().llen(this.waitKey).zcard(this.prioritizedKey).exec();
    return (replies ?? []).reduce((sum, [error, value]) => sum + (error ? 0 : Number(value)), 0);
  }
}
