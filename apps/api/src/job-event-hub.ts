import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
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

/** Where one subscriber's events go (a socket.io socket, an SSE response). */
export interface EventSink {
  send(event: JobEvent): void;
}

/** Which of this instance's channels a pub/sub message came in on (for metrics). */
export type ReceivedChannel = 'job' | 'queue-moved';

/**
 * Reference-counted sharded subscriptions on one connection (SSUBSCRIBE / SUNSUBSCRIBE): a
 * channel is subscribed while at least one hold on it is left, however many there are.
 * Holds change at once (synchronously); the changes to Redis for one channel run one after
 * another, each bringing Redis to what the holds say when it runs, so an acquire and a
 * release that race end subscribed if and only if a hold is left, never with a dangling or a
 * missing subscription. The connection must carry no other kind of subscription: ioredis
 * counts SUBSCRIBE and SSUBSCRIBE apart and leaves subscriber mode when either reaches 0.
 */
export class ShardSubscriptions {
  private readonly holds = new Map<string, number>();
  /** Channels Redis has confirmed subscribed. */
  private readonly active = new Set<string>();
  /** The last change queued per channel. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly redis: Redis) {}

  /** Takes a hold on `channel`; resolves once its subscription is active. */
  acquire(channel: string): Promise<void> {
    this.holds.set(channel, (this.holds.get(channel) ?? 0) + 1);
    return this.reconcile(channel);
  }

  /** Gives back one hold; the last one unsubscribes. */
  release(channel: string): Promise<void> {
    const left = (this.holds.get(channel) ?? 0) - 1;
    if (left < 0) throw new Error(`Expected a hold on ${channel} to release but received none`);
    if (left > 0) this.holds.set(channel, left);
    else this.holds.delete(channel);
    return this.reconcile(channel);
  }

  /** Holds on `channel` (0 when none). */
  holdsOn(channel: string): number {
    return this.holds.get(channel) ?? 0;
  }

  /** Channels currently subscribed in Redis. */
  get subscribed(): ReadonlySet<string> {
    return this.active;
  }

  private reconcile(channel: string): Promise<void> {
    const change = async () => {
      const wanted = this.holds.has(channel);
      if (wanted && !this.active.has(channel)) {
        await this.redis.ssubscribe(channel);
        this.active.add(channel);
      } else if (!wanted && this.active.has(channel)) {
        await this.redis.sunsubscribe(channel);
        this.active.delete(channel);
      }
    };
    const previous = this.pending.get(channel);
    const next = previous ? previous.then(change, change) : change();
    this.pending.set(channel, next);
    const forget = () => {
      if (this.pending.get(channel) === next) this.pending.delete(channel);
    };
    next.then(forget, forget);
    return next;
  }
}

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
  private closed = false;

  constructor(
    private readonly subscriber: Redis,
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

  private deliver(subscription: Subscription, event: JobEvent): void {
    try {
      subscription.sink.send(event);
      this.onDelivered(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'event not delivered');
    }
  }

  /** The queue moved: watched queued jobs get their new position (debounced, local only). */
  private scheduleRefresh(): void {
    if (this.refreshTimer || this.closed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshPositions().catch((error: unknown) => this.logger.warn({ err: error }, 'position refresh failed'));
    }, 50);
    this.refreshTimer.unref();
  }

  private async refreshPositions(): Promise<void> {
    for (const [jobId, room] of this.rooms) {
      if (![...room.subscriptions].some((subscription) => subscription.holdsQueue)) continue;
      const state = await this.store.get(jobId);
      if (!state || state.status !== 'queued') continue;
      const position = await this.positions.position(jobId);
      if (position === room.lastPosition) continue;
      room.lastPosition = position;
      const envelope: DecodedEnvelope = {
        seq: state.seq,
        ephemeral: true,
        event: { type: 'job:queued', payload: { id: jobId, seq: state.seq, at: Date.now(), position } },
      };
      for (const subscription of room.subscriptions) this.gate(subscription, envelope);
    }
  }
}
