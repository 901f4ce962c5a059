import { encodeEventBody } from './event-envelope.js';
import type { IngestResult } from './ingest-result.js';
import type { ImageLink, JobEventPayloads, JobEventType, NeighborUsed } from './job-events.js';
import { TERMINAL_STATUSES, type JobStatus } from './generation-status.js';
import { parseJobStateHash, type JobState } from './job-state.js';
import type { RedisLayout } from './redis-layout.js';
import type { RedisClient } from './redis-connections.js';
import { OwnerJobIndex } from './owner-job-index.js';
import { requestEchoSchema, type RequestEcho } from './request-echo.js';
import type { WebhookRequest } from './webhook-events.js';
import type { VideoLink } from './video-output.js';

/**
 * Apply a state change to a job's hash and publish its event on the job's shard channel,
 * atomically, so every subscriber of every api instance sees the changes in one order (the
 * `seq` it returns). KEYS: 1 job hash, 2 the job's events channel (RedisLayout.jobEventsChannel):
 * both in the job's slot (hash tag: its id), as a Redis Cluster requires of one script's keys.
 * ARGV: 1 statuses the change may start from (comma list), 2 new status or '',
 *       3 expire seconds or 0, 4 now (ms), 5 fields to delete (comma list),
 *       6 event body (event-envelope.ts), 7 the attempt that must hold the job or '' (a fence:
 *       a worker whose job was taken over by a later attempt changes nothing),
 *       8.. field, value pairs to set.
 * Returns the new seq, 0 when the job's status does not allow the change, -1 when no job,
 * -2 when another attempt holds the job.
 */
const RECORD_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return 0 end
if ARGV[7] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[7] then return -2 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
if #ARGV >= 8 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
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

/**
 * Leave a tombstone of a job that just finished: who may see it and how it ended, kept longer
 * than the job's hash and files so that asking after them later answers "expired" (410) and
 * not "never existed" (404). KEYS: 1 job hash, 2 tombstone key; ARGV: 1 expire seconds.
 */
const TOMBSTONE_LUA = `
local f = redis.call('HMGET', KEYS[1], 'tokenHash', 'owner', 'status', 'updatedAt')
if not f[1] then return 0 end
redis.call('SET', KEYS[2], cjson.encode({ tokenHash = f[1], owner = f[2] or '', status = f[3], finishedAt = tonumber(f[4]) }), 'EX', ARGV[1])
return 1
`;

/**
 * One frame of a video job made (apps/worker video-part-processor.ts): the frame's bit is set in
 * the job's frames bitmap and, the first time only, the job's progress becomes (frames, count of
 * set bits, total) with its event, in one step: parts running on several workers at once publish
 * counts that never go back, and a part run again (its worker was lost) counts no frame twice.
 * KEYS: 1 job hash, 2 events channel, 3 frames bitmap. ARGV: 1 frame index, 2 total frames,
 * 3 now (ms), 4 expire seconds of the bitmap, 5..7 the event body around the step and the ETA
 * (body = ARGV5 .. step .. ARGV6 .. eta .. ARGV7). The ETA is the time since the frames began
 * (`framesAt`) per frame done, times the frames left.
 * Returns the new seq, 0 when the job is not running, -1 when no job, -3 when the frame was counted before.
 */
const FRAME_DONE_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status ~= 'running' then return 0 end
local was = redis.call('SETBIT', KEYS[3], ARGV[1], 1)
redis.call('EXPIRE', KEYS[3], ARGV[4])
if was == 1 then return -3 end
local done = redis.call('BITCOUNT', KEYS[3])
local total = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local began = tonumber(redis.call('HGET', KEYS[1], 'framesAt') or ARGV[3])
local eta = math.floor((now - began) / done * (total - done) + 0.5)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3], 'stage', 'frames', 'step', done, 'steps', total, 'etaMs', eta)
redis.call('SPUBLISH', KEYS[2], seq .. '\\n' .. ARGV[5] .. done .. ARGV[6] .. eta .. ARGV[7])
return seq
`;

/** Stand-ins for the step and the ETA in a frame's progress body, replaced by the script (FRAME_DONE_LUA). */
const STEP_MARK = 987_654_321_012;
const ETA_MARK = 987_654_321_013;

interface ScriptedRedis {
  a2iFrameDone(...args: Array<string | Buffer | number>): Promise<number>;
  a2iRecordJobEvent(...args: Array<string | Buffer | number>): Promise<number>;
  a2iPublishJobEvent(...args: Array<string | Buffer | number>): Promise<number>;
  a2iJobTombstone(...args: Array<string | number>): Promise<number>;
}

/** What is left of a finished job once its state and files have expired (JobStateStore.tombstone). */
export interface JobTombstone {
  tokenHash: string;
  owner: string;
  status: JobStatus;
  finishedAt: number;
}

/** Seven days: how long a finished job's tombstone is kept by default (A2I_TOMBSTONE_TTL_SECONDS). */
export const DEFAULT_TOMBSTONE_TTL_SECONDS = 7 * 24 * 3600;

export interface NewJobState {
  id: string;
  tokenHash: string;
  owner: string;
  seed: number;
  numImages: number;
  format: string;
  createdAt: number;
  /** A generation's resolved request, echoed by its status (request-echo.ts). */
  request?: RequestEcho;
  /** Where the job's webhooks go and which events (webhook-events.ts; WebhookNotifier reads it). */
  webhook?: WebhookRequest;
  /** An ingest job (and the collection it writes into); absent for a generation. */
  kind?: 'ingest';
  collection?: string;
}

type Payload<K extends JobEventType> = Omit<JobEventPayloads[K], 'seq' | 'id' | 'at'>;

/**
 * Outcome of a recorded change: the seq it got, or why it was refused ('attempt': the change
 * was fenced to an attempt and a later attempt holds the job).
 */
export type RecordOutcome = { applied: true; seq: number } | { applied: false; reason: 'not-found' | 'status' | 'attempt' };

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
  private readonly redis: RedisClient & ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly layout: RedisLayout,
    private readonly clock: () => number = Date.now,
    private readonly options: {
      tombstoneTtlSeconds?: number;
      /** Told once per applied state change (a WebhookNotifier); `recorded` must not throw. */
      recorder?: { recorded(id: string, type: JobEventType, seq: number): Promise<void> };
    } = {},
  ) {
    redis.defineCommand('a2iRecordJobEvent', { numberOfKeys: 2, lua: RECORD_LUA });
    redis.defineCommand('a2iPublishJobEvent', { numberOfKeys: 2, lua: PUBLISH_EPHEMERAL_LUA });
    redis.defineCommand('a2iJobTombstone', { numberOfKeys: 2, lua: TOMBSTONE_LUA });
    redis.defineCommand('a2iFrameDone', { numberOfKeys: 3, lua: FRAME_DONE_LUA });
    this.redis = redis as RedisClient & ScriptedRedis;
  }

  /**
   * Writes a new job as `queued` (seq 1); the hash expires after `ttlSeconds` unless it finishes
   * first. A generation with an owner (API keys on) then joins its owner's index: a second step,
   * as the index lives in another Cluster slot than the job. In that order, a history read
   * between the two never sees (and drops) an id whose job is not written yet; a crash between
   * them leaves a job that is not listed, never a listed job that does not exist.
   */
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
        ...(job.kind ? { kind: job.kind } : {}),
        ...(job.collection ? { collection: job.collection } : {}),
        ...(job.request ? { request: JSON.stringify(job.request) } : {}),
        ...(job.webhook ? { webhook: JSON.stringify(job.webhook) } : {}),
      })
      .expire(key, ttlSeconds)
      .exec();
    if (job.owner !== '' && job.kind === undefined) {
      const index = this.redis.multi();
      OwnerJobIndex.add(index, this.layout, job.owner, { id: job.id, createdAt: job.createdAt });
      await index.exec();
    }
  }

  async get(id: string): Promise<JobState | null> {
    return parseJobStateHash(await this.redis.hgetall(this.layout.jobKey(id)));
  }

  /** The request echo stored with the job (one field, not the whole state), or null. */
  async requestEcho(id: string): Promise<RequestEcho | null> {
    const raw = await this.redis.hget(this.layout.jobKey(id), 'request');
    return raw === null ? null : requestEchoSchema.parse(JSON.parse(raw));
  }

  /** The tombstone of a finished job (kept after its state expired), or null. */
  async tombstone(id: string): Promise<JobTombstone | null> {
    const raw = await this.redis.get(this.layout.tombstoneKey(id));
    return raw === null ? null : (JSON.parse(raw) as JobTombstone);
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
    return this.record(id, 'job:started', { attempt }, { from: ACTIVE, to: 'running', set: { attempt }, del: ['stage', 'step', 'steps', 'etaMs'], stamp: 'startedAt' });
  }

  /**
   * `attempt` (here and in the changes below), when given, fences the change to that attempt:
   * refused ('attempt') once a later attempt has started, so a worker that lost its job to
   * another (its lock ran out while it was paused or cut off) cannot move, finish or fail it.
   */
  progress(id: string, p: Payload<'job:progress'>, attempt?: number): Promise<RecordOutcome> {
    return this.record(id, 'job:progress', p, {
      from: ['running'],
      set: { stage: p.stage, step: p.step, steps: p.steps, etaMs: p.etaMs ?? '' },
      attempt,
    });
  }

  /** Back in the queue between attempts (a retry after a server fault). */
  requeued(id: string, attempt?: number): Promise<RecordOutcome> {
    return this.record(id, 'job:queued', { position: null }, { from: ['running'], to: 'queued', del: ['stage', 'step', 'steps', 'etaMs', 'startedAt'], attempt });
  }

  /**
   * A job's one success: refused once it has finished, so it is recorded and published once.
   * `details.neighbors`: the stored images a generation with `neighbors` mixed in; `video` and
   * `resultsFolder`: a video job's MP4 and where this run put its files (never published).
   */
  succeeded(
    id: string,
    images: ImageLink[],
    ttlSeconds: number,
    attempt?: number,
    details: { neighbors?: NeighborUsed[]; video?: VideoLink; resultsFolder?: string } = {},
  ): Promise<RecordOutcome> {
    const { neighbors, video, resultsFolder } = details;
    const set: Record<string, string> = { images: JSON.stringify(images) };
    if (neighbors !== undefined) set.neighbors = JSON.stringify(neighbors);
    if (video !== undefined) set.video = JSON.stringify(video);
    if (resultsFolder !== undefined) set.resultsFolder = resultsFolder;
    const payload = { images, ...(neighbors !== undefined ? { neighbors } : {}), ...(video !== undefined ? { video } : {}) };
    return this.record(id, 'job:succeeded', payload, { from: ACTIVE, to: 'succeeded', set, ttlSeconds, attempt, stamp: 'completedAt' });
  }

  /**
   * A video job's frames begin (its parts are queued): progress (frames, 0, total), and the
   * time the frames' ETA counts from. Fenced to the planning attempt like `progress`.
   */
  framesStarted(id: string, totalFrames: number, attempt?: number): Promise<RecordOutcome> {
    return this.record(id, 'job:progress', { stage: 'frames', step: 0, steps: totalFrames, etaMs: null }, {
      from: ['running'],
      set: { stage: 'frames', step: 0, steps: totalFrames, etaMs: '', framesAt: this.clock() },
      attempt,
    });
  }

  /**
   * Frame `frame` of a video job is made (FRAME_DONE_LUA): the job's progress moves to the
   * number of its frames made so far, once per frame whichever part (or run of a part) made
   * it. `counted: false` when that frame was counted before; refused when the job is no longer
   * running (canceled, failed): the part stops. Not fenced to an attempt: parts are jobs of
   * their own, and the frames bitmap makes a repeated frame harmless.
   */
  async frameDone(id: string, frame: number, totalFrames: number, ttlSeconds: number): Promise<RecordOutcome | { applied: true; seq: 0; counted: false }> {
    const now = this.clock();
    const body = encodeEventBody({ type: 'job:progress', payload: { stage: 'frames', step: STEP_MARK, steps: totalFrames, etaMs: ETA_MARK, id, at: now }, ephemeral: false }).toString('utf8');
    const [beforeStep, rest = ''] = body.split(String(STEP_MARK));
    const [betweenMarks, afterEta = ''] = rest.split(String(ETA_MARK));
    const seq = await this.redis.a2iFrameDone(this.layout.jobKey(id), this.layout.jobEventsChannel(id), this.framesKey(id), frame, totalFrames, now, ttlSeconds, beforeStep!, betweenMarks!, afterEta);
    if (seq === -3) return { applied: true, seq: 0, counted: false };
    if (seq > 0) await this.options.recorder?.recorded(id, 'job:progress', seq);
    return outcome(seq);
  }

  /** The frames bitmap of a video job: beside its hash (same hash tag, should the job key get one). */
  private framesKey(id: string): string {
    return `${this.layout.jobKey(id)}:frames`;
  }

  /** Removes a video job's frames bitmap (its job finished). */
  async forgetFrames(id: string): Promise<void> {
    await this.redis.del(this.framesKey(id));
  }

  /** An ingest job's outcome: no images, the ids stored and the items that failed. */
  ingestSucceeded(id: string, result: IngestResult, ttlSeconds: number): Promise<RecordOutcome> {
    return this.record(id, 'job:succeeded', { images: [], ingest: result }, { from: ACTIVE, to: 'succeeded', set: { ingest: JSON.stringify(result) }, ttlSeconds, stamp: 'completedAt' });
  }

  failed(id: string, code: string, message: string, ttlSeconds: number, attempt?: number): Promise<RecordOutcome> {
    return this.record(id, 'job:failed', { code, message }, { from: ACTIVE, to: 'failed', set: { errorCode: code, errorMessage: message }, ttlSeconds, attempt, stamp: 'completedAt' });
  }

  canceled(id: string, ttlSeconds: number, attempt?: number): Promise<RecordOutcome> {
    return this.record(id, 'job:canceled', {}, { from: ACTIVE, to: 'canceled', ttlSeconds, attempt, stamp: 'completedAt' });
  }

  private async record<K extends JobEventType>(
    id: string,
    type: K,
    payload: Payload<K>,
    change: {
      from: JobStatus[];
      to?: JobStatus;
      set?: Record<string, string | number>;
      del?: string[];
      ttlSeconds?: number;
      attempt?: number | undefined;
      /** A field set to the change's time (the same `now` as updatedAt). */
      stamp?: 'startedAt' | 'completedAt';
    },
  ): Promise<RecordOutcome> {
    const now = this.clock();
    const body = encodeEventBody({ type, payload: { ...payload, id, at: now }, ephemeral: false });
    const pairs = Object.entries(change.set ?? {}).flatMap(([field, value]) => [field, String(value)]);
    if (change.stamp !== undefined) pairs.push(change.stamp, String(now));
    const seq = await this.redis.a2iRecordJobEvent(
      this.layout.jobKey(id),
      this.layout.jobEventsChannel(id),
      change.from.join(','),
      change.to ?? '',
      change.ttlSeconds ?? 0,
      now,
      (change.del ?? []).join(','),
      body,
      change.attempt === undefined ? '' : String(change.attempt),
      ...pairs,
    );
    if (seq > 0 && change.to !== undefined && TERMINAL_STATUSES.has(change.to)) {
      const ttl = this.options.tombstoneTtlSeconds ?? DEFAULT_TOMBSTONE_TTL_SECONDS;
      await this.redis.a2iJobTombstone(this.layout.jobKey(id), this.layout.tombstoneKey(id), ttl);
    }
    await this.queueMoved(type, id, seq);
    if (seq > 0) await this.options.recorder?.recorded(id, type, seq);
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
  return { applied: false, reason: seq === -2 ? 'attempt' : seq < 0 ? 'not-found' : 'status' };
}
