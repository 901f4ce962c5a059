/**
 * Where things live in the one Redis that api and worker processes share. BullMQ queues use
 * the same prefix (`<prefix>:generations:*`, `<prefix>:embeddings:*`); our own keys:
 *   <prefix>:job:<id>    hash: the job's state (JobStateStore), expires after the result TTL
 *   <prefix>:events      pub/sub: every job event (event-envelope.ts), fanned out by each api
 *   <prefix>:cancel      pub/sub: job ids to abort, heard by the worker that holds the job
 *   <prefix>:workers     sorted set: worker name -> last heartbeat (ms)
 *   <prefix>:pack        string: the PackDescription the workers serve (JSON)
 */
export interface RedisLayout {
  readonly prefix: string;
  jobKey(id: string): string;
  readonly eventsChannel: string;
  readonly cancelChannel: string;
  readonly workersKey: string;
  readonly packKey: string;
  readonly generationQueue: string;
  readonly embeddingQueue: string;
}

export function redisLayout(prefix: string): RedisLayout {
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw new TypeError(`Expected letters, digits, '_', '.' or '-' for the Redis prefix but received ${JSON.stringify(prefix)}`);
  }
  return {
    prefix,
    jobKey: (id) => `${prefix}:job:${id}`,
    eventsChannel: `${prefix}:events`,
    cancelChannel: `${prefix}:cancel`,
    workersKey: `${prefix}:workers`,
    packKey: `${prefix}:pack`,
    generationQueue: 'generations',
    embeddingQueue: 'embeddings',
  };
}
