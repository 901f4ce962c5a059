import type { RedisClient } from '@a2i/protocol';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import {
  ERROR_CODES,
  TERMINAL_EVENT_TYPES,
  TERMINAL_STATUSES,
  decodeEnvelope,
  snapshotEvents,
  type DecodedEnvelope,
  type JobEvent,
  type JobStateStore,
  type RedisLayout,
} from '@a2i/protocol';
import type { QueuePositions } from './queue-position.js';
import { ShardSubscriptions } from './shard-subscriptions.js';

export { ShardSubscriptions };

/** Queue moves that come within this of each other share one position read. */
const QUEUE_MOVE_BATCH_MS = 50;

/** Where one subscriber's events go (a socket.io socket, an SSE response). */
export interface EventSink {
  send(event: JobEvent): void;
}

/** Which of this instance's channels a pub/sub message came in on (for metrics). */
export type ReceivedChannel = 'job' | 'queue-moved';

/** One local subscriber of one job. */
interface Subscription {
  jobId: string;
  sink: EventSink;
  /** Highest state seq delivered; ephemeral events of an older state are dropped. */
  lastSeq: number;
  /** Until the snapshot is sent, live events wait here (then only newer ones pass). */
  buffer: DecodedEnvelope[] | null;
  /** A terminal event was delivered: nothing follows it. */
  done: boolean;
  /** Holds the job's channel: from subscribe until unsubscribe or the terminal event. */
  holdsJob: boolean;
  /** Holds the queue-moved channel: while the job is (or may be) queued. */
  holdsQueue: boolean;
}

interface Room {
  subscriptions: Set<Subscription>;
  lastPosition?: number | null;
}

/**
 * Fans job events out to this api instance's subscribers. Each job's events arrive on its
 * own shard channel (`<prefix>:events:<id>`, SPUBLISH by JobStateStore), which this instance
 * subscribes to only while one of its local subscribers follows the job (one Redis
 * subscription per job however many follow it here), so an instance receives the events of
 * the jobs its clients watch and no others. A new subscriber gets the current state first
 * (snapshot), then only newer events by seq, so progress never goes back even when the
 * snapshot and a live event cross: the job's channel is live before the snapshot is read,
 * so no event falls in between. Queue positions of watched queued jobs are refreshed when
 * the queue-moved channel says the queue moved (subscribed while a local job is queued).
 */
export class JobEventHub {
  private readonly rooms = new Map<string, Room>();
  private readonly channels: ShardSubscriptions;
  private readonly queueMovedChannel: Buffer;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** When the followed queued jobs' positions were last read (see scheduleRefresh). */
  private lastRefreshAt = 0;
  private closed = false;
  /** Times the subscriber came back after losing its connection (a subscribe that spans one catches up). */
  private reconnects = 0;
  private subscriberDown = false;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly layout: RedisLayout,
    private readonly store: JobStateStore,
    private readonly positions: QueuePositions,
    private readonly logger: Logger,
    private readonly onDelivered: (event: JobEvent) => void = () => undefined,
    /** Each pub/sub message received: its size (payload + channel name, bytes). */
    private readonly onReceived: (channel: ReceivedChannel, bytes: number) => void = () => undefined,
  ) {
    this.channels = new ShardSubscriptions(subscriber);
    this.queueMovedChannel = Buffer.from(layout.queueMovedChannel);
  }

  async start(): Promise<void> {
    this.subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel, message));
    // Events published while the subscriber was away are lost to it: once it is back, every
    // followed job's state is read again and what is newer than each follower saw is sent.
    const resyncNow = () => {
      if (this.closed) return;
      this.reconnects += 1;
      void this.resync(this.reconnects);
    };
    this.subscriber.on('reconnecting', () => (this.subscriberDown = true));
    this.subscriber.on('ready', () => {
      if (!this.subscriberDown) return;
      this.subscriberDown = false;
      resyncNow();
    });
    // On a Redis Cluster, a failover silences the shard of the failed master alone until ioredis
    // has read the new slots and moved that shard's subscriptions to its new master; it then says
    // its subscribers are ready, with no sign before that can be relied on: catch up each time.
    if (this.subscriber instanceof Cluster) this.subscriber.on('subscribersReady', resyncNow);
    // Subscriptions come and go with subscribers; the connection is checked now, not at the first one.
    await this.subscriber.ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.rooms.clear();
    await this.subscriber.quit().catch(() => undefined);
  }

  /** Number of local subscribers (for metrics). */
  get subscriberCount(): number {
    let count = 0;
    for (const room of this.rooms.values()) count += room.subscriptions.size;
    return count;
  }

  /** The shard channels this instance is subscribed to (for tests and diagnostics). */
  get subscribedChannels(): ReadonlySet<string> {
    return this.channels.subscribed;
  }

  /**
   * Adds `sink` to the job's room and sends it the current state. The caller has already
   * checked the subscriber may see the job. Returns the unsubscribe function (idempotent).
   */
  async subscribe(jobId: string, sink: EventSink): Promise<() => void> {
    let room = this.rooms.get(jobId);
    if (!room) {
      room = { subscriptions: new Set() };
      this.rooms.set(jobId, room);
    }
    const subscription: Subscription = { jobId, sink, lastSeq: 0, buffer: [], done: false, holdsJob: true, holdsQueue: true };
    const reconnects = this.reconnects;
    room.subscriptions.add(subscription);
    const joined = room;
    const unsubscribe = () => this.unsubscribe(joined, subscription);
    try {
      // 1. The job's channel and the queue-moved channel are live before the state is read,
      //    so neither an event nor a queue move can fall between the snapshot and the stream.
      await Promise.all([this.channels.acquire(this.layout.jobEventsChannel(jobId)), this.channels.acquire(this.layout.queueMovedChannel)]);
      // 2. The snapshot.
      const current = await this.store.get(jobId);
      if (!current) throw new Error(`job ${jobId} vanished`);
      const position = current.status === 'queued' ? await this.positions.position(jobId) : null;
      if (!joined.subscriptions.has(subscription)) return unsubscribe;
      if (current.status === 'queued') joined.lastPosition = position;
      for (const event of snapshotEvents(current, position, Date.now())) this.deliver(subscription, event);
      subscription.lastSeq = current.seq;
      subscription.done = TERMINAL_STATUSES.has(current.status);
      this.watchQueue(subscription, current.status === 'queued');
      // 3. Live events that arrived meanwhile, newer than the snapshot only.
      const buffered = subscription.buffer ?? [];
      subscription.buffer = null;
      for (const envelope of buffered) this.gate(subscription, envelope);
      if (subscription.done) this.releaseHolds(subscription);
      // 4. The subscriber lost its connection meanwhile: events may have fallen in the gap.
      else if (this.reconnects !== reconnects) void this.catchUpRoom(jobId).catch(() => undefined);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  private unsubscribe(room: Room, subscription: Subscription): void {
    if (!room.subscriptions.delete(subscription)) return;
    if (room.subscriptions.size === 0 && this.rooms.get(subscription.jobId) === room) this.rooms.delete(subscription.jobId);
    this.releaseHolds(subscription);
  }

  /** Nothing more will come (unsubscribed, or the job finished): let go of both channels. */
  private releaseHolds(subscription: Subscription): void {
    this.watchQueue(subscription, false);
    if (!subscription.holdsJob) return;
    subscription.holdsJob = false;
    this.release(this.layout.jobEventsChannel(subscription.jobId));
  }

  /** Holds the queue-moved channel while the subscription's job is queued. */
  private watchQueue(subscription: Subscription, queued: boolean): void {
    if (subscription.holdsQueue === queued) return;
    subscription.holdsQueue = queued;
    if (!queued) return this.release(this.layout.queueMovedChannel);
    // Back in the queue (a retry): the queue may have moved before the channel was live.
    this.channels.acquire(this.layout.queueMovedChannel).then(
      () => this.scheduleRefresh(),
      (error: unknown) => this.logger.warn({ err: error }, 'queue-moved subscription failed'),
    );
  }

  private release(channel: string): void {
    this.channels.release(channel).catch((error: unknown) => {
      if (!this.closed) this.logger.warn({ err: error, channel }, 'shard unsubscribe failed');
    });
  }

  private receive(channel: Buffer, message: Buffer): void {
    const queueMoved = channel.equals(this.queueMovedChannel);
    this.onReceived(queueMoved ? 'queue-moved' : 'job', channel.length + message.length);
    if (queueMoved) return this.scheduleRefresh();
    let envelope: DecodedEnvelope;
    try {
      envelope = decodeEnvelope(message);
    } catch (error) {
      this.logger.warn({ err: error }, 'malformed job event dropped');
      return;
    }
    const room = this.rooms.get(envelope.event.payload.id);
    if (!room) return;
    if (envelope.event.type === 'job:queued') room.lastPosition = envelope.event.payload.position;
    for (const subscription of room.subscriptions) this.gate(subscription, envelope);
  }

  private gate(subscription: Subscription, envelope: DecodedEnvelope): void {
    if (subscription.buffer) {
      subscription.buffer.push(envelope);
      return;
    }
    if (subscription.done) return;
    const stale = envelope.ephemeral ? envelope.seq < subscription.lastSeq : envelope.seq <= subscription.lastSeq;
    if (stale) return;
    if (!envelope.ephemeral) {
      subscription.lastSeq = envelope.seq;
      this.watchQueue(subscription, envelope.event.type === 'job:queued');
    }
    if (TERMINAL_EVENT_TYPES.has(envelope.event.type)) {
      subscription.done = true;
      this.releaseHolds(subscription);
    }
    this.deliver(subscription, envelope.event);
  }

  /**
   * The subscriber is back (reconnect number `reconnects`): subscriptions restored, then every
   * followed job caught up. Retried every 250 ms while it fails (the command connection may
   * come back later than the subscriber), until it succeeds or a newer reconnect takes over.
   */
  private async resync(reconnects: number): Promise<void> {
    for (let attempt = 1; !this.closed && this.reconnects === reconnects; attempt++) {
      try {
        await this.channels.restore();
        await Promise.all([...this.rooms.keys()].map((jobId) => this.catchUpRoom(jobId)));
        this.logger.info({ jobs: this.rooms.size, attempt }, 'followed jobs caught up after the Redis reconnect');
        return;
      } catch (error) {
        if (attempt === 1) this.logger.warn({ err: error }, 'catching up after the Redis reconnect failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 250).unref());
      }
    }
  }

  /**
   * Reads the job's state again and sends each of its followers what is newer than it saw
   * (the snapshot's events, seq-gated as at subscribe: nothing goes back or comes twice),
   * a terminal event included. A job whose state is gone (a Redis restarted without
   * persistence) ends its followers with job:failed JOB_STATE_LOST rather than leaving them waiting.
   */
  private async catchUpRoom(jobId: string): Promise<void> {
    if (!this.rooms.has(jobId)) return;
    const state = await this.store.get(jobId);
    const position = state?.status === 'queued' ? await this.positions.position(jobId) : null;
    const room = this.rooms.get(jobId);
    if (!room) return;
    if (state?.status === 'queued') room.lastPosition = position;
    for (const subscription of room.subscriptions) {
      if (subscription.buffer || subscription.done) continue;
      if (!state) {
        const lost: JobEvent = {
          type: 'job:failed',
          payload: {
            id: jobId,
            seq: subscription.lastSeq + 1,
            at: Date.now(),
            code: ERROR_CODES.JOB_STATE_LOST,
            message: 'The server lost the state of this generation (its Redis restarted without it); submit it again',
          },
        };
        subscription.lastSeq += 1;
        subscription.done = true;
        this.releaseHolds(subscription);
        this.deliver(subscription, lost);
        continue;
      }
      if (state.seq <= subscription.lastSeq) continue;
      subscription.lastSeq = state.seq;
      subscription.done = TERMINAL_STATUSES.has(state.status);
      this.watchQueue(subscription, state.status === 'queued');
      if (subscription.done) this.releaseHolds(subscription);
      for (const event of snapshotEvents(state, position, Date.now())) this.deliver(subscription, event);
    }
  }

  private deliver(subscription: Subscription, event: JobEvent): void {
    try {
      subscription.sink.send(event);
      this.onDelivered(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'event not delivered');
    }
  }

  /**
   * The queue moved: the followed queued jobs get their new positions, read at most once per
   * `positions.readIntervalMs` on this instance (a burst of moves costs one read), in one
   * batched read for all of them, and sent only to local followers whose job's position
   * changed (built here, never published). Nobody follows a queued job here: no read at all.
   */
  private scheduleRefresh(): void {
    if (this.refreshTimer || this.closed) return;
    // a short delay even when a read is due: the moves of one burst share it
    const wait = Math.max(QUEUE_MOVE_BATCH_MS, this.lastRefreshAt + this.positions.readIntervalMs - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.lastRefreshAt = Date.now();
      void this.refreshPositions().catch((error: unknown) => this.logger.warn({ err: error }, 'position refresh failed'));
    }, wait);
    this.refreshTimer.unref();
  }

  private async refreshPositions(): Promise<void> {
    const watched: Array<{ jobId: string; room: Room; seq: number }> = [];
    for (const [jobId, room] of this.rooms) {
      const following = [...room.subscriptions].filter((subscription) => subscription.holdsQueue && !subscription.buffer && !subscription.done);
      // the seq the position is read at: should the job move on meanwhile, the gate drops it
      if (following.length > 0) watched.push({ jobId, room, seq: Math.max(...following.map((subscription) => subscription.lastSeq)) });
    }
    if (watched.length === 0) return;
    const positions = await this.positions.positions(watched.map((entry) => entry.jobId));
    watched.forEach(({ jobId, room, seq }, i) => {
      const position = positions[i] ?? null;
      // not in the queue (taken by a worker, delayed for a retry): its own events say so
      if (position === null || position === room.lastPosition || this.rooms.get(jobId) !== room) return;
      room.lastPosition = position;
      const envelope: DecodedEnvelope = { seq, ephemeral: true, event: { type: 'job:queued', payload: { id: jobId, seq, at: Date.now(), position } } };
      for (const subscription of room.subscriptions) this.gate(subscription, envelope);
    });
  }
}
