import { randomUUID } from 'node:crypto';
import { isStoreUnavailable } from '../../core/store/errors.ts';
import type { WorkflowEvent } from '../../core/store/records.ts';
import type { WorkflowStore } from '../../core/store/state-store.ts';
import type { StatsBatch } from '../../core/store/stats-batch.ts';
import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import { InflightCalls } from './inflight-calls.ts';

/** How long this replica's count of calls in flight holds in the store unless renewed. */
export const DEFAULT_INFLIGHT_LEASE_MS = 30_000;

/**
 * Collects workflow events from the request path and writes them in batches, so statistics
 * never add a store round trip to a call.
 *
 * Each batch counts exactly once (stats-batch.ts): batches are numbered under a writer id drawn
 * per process and sent one at a time; a batch that fails is re-sent unchanged until the store
 * acknowledges it, and the store skips a re-send whose first attempt it had applied. An outage
 * therefore loses no statistics and counts none twice. Memory is bounded: beyond MAX_QUEUED
 * events waiting (a long outage at a high call rate), the oldest not yet sent are dropped and
 * counted in workflow_router_stats_dropped_total{reason="queue-full"}; a batch the store keeps
 * refusing for a reason other than an outage (a bug, not a lost connection) is dropped after
 * MAX_ATTEMPTS and counted as reason="rejected". A SIGKILL loses what was not yet written (up to
 * one flush interval).
 *
 * Batches also carry this replica's calls in flight per workflow (InflightCalls), renewed every
 * third of the lease while calls last, so a replica that dies stops counting within a lease.
 */
export class StatsBatcher {
  private queue: WorkflowEvent[] = [];
  /** Sealed and sent, not acknowledged: re-sent unchanged (same seq) until applied. */
  private pending: StatsBatch | undefined;
  private attempts = 0;
  private seq = 0;
  private readonly writer = randomUUID();
  private readonly calls = new InflightCalls();
  private renewDue = false;
  private readonly renewer: NodeJS.Timeout;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastDropLog = 0;
  private readonly store: WorkflowStore;
  private readonly intervalMs: number;
  private readonly leaseMs: number;
  private readonly logger: Logger;
  private readonly metrics: RouterMetrics;
  private static readonly MAX_QUEUED = 100_000;
  /** Events per batch: a long outage is written back in batches Redis runs quickly. */
  private static readonly MAX_BATCH = 10_000;
  private static readonly MAX_ATTEMPTS = 5;

  private readonly isDegraded: () => boolean;
  /** Open holds (see hold()): while any is open, batches wait as while degraded. */
  private holds = 0;

  constructor(
    store: WorkflowStore,
    intervalMs: number,
    logger: Logger,
    metrics: RouterMetrics,
    isDegraded: () => boolean = () => false,
    leaseMs = DEFAULT_INFLIGHT_LEASE_MS,
  ) {
    this.isDegraded = isDegraded;
    this.store = store;
    this.intervalMs = intervalMs;
    this.leaseMs = leaseMs;
    this.logger = logger;
    this.metrics = metrics;
    this.renewer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(leaseMs / 3)));
    this.renewer.unref();
  }

  add(event: WorkflowEvent): void {
    this.calls.note(event);
    if (this.backlog() >= StatsBatcher.MAX_QUEUED) {
      this.dropped('queue-full', 1);
      if (this.queue.length === 0) return;
      this.queue.shift();
    }
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
    this.flushing = this.flushing.then(() => this.writeBatches());
    return this.flushing;
  }

  /** Events waiting to be written (queued, or in a batch awaiting the store's acknowledgement). */
  backlog(): number {
    return this.queue.length + (this.pending?.events.length ?? 0);
  }

  private renewLeases(): void {
    if (!this.calls.busy()) return;
    this.renewDue = true;
    void this.flush();
  }

  /** Sends the pending batch, then new ones, one at a time (a workflow applies a writer's batches in order). */
  private async writeBatches(): Promise<void> {
    for (;;) {
      if (this.isDegraded() || this.holds > 0) {
        // Kept until the store is back: events of workflows created while degraded must not be
        // applied before the recovery has re-created those workflows.
        if (this.pending || this.queue.length > 0 || this.renewDue) this.retryLater();
        return;
      }
      const batch = this.pending ?? this.seal();
      if (!batch) return;
      this.pending = batch;
      if (!(await this.send(batch))) {
        this.retryLater();
        return;
      }
      this.pending = undefined;
    }
  }

  private seal(): StatsBatch | undefined {
    const events = this.queue.splice(0, StatsBatcher.MAX_BATCH);
    const inflight = this.calls.take(this.renewDue);
    this.renewDue = false;
    if (events.length === 0 && inflight.length === 0) return undefined;
    this.seq += 1;
    return { writer: this.writer, seq: this.seq, events, inflight, leaseMs: this.leaseMs };
  }

  /** True once the batch is applied (or given up for good); false: re-send it later. */
  private async send(batch: StatsBatch): Promise<boolean> {
    try {
      await this.store.apply(batch);
      this.attempts = 0;
      return true;
    } catch (error) {
      this.metrics.storeErrors.inc({ operation: 'apply' });
      this.attempts += 1;
      if (isStoreUnavailable(error) || this.attempts < StatsBatcher.MAX_ATTEMPTS) {
        this.logger.warn('statistics kept for retry: store unavailable', {
          events: batch.events.length,
          error: String(error),
        });
        return false;
      }
      this.attempts = 0;
      this.calls.retake(batch.inflight);
      this.dropped('rejected', batch.events.length);
      this.logger.error('statistics batch dropped: the store refused it', {
        events: batch.events.length,
        attempts: StatsBatcher.MAX_ATTEMPTS,
        error: String(error),
      });
      return true;
    }
  }

  private dropped(reason: 'queue-full' | 'rejected', events: number): void {
    this.metrics.statsDropped.inc({ reason }, events);
    const now = Date.now();
    if (reason === 'queue-full' && now - this.lastDropLog < 10_000) return;
    this.lastDropLog = now;
    this.logger.warn('statistics dropped', { reason, events, bound: StatsBatcher.MAX_QUEUED });
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
    clearInterval(this.renewer);
    await this.flush();
    const unwritten = this.backlog();
    if (unwritten > 0)
      this.logger.warn('statistics not written at shutdown: store unavailable', { events: unwritten });
  }
}
