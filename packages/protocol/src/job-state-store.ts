import type { Redis } from 'ioredis';
import { encodeEventBody } from './event-envelope.js';
import type { ImageLink, JobEventPayloads, JobEventType } from './job-events.js';
import type { JobStatus } from './generation-status.js';
import { parseJobStateHash, type JobState } from './job-state.js';
import type { RedisLayout } from './redis-layout.js';

/**
 * Apply a state change to a job's hash and publish its event on the job's shard channel,
 * atomically, so every subscriber of every api instance sees the changes in one order (the
 * `seq` it returns). KEYS: 1 job hash, 2 the job's events channel (RedisLayout.jobEventsChannel).
 * ARGV: 1 statuses the change may start from (comma list), 2 new status or '',
 *       3 expire seconds or 0, 4 now (ms), 5 fields to delete (comma list),
 *       6 event body (event-envelope.ts), 7.. field, value pairs to set.
 * Returns the new seq, 0 when the job's status does not allow the change, -1 when no job.
 */
const RECORD_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
if #ARGV >= 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[2]) end
if ARGV[5] ~= '' then
  for field in string.gmatch(ARGV[5], '[^,]+') do redis.call('HDEL', KEYS[1], field) end
end
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
redis.call('SPUBLISH', KEYS[2], seq .. '\\n' .. ARGV[6])
return seq
`;

/**
 * Publish an event that changes no state (preview, queue position) while the job is in one
 * of the given statuses, stamped with the current seq. KEYS as above; ARGV: 1 statuses, 2 body.
 */
const PUBLISH_EPHEMERAL_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return 0 end
local seq = redis.call('HGET', KEYS[1], 'seq')
redis.call('SPUBLISH', KEYS[2], seq .. '\\n' .. ARGV[2])
return tonumber(seq)
`;

interface ScriptedRedis {
  a2iRecordJobEvent(...args: Array<string | Buffer | number>): Promise<number>;
  a2iPublishJobEvent(...args: Array<string | Buffer | number>): Promise<number>;
}

export interface NewJobState {
  id: string;
  tokenHash: string;
  owner: string;
  seed: number;
  numImages: number;
  format: string;
  createdAt: number;
}

type Payload<K extends JobEventType> = Omit<JobEventPayloads[K], 'seq' | 'id' | 'at'>;

/** Outcome of a recorded change: the seq it got, or why it was refused. */
export type RecordOutcome = { applied: true; seq: number } | { applied: false; reason: 'not-found' | 'status' };

const ACTIVE: JobStatus[] = ['queued', 'running'];

/**
 * Events after which a queued job's position may have changed: a job joined the queue (or
 * refreshed its place), left it for a worker, or finished (canceled while queued, refused when
 * taken). When one is applied, its job id also goes to the queue-moved channel.
 */
const QUEUE_MOVING: ReadonlySet<JobEventType> = new Set(['job:queued', 'job:started', 'job:succeeded', 'job:failed', 'job:canceled']);

/**
 * Reads and changes job states in Redis. Both the api (create, cancel) and the workers
 * (started, progress, previews, outcome) write through it, so the rules of which change may
 * follow which live in one place: nothing changes a finished job.
 */
export class JobStateStore {
  private readonly redis: Redis & ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly layout: RedisLayout,
    private readonly clock: () => number = Date.now,
  ) {
    redis.defineCommand('a2iRecordJobEvent', { numberOfKeys: 2, lua: RECORD_LUA });
    redis.defineCommand('a2iPublishJobEvent', { numberOfKeys: 2, lua: PUBLISH_EPHEMERAL_LUA });
    this.redis = redis as Redis & ScriptedRedis;
  }

  /** Writes a new job as `queued` (seq 1); the hash expires after `ttlSeconds` unless it finishes first. */
  async create(job: NewJobState, ttlSeconds: number): Promise<void> {
    const key = this.layout.jobKey(job.id);
    await this.redis
      .multi()
      .hset(key, {
        id: job.id,
        status: 'queued',
        seq: 1,
        createdAt: job.createdAt,
        updatedAt: job.createdAt,
        tokenHash: job.tokenHash,
        owner: job.owner,
        seed: job.seed,
        numImages: job.numImages,
        format: job.format,
        attempt: 0,
      })
      .expire(key, ttlSeconds)
      .exec();
  }

  async get(id: string): Promise<JobState | null> {
    return parseJobStateHash(await this.redis.hgetall(this.layout.jobKey(id)));
  }

  /** Queue position refresh (ephemeral: only while queued). */
  publishPosition(id: string, position: number | null): Promise<RecordOutcome> {
    return this.publish(id, 'job:queued', { position }, ['queued']);
  }

  /** Preview frame (ephemeral: only while running). */
  publishPreview(id: string, preview: Payload<'job:preview'>): Promise<RecordOutcome> {
    return this.publish(id, 'job:preview', preview, ['running']);
  }

  /** A worker took the job. Refused once the job is finished (e.g. canceled while queued). */
  started(id: string, attempt: number): Promise<RecordOutcome> {
    return this.record(id, 'job:started', { attempt }, { from: ACTIVE, to: 'running', set: { attempt }, del: ['stage', 'step', 'steps', 'etaMs'] });
  }

  progress(id: string, p: Payload<'job:progress'>): Promise<RecordOutcome> {
    return this.record(id, 'job:progress', p, {
      from: ['running'],
      set: { stage: p.stage, step: p.step, steps: p.steps, etaMs: p.etaMs ?? '' },
    });
  }

  /** Back in the queue between attempts (a retry after a server fault). */
  requeued(id: string): Promise<RecordOutcome> {
    return this.record(id, 'job:queued', { position: null }, { from: ['running'], to: 'queued', del: ['stage', 'step', 'steps', 'etaMs'] });
  }

  succeeded(id: string, images: ImageLink[], ttlSeconds: number): Promise<RecordOutcome> {
    return this.record(id, 'job:succeeded', { images }, { from: ACTIVE, to: 'succeeded', set: { images: JSON.stringify(images) }, ttlSeconds });
  }

  failed(id: string, code: string, message: string, ttlSeconds: number): Promise<RecordOutcome> {
    return this.record(id, 'job:failed', { code, message }, { from: ACTIVE, to: 'failed', set: { errorCode: code, errorMessage: message }, ttlSeconds });
  }

  canceled(id: string, ttlSeconds: number): Promise<RecordOutcome> {
    return this.record(id, 'job:canceled', {}, { from: ACTIVE, to: 'canceled', ttlSeconds });
  }

  private async record<K extends JobEventType>(
    id: string,
    type: K,
    payload: Payload<K>,
    change: { from: JobStatus[]; to?: JobStatus; set?: Record<string, string | number>; del?: string[]; ttlSeconds?: number },
  ): Promise<RecordOutcome> {
    const now = this.clock();
    const body = encodeEventBody({ type, payload: { ...payload, id, at: now }, ephemeral: false });
    const pairs = Object.entries(change.set ?? {}).flatMap(([field, value]) => [field, String(value)]);
    const seq = await this.redis.a2iRecordJobEvent(
      this.layout.jobKey(id),
      this.layout.jobEventsChannel(id),
      change.from.join(','),
      change.to ?? '',
      change.ttlSeconds ?? 0,
      now,
      (change.del ?? []).join(','),
      body,
      ...pairs,
    );
    await this.queueMoved(type, id, seq);
    return outcome(seq);
  }

  private async publish<K extends JobEventType>(id: string, type: K, payload: Payload<K>, when: JobStatus[]): Promise<RecordOutcome> {
    const body = encodeEventBody({ type, payload: { ...payload, id, at: this.clock() }, ephemeral: true });
    const seq = await this.redis.a2iPublishJobEvent(this.layout.jobKey(id), this.layout.jobEventsChannel(id), when.join(','), body);
    await this.queueMoved(type, id, seq);
    return outcome(seq);
  }

  /**
   * Not in the script: on a Cluster the queue-moved channel lives in another slot than the
   * job's hash. Its message is only a cue to re-read positions, so it needs no atomicity.
   */
  private async queueMoved(type: JobEventType, id: string, seq: number): Promise<void> {
    if (seq > 0 && QUEUE_MOVING.has(type)) await this.redis.spublish(this.layout.queueMovedChannel, id);
  }
}

function outcome(seq: number): RecordOutcome {
  if (seq > 0) return { applied: true, seq };
  return { applied: false, reason: seq < 0 ? 'not-found' : 'status' };
}
