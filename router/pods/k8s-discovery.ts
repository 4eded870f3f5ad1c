import { redisOptions } from '../../core/redis-settings.ts';
import { createRedisRoutingTable } from '../../core/store/redis/routing-table-store.ts';
import {
  routingPodId,
  routingPoolId,
  type RoutingPod,
  type RoutingTable,
  type RoutingTableStore,
} from '../../core/routing-table.ts';
import type { RouterConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { PodPool } from './pool.ts';
import { poolSettingsOf } from './pool-settings.ts';

export interface K8sDiscoveryOptions {
  /** Safety net behind pub/sub: re-read the table this often (default 2000 ms). */
  pollMs?: number;
  metrics?: RouterMetrics;
}

/**
 * `--service-discovery k8s`: keeps the PodPool equal to the routable pods (ready and healthy)
 * of the routing table the operator writes into Redis. The table is read at start, on every
 * announcement and every `pollMs`. Health and load come from the operator's probes, so every
 * replica sees the same pods; a pod that leaves the table stops receiving calls at once (its
 * pinned workflows migrate on their next call) and is dropped once its calls in flight end.
 */
export class K8sDiscovery {
  private readonly table: RoutingTableStore;
  private readonly pool: PodPool;
  private readonly logger: Logger;
  private readonly options: K8sDiscoveryOptions;
  private applied: number | undefined;
  /** Last probe time applied per pod: only a newer probe may bring back a pod marked down locally. */
  private readonly probedAt = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(table: RoutingTableStore, pool: PodPool, logger: Logger, options: K8sDiscoveryOptions = {}) {
    this.table = table;
    this.pool = pool;
    this.logger = logger;
    this.options = options;
  }

  /** Reads the table once (so the router starts with the pods it has), then follows it. */
  async start(): Promise<void> {
    this.unsubscribe = this.table.subscribe((version) => {
      if (version === undefined || version !== this.applied) void this.refresh();
    });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs ?? 2000);
    this.timer.unref();
  }

  /** Version of the table the pool reflects (undefined before the first successful read). */
  get version(): number | undefined {
    return this.applied;
  }

  /** Reads and applies the table; concurrent calls coalesce into one more read. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async readOnce(): Promise<void> {
    if (this.closed) return;
    let table: RoutingTable;
    try {
      table = await this.table.read();
    } catch (error) {
      // Keep routing to the pods known so far; the next announcement or poll retries.
      this.logger.warn('routing table unreadable; keeping the last one', {
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    if (this.closed) return;
    if (table.version !== this.applied) this.apply(table);
    this.dropDrained();
  }

  /**
   * Makes the pool match the table's routable pods. A pod's id is `<namespace>/<pod name>`
   * (routingPodId): pod names repeat across namespaces, and pins must name one pod.
   */
  apply(table: RoutingTable): void {
    const routable = new Map<string, RoutingPod>();
    const poolsOf = new Map<string, string[]>();
    const inflightCaps = new Map<string, number>();
    for (const pool of table.pools) {
      const poolId = routingPoolId(pool);
      for (const pod of pool.pods) {
        if (!pod.ready || !pod.healthy) continue;
        const id = routingPodId(pool, pod);
        poolsOf.set(id, [...(poolsOf.get(id) ?? []), poolId]);
        if (pool.maxInflightPerPod !== undefined)
          inflightCaps.set(id, Math.min(inflightCaps.get(id) ?? Infinity, pool.maxInflightPerPod));
        const seen = routable.get(id);
        // A pod selected by two pools serves the models of both.
        routable.set(id, seen ? { ...pod, models: [...new Set([...seen.models, ...pod.models])] } : pod);
      }
    }
    this.pool.setPoolSettings(table.pools.map(poolSettingsOf));
    for (const [id, entry] of routable) {
      const known = this.pool.get(id);
      const pod = this.pool.upsert(id, entry.url, entry.models);
      if (known !== pod || pod.draining) this.logger.info('pod joined', { pod: id, url: entry.url });
      pod.draining = false;
      pod.pools = poolsOf.get(id) ?? [];
      pod.maxInflight = inflightCaps.get(id);
      if (entry.probedAt > (this.probedAt.get(id) ?? -1) || pod !== known) {
        pod.markUp();
        pod.scraped = {
          ...pod.scraped,
          running: entry.running,
          waiting: entry.waiting,
          kvUsage: entry.kvUsage,
        };
        pod.lastProbeAt = entry.probedAt;
        this.probedAt.set(id, entry.probedAt);
      }
      this.options.metrics?.podHealthy.set({ pod: pod.id }, pod.healthy ? 1 : 0);
    }
    for (const pod of this.pool.all()) {
      if (routable.has(pod.id) || pod.draining) continue;
      this.logger.info('pod left the routing table', { pod: pod.id, inflight: pod.inflight });
      pod.draining = true;
      this.probedAt.delete(pod.id);
      this.options.metrics?.podHealthy.set({ pod: pod.id }, 0);
    }
    this.applied = table.version;
  }

  /** Pods that left the table are removed once their calls in flight have ended. */
  private dropDrained(): void {
    for (const pod of this.pool.all()) if (pod.draining && pod.inflight === 0) this.pool.remove(pod.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    await this.refreshing;
    await this.table.close();
  }
}

/** Connects to the routing table in the router's Redis and starts following it. */
export async function startK8sDiscovery(
  config: RouterConfig,
  pool: PodPool,
  logger: Logger,
  options: K8sDiscoveryOptions = {},
): Promise<K8sDiscovery> {
  const table = await createRedisRoutingTable(redisOptions(config));
  const discovery = new K8sDiscovery(table, pool, logger, options);
  try {
    await discovery.start();
  } catch (error) {
    await discovery.close();
    throw error;
  }
  return discovery;
}
