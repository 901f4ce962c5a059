import type { RedisClient } from '@a2i/protocol';

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

  constructor(private readonly redis: RedisClient) {}

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

  /**
   * After the connection came back: brings Redis to what the holds say on the new connection
   * (SSUBSCRIBE every held channel again, SUNSUBSCRIBE those ioredis re-subscribed but no one
   * holds: a release that failed while Redis was away). Resolves once Redis has confirmed them,
   * so a state read after it misses no event. ioredis 6 re-subscribes SSUBSCRIBE channels by
   * itself (autoResubscribe); doing it here too is harmless and tells when it is done.
   */
  restore(): Promise<void> {
    const channels = new Set([...this.holds.keys(), ...this.active]);
    this.active.clear();
    for (const channel of channels) if (!this.holds.has(channel)) this.active.add(channel);
    return Promise.all([...channels].map((channel) => this.reconcile(channel))).then(() => undefined);
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
