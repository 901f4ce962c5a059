/**
 * Where things live in the one Redis that api and worker processes share. BullMQ queues use
 * the same prefix (`<prefix>:generations:*`, `<prefix>:embeddings:*`, `<prefix>:ingest:*`, `<prefix>:webhooks:*`); our own keys:
 *   <prefix>:job:<id>    hash: the job's state (JobStateStore), expires after the result TTL
 *   <prefix>:owner-jobs:<owner> sorted set: job id -> createdAt (ms), the generations of one API key
 *                        (owner = sha256 of the key) for GET /v1/generations; bounded, and entries
 *                        whose job has expired are removed when read (OwnerJobIndex)
 *   <prefix>:gone:<id>   string: a finished job's tombstone (owner's token hash, final status), kept
 *                        A2I_TOMBSTONE_TTL_SECONDS so that an expired job answers 410, not 404
 *   <prefix>:events:<id> sharded pub/sub (SPUBLISH): the job's events (event-envelope.ts), heard
 *                        only by the api instances that have a subscriber of that job
 *   <prefix>:queue-moved sharded pub/sub: a job id whenever a job's event may move the queue
 *                        (queued, started, finished), heard by api instances watching a queued job
 *   <prefix>:cancel      pub/sub: job ids to abort, heard by the worker that holds the job
 *   <prefix>:workers     sorted set: worker name -> last heartbeat (ms)
 *   <prefix>:pack        string: the PackDescription the workers serve (JSON)
 *
 * Job events use sharded pub/sub so that, on a Redis Cluster, each job's messages go to the
 * one shard that owns its channel's slot instead of being broadcast to every node. The
 * script that publishes a job's event also writes its hash, so on a Cluster the two must
 * share a slot: that needs a hash tag on both (`job:{<id>}`, `events:{<id>}`), left to the
 * move to Cluster because it renames the stored job keys.
 */
export interface RedisLayout {
  readonly prefix: string;
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
  return {
    prefix,
    jobKey: (id) => `${prefix}:job:${id}`,
    ownerJobsKey: (owner) => `${prefix}:owner-jobs:${owner}`,
    tombstoneKey: (id) => `${prefix}:gone:${id}`,
    jobEventsChannel: (id) => `${prefix}:events:${id}`,
    queueMovedChannel: `${prefix}:queue-moved`,
    cancelChannel: `${prefix}:cancel`,
    workersKey: `${prefix}:workers`,
    packKey: `${prefix}:pack`,
    generationQueue: 'generations',
    embeddingQueue: 'embeddings',
    ingestQueue: 'ingest',
    webhookQueue: 'webhooks',
  };
}
