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

interface SinkState {
  /** Highest state seq delivered; ephemeral events of an older state are dropped. */
  lastSeq: number;
  /** Until the snapshot is sent, live events wait here (then only newer ones pass). */
  buffer: DecodedEnvelope[] | null;
  /** A terminal event was delivered: nothing follows it. */
  done: boolean;
}

interface Room {
  sinks: Map<EventSink, SinkState>;
  lastPosition?: number | null;
}

/**
 * Fans job events out to this api instance's subscribers. Every event of every job, from any
 * worker or api instance, arrives on one Redis channel; each instance delivers it to its own
 * local subscribers (rooms keyed by job id), so any number of instances show the same events.
 * A new subscriber gets the current state first (snapshot), then only newer events, so
 * progress never goes back even when the snapshot and a live event cross.
 * Queue positions are refreshed for watched queued jobs whenever the queue moves.
 */
export class JobEventHub {
  private readonly rooms = new Map<string, Room>();
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly subscriber: Redis,
    private readonly layout: RedisLayout,
    private readonly store: JobStateStore,
    private readonly positions: QueuePositions,
    private readonly logger: Logger,
    private readonly onDelivered: (event: JobEvent) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.receive(message));
    await this.subscriber.subscribe(this.layout.eventsChannel);
  }

  async close(): Promise<void> {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.rooms.clear();
    await this.subscriber.quit().catch(() => undefined);
  }

  /** Number of local subscribers (for metrics). */
  get subscriberCount(): number {
    let count = 0;
    for (const room of this.rooms.values()) count += room.sinks.size;
    return count;
  }

  /**
   * Adds `sink` to the job's room and sends it the current state. The caller has already
   * checked the subscriber may see the job. Returns the unsubscribe function.
   */
  async subscribe(jobId: string, sink: EventSink): Promise<() => void> {
    let room = this.rooms.get(jobId);
    if (!room) {
      room = { sinks: new Map() };
      this.rooms.set(jobId, room);
    }
    const state: SinkState = { lastSeq: 0, buffer: [], done: false };
    room.sinks.set(sink, state);
    const unsubscribe = () => this.unsubscribe(jobId, sink);
    try {
      const current = await this.store.get(jobId);
      if (!current) throw new Error(`job ${jobId} vanished`);
      const position = current.status === 'queued' ? await this.positions.position(jobId) : null;
      if (current.status === 'queued') room.lastPosition = position;
      for (const event of snapshotEvents(current, position, Date.now())) this.deliver(sink, event);
      state.lastSeq = current.seq;
      state.done = TERMINAL_STATUSES.has(current.status);
      const buffered = state.buffer ?? [];
      state.buffer = null;
      for (const envelope of buffered) this.gate(sink, state, envelope);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  private unsubscribe(jobId: string, sink: EventSink): void {
    const room = this.rooms.get(jobId);
    if (!room) return;
    room.sinks.delete(sink);
    if (room.sinks.size === 0) this.rooms.delete(jobId);
  }

  private receive(message: Buffer): void {
    let envelope: DecodedEnvelope;
    try {
      envelope = decodeEnvelope(message);
    } catch (error) {
      this.logger.warn({ err: error }, 'malformed job event dropped');
      return;
    }
    const { type } = envelope.event;
    if (type === 'job:queued' || type === 'job:started' || TERMINAL_EVENT_TYPES.has(type)) this.scheduleRefresh();
    const room = this.rooms.get(envelope.event.payload.id);
    if (!room) return;
    if (type === 'job:queued') room.lastPosition = envelope.event.payload.position;
    for (const [sink, state] of room.sinks) this.gate(sink, state, envelope);
  }

  private gate(sink: EventSink, state: SinkState, envelope: DecodedEnvelope): void {
    if (state.buffer) {
      state.buffer.push(envelope);
      return;
    }
    if (state.done) return;
    const stale = envelope.ephemeral ? envelope.seq < state.lastSeq : envelope.seq <= state.lastSeq;
    if (stale) return;
    if (!envelope.ephemeral) state.lastSeq = envelope.seq;
    if (TERMINAL_EVENT_TYPES.has(envelope.event.type)) state.done = true;
    this.deliver(sink, envelope.event);
  }

  private deliver(sink: EventSink, event: JobEvent): void {
    try {
      sink.send(event);
      this.onDelivered(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'event not delivered');
    }
  }

  /** The queue moved: watched queued jobs get their new position (debounced, local only). */
  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshPositions().catch((error: unknown) => this.logger.warn({ err: error }, 'position refresh failed'));
    }, 50);
    this.refreshTimer.unref();
  }

  private async refreshPositions(): Promise<void> {
    for (const [jobId, room] of this.rooms) {
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
      for (const [sink, sinkState] of room.sinks) this.gate(sink, sinkState, envelope);
    }
  }
}
