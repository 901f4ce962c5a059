import type { Logger } from 'pino';
import type { CollectionStore } from '@a2i/collections';

/**
 * Keeps collections' ANN indexes in line with their rows, off the request path: after an
 * ingest job the worker asks for `ensureIndex` here. Runs are one at a time per process;
 * a collection asked for again while queued or running gets one more run afterwards
 * (coalesced), so a burst of ingests costs at most two builds. Below the index threshold
 * ensureIndex does nothing and search stays exact.
 */
export class IndexMaintainer {
  private readonly wanted = new Map<string, { name: string; owner: string | null }>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly collections: () => Promise<CollectionStore>,
    private readonly logger: Logger,
  ) {}

  request(name: string, owner: string | null): void {
    this.wanted.set(`${owner ?? ''}\u0000${name}`, { name, owner });
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves when nothing is left to do (close, tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.wanted.size > 0) {
      const [key, target] = this.wanted.entries().next().value as [string, { name: string; owner: string | null }];
      this.wanted.delete(key);
      try {
        const store = await this.collections();
        const result = await store.ensureIndex(target.name, target.owner);
        if (result.action !== 'none') this.logger.info({ collection: target.name, action: result.action, rows: result.rows, ms: result.ms }, 'collection index maintained');
      } catch (error) {
        this.logger.warn({ err: error, collection: target.name }, 'collection index not maintained');
      }
    }
  }
}
