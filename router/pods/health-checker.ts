import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { Pod } from './pod.ts';
import type { PodPool } from './pool.ts';
import { parsePodMetrics } from './prometheus-text.ts';

/** Probes in a row that must time out before a pod that answers nothing is taken out. */
export const TIMEOUTS_TO_FAIL = 3;

/**
 * Probes every pod's /health and scrapes its /metrics each interval. One failed probe takes a
 * pod out (a dead pod must stop receiving calls at once); one good probe brings it back.
 * A probe that only timed out is not proof of death: a busy host (or this replica's own busy
 * event loop) can be slow to answer while the pod serves calls, and taking every pod out at
 * once answers every call 503. So a timeout takes a pod out only at the
 * {@link TIMEOUTS_TO_FAIL}th in a row, Kubernetes' default failureThreshold; a refused or reset
 * connection or a non-2xx answer still takes it out at once.
 */
export class HealthChecker {
  /** Probes timed out in a row, by pod id (cleared by any other outcome). */
  private readonly timeouts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly pool: PodPool;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly metrics: RouterMetrics;
  private running: Promise<void> | undefined;

  constructor(pool: PodPool, intervalMs: number, logger: Logger, metrics: RouterMetrics) {
    this.pool = pool;
    this.intervalMs = intervalMs;
    this.logger = logger;
    this.metrics = metrics;
  }

  /** Probes once now (so the router starts with a true picture), then every interval. */
  async start(): Promise<void> {
    await this.checkAll();
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.checkAll().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  checkAll(): Promise<void> {
    return Promise.all(this.pool.all().map((pod) => this.check(pod))).then(() => undefined);
  }

  private async check(pod: Pod): Promise<void> {
    // A sub-second interval must not shrink the timeout below what a busy host needs to answer:
    // one slow probe takes a healthy pod out. A dead pod refuses at once, whatever the timeout.
    const timeoutMs = Math.max(1000, Math.min(this.intervalMs, 2000));
    const wasHealthy = pod.healthy;
    try {
      const health = await fetch(`${pod.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await health.arrayBuffer();
      this.timeouts.delete(pod.id);
      if (!health.ok) pod.markDown('unhealthy');
      else pod.markUp();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      const inARow = timedOut ? (this.timeouts.get(pod.id) ?? 0) + 1 : 0;
      if (timedOut) this.timeouts.set(pod.id, inARow);
      else this.timeouts.delete(pod.id);
      if (!timedOut || inARow >= TIMEOUTS_TO_FAIL) pod.markDown('probe-failed');
    }
    if (pod.healthy) {
      try {
        const scrape = await fetch(`${pod.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
        if (scrape.ok) pod.scraped = parsePodMetrics(await scrape.text());
        else await scrape.arrayBuffer();
      } catch {
        // The pod passed its health check; a failed scrape only leaves its load figures stale.
      }
    }
    pod.lastProbeAt = Date.now();
    this.metrics.podHealthy.set({ pod: pod.id }, pod.healthy ? 1 : 0);
    if (wasHealthy !== pod.healthy) {
      this.logger.warn(pod.healthy ? 'pod up' : 'pod down', {
        pod: pod.id,
        url: pod.url,
        reason: pod.downReason,
      });
    }
  }
}
