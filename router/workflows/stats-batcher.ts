import type { WorkflowEvent } from '../../core/store/records.ts';
import type { WorkflowStore } from '../../core/store/state-store.ts';
import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';

/**
 * Collects workflow events from the request path and writes them in batches, so statistics
 * never add a store round trip to a call. Events that fail to write are kept for the next
 * flush (bounded), so a short Redis outage loses no statistics.
 */
export class StatsBatcher {
  private queue: WorkflowEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly store: WorkflowStore;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly metrics: RouterMetrics;
  private static readonly MAX_QUEUED = 100_000;

  private readonly isDegraded: () => boolean;
  /** Open holds (see hold()): while any is open, batches wait as while degraded. */
  private holds = 0;

  constructor(
    store: WorkflowStore,
    intervalMs: number,
    logger: Logger,
    metrics: RouterMetrics,
    isDegraded: () => boolean = () => false,
  ) {
    this.isDegraded = isDegraded;
    this.store = store;
    this.intervalMs = intervalMs;
    this.logger = logger;
    this.metrics = metrics;
  }

  add(event: WorkflowEvent): void {
    if (this.queue.length >= StatsBatcher.MAX_QUEUED) this.queue.shift();
    this.queue.push(event);
    if (this.intervalMs === 0) {
      void this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * Keeps batches queued until the returned release is called: the router holds them while it
   * re-creates the workflows born during an outage, whose events the store would otherwise drop
   * as events of unknown workflows.
   */
  hold(): () => void {
    this.holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds -= 1;
    };
  }

  /** Writes everything queued so far; resolves when it is in the store (or kept for retry). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    if (this.isDegraded() || this.holds > 0) {
      // Kept until the store is back: events of workflows created while degraded must not be
      // applied before the recovery has re-created those workflows.
      this.retryLater();
      return;
    }
    const batch = this.queue;
    this.queue = [];
    try {
      await this.store.apply(batch);
    } catch (error) {
      this.metrics.storeErrors.inc({ operation: 'apply' });
      this.logger.warn('statistics kept for retry: store unavailable', {
        events: batch.length,
        error: String(error),
      });
      this.queue = batch.concat(this.queue).slice(-StatsBatcher.MAX_QUEUED);
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.flush();
      },
      Math.max(this.intervalMs, 500),
    );
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
