import type { Logger } from './logger.ts';
import { errorMessage } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue, type WorkQueueOptions } from './work-queue.ts';

/** What a reconcile asks for: nothing (converged), or another run after a delay. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ControllerOptions {
  name: string;
  /** Reconciles one key: reads the world, makes it so, writes status. Throwing retries with backoff. */
  reconcile(key: string): Promise<ReconcileResult | void>;
  workers: number;
  logger: Logger;
  metrics: OperatorMetrics;
  queue?: WorkQueueOptions;
}

/**
 * One named reconcile loop: a keyed work queue and `workers` loops that run the reconcile,
 * requeue after the delay it asks for, and retry failures with capped backoff.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private loops: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.options = options;
    this.queue = new WorkQueue(options.queue);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs);
  }

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.loop());
  }

  /** Stops taking keys and waits for the reconciles in progress to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(): Promise<void> {
    const { metrics, logger, name } = this.options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = metrics.reconcileDuration.startTimer({ controller: name });
      try {
        const result = await this.options.reconcile(key);
        this.queue.forget(key);
        metrics.reconciles.inc({ controller: name, result: 'ok' });
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const delay = this.queue.addRateLimited(key);
        metrics.reconciles.inc({ controller: name, result: 'error' });
        logger.warn('reconcile failed; retrying', {
          controller: name,
          key,
          retryInMs: delay,
          retries: this.queue.retries(key),
          error: errorMessage(error),
        });
      } finally {
        end();
        this.queue.done(key);
        metrics.queueDepth.set({ controller: name }, this.queue.length);
      }
    }
  }
}
