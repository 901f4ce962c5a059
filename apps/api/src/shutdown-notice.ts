import type { ServerShutdownEvent } from '@a2i/protocol';

/**
 * The api instance is stopping: the one place that tells every open follower so (socket.io
 * connections and SSE streams register here), once. A follower that registers after the
 * announcement is told at once, so no stream opened during the shutdown is left waiting.
 */
export class ShutdownNotice {
  private readonly listeners = new Set<(event: ServerShutdownEvent) => void>();
  private event: ServerShutdownEvent | null = null;

  constructor(private readonly graceMs: number) {}

  /** True once `announce` ran. */
  get announced(): boolean {
    return this.event !== null;
  }

  /** Calls `listener` with the shutdown event when it comes (now, if it came already); returns the remover. */
  onShutdown(listener: (event: ServerShutdownEvent) => void): () => void {
    if (this.event) {
      listener(this.event);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Tells every registered follower (idempotent); returns the event sent. */
  announce(): ServerShutdownEvent {
    if (this.event) return this.event;
    const event: ServerShutdownEvent = {
      reason: 'shutdown',
      message: 'This api instance is shutting down; connect again and subscribe again to resume following',
      graceMs: this.graceMs,
      at: Date.now(),
    };
    this.event = event;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(event);
    return event;
  }
}

/** The shutdown event as a Server-Sent Events frame (no `id:`: it is not one of the job's events). */
export function sseShutdownFrame(event: ServerShutdownEvent): string {
  return `event: server:shutdown\ndata: ${JSON.stringify(event)}\n\n`;
}
