/**
 * Where things live in the Redis (one node, or a Redis Cluster) that api and worker processes
 * share. With A2I_REDIS_PREFIX=a2i, `layout.prefix` is `{a2i}`: the braces are a Redis Cluster
 * hash tag, so every key that starts with it hashes to one slot (the tag's). BullMQ's queues
 * use it as their prefix (`{a2i}:generations:*`, `{a2i}:embeddings:*`, `{a2i}:ingest:*`,
 * `{a2i}:webhooks:*`): BullMQ's scripts touch many keys of a queue at once, which a Cluster
 * allows only within one slot. Our own keys:
 *   {a2i}:owner-jobs:<owner> sorted set: job id -> createdAt (ms), the generations of one API key
 *                        (owner = sha256 of the key) for GET /v1/generations; bounded, and entries
 *                        whose job has expired are removed when read (OwnerJobIndex)
 *   {a2i}:queue-moved    sharded pub/sub: a job id whenever a job's event may move the queue
 *                        (queued, started, finished), heard by api instances watching a queued job
 *   {a2i}:cancel         pub/sub: job ids to abort, heard by the worker that holds the job
 *   {a2i}:workers        sorted set: worker name -> last heartbeat (ms)
 *   {a2i}:pack           string: the PackDescription the workers serve (JSON)
 * a key each, in any slot (one-key commands only):
 *   a2i:rate:<kind>:<client> rate-limit counters (apps/api rate-limits.ts)
 * and, per job, in the job's own slot (the hash tag is the job's id):
 *   a2i:job:{<id>}       hash: the job's state (JobStateStore), expires after the result TTL
 *   a2i:events:{<id>}    sharded pub/sub (SPUBLISH): the job's events (event-envelope.ts), heard
 *                        only by the api instances that have a subscriber of that job
 *   a2i:gone:{<id>}      string: a finished job's tombstone (owner's token hash, final status), kept
 *                        A2I_TOMBSTONE_TTL_SECONDS so that an expired job answers 410, not 404
 *
 * Why per-job slots: the script that records a job's change writes its hash and publishes its
 * event on its channel in one step (JobStateStore), and its tombstone is written from the hash,
 * so the three share a slot; and jobs spread over the Cluster's masters, each job's events going
 * to the one shard that owns its channel (sharded pub/sub: a message is not broadcast to every
 * node, and an api instance hears only the jobs its clients follow). Nothing writes a job's keys
 * and the shared keys in one command (the owner index is written after the job's hash).
 * On one node the same names are used, so what runs on a laptop is what runs on a Cluster.
 * Keys written before this layout (`a2i:job:<id>`, queues under `a2i:`) are not read: drain the
 * queue before upgrading from such a version.
 */
export interface RedisLayout {
  /** `{<A2I_REDIS_PREFIX>}`: BullMQ's prefix, and the start of every key shared by all jobs (one Cluster slot). */
  readonly prefix: string;
  /** A2I_REDIS_PREFIX as configured (the start of the per-job keys). */
  readonly base: string;
  jobKey(id: string): string;
  /** The generations of one owner (sha256 of an API key), by createdAt (OwnerJobIndex). */
  ownerJobsKey(owner: string): string;
  /** A finished job's tombstone (JobStateStore.tombstone). */
  tombstoneKey(id: string): string;
  /** Shard channel of one job's events. */
  jobEventsChannel(id: string): string;
  /** Shard channel that says the queue moved (refresh the positions of watched queued jobs). */
  readonly queueMovedChannel: string;
  readonly cancelChannel: string;
  readonly workersKey: string;
  readonly packKey: string;
  readonly generationQueue: string;
  readonly embeddingQueue: string;
  /** Ingest jobs of collections (POST /v1/collections/:name/items). */
  readonly ingestQueue: string;
  /** Webhook deliveries (webhook-notifier.ts), sent by the api instances. */
  readonly webhookQueue: string;
}

export function redisLayout(prefix: string): RedisLayout {
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw new TypeError(`Expected letters, digits, '_', '.' or '-' for the Redis prefix but received ${JSON.stringify(prefix)}`);
  }
  const shared = `{${prefix}}`;
  return {
    prefix: shared,
    base: prefix,
    jobKey: (id) => `${prefix}:job:{${id}}`,
    ownerJobsKey: (owner) => `${shared}:owner-jobs:${owner}`,
    tombstoneKey: (id) => `${prefix}:gone:{${id}}`,
    jobEventsChannel: (id) => `${prefix}:events:{${id}}`,
    queueMovedChannel: `${shared}:queue-moved`,
    cancelChannel: `${shared}:cancel`,
    workersKey: `${shared}:workers`,
    packKey: `${shared}:pack`,
    generationQueue: 'generations',
    embeddingQueue: 'embeddings',
    ingestQueue: 'ingest',
    webhookQueue: 'webhooks',
  };
}
