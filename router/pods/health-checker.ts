import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { Pod } from './pod.ts';
import type { PodPool } from './pool.ts';
import { parsePodMetrics } from './prometheus-text.ts';

/**
 * Probes every pod's /health and scrapes its /metrics each interval. One failed probe takes a
 * pod out (a dead pod must stop receiving calls at once); one good probe brings it back.
 */
export class HealthChecker {
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
      if (!health.ok) pod.markDown('unhealthy');
      else pod.markUp();
    } catch {
      pod.markDown('probe-failed');
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
