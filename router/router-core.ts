import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { StateStore } from '../core/store/state-store.ts';
import type { RouterConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { RouterMetrics } from './metrics.ts';
import { isStoreUnavailable } from '../core/store/errors.ts';
import { DecisionLog } from './dashboard/decisions.ts';
import { TopWorkflows } from './dashboard/top-workflows.ts';
import { DegradedPins } from './degraded-pins.ts';
import { DeliveryBatcher } from './messages/deliveries.ts';
import { Keyring } from './http/api-keys.ts';
import { TenantLimiter } from './http/rate-limit.ts';
import { HealthChecker } from './pods/health-checker.ts';
import type { Pod } from './pods/pod.ts';
import type { PodPool } from './pods/pool.ts';
import { PrefixIndex } from './prefix-index.ts';
import { AdmissionGate } from './proxy/admission.ts';
import { Forwarder } from './proxy/forwarder.ts';
import { RoutingService } from './routing-service.ts';
import { RouterTracing } from './tracing.ts';
import { WorkflowService } from './workflows/workflow-service.ts';

/** The parts of one router replica, wired once and shared by the HTTP handlers. */
export class RouterCore {
  readonly config: RouterConfig;
  readonly store: StateStore;
  readonly pool: PodPool;
  readonly logger: Logger;
  readonly metrics: RouterMetrics;
  readonly prefixIndex = new PrefixIndex();
  readonly forwarder: Forwarder;
  /** The API keys (digests, tenants, roles) and the per-tenant limits they carry. */
  readonly keyring: Keyring;
  readonly limiter: TenantLimiter;
  /** Aborted when a SIGTERM starts draining: long polls and inbox streams end so the replica can go. */
  readonly draining = new AbortController();
  readonly workflows: WorkflowService;
  /** Delivered counts of what inbox streams read, written in batches. */
  readonly deliveries: DeliveryBatcher;
  readonly routing: RoutingService;
  readonly health: HealthChecker;
  readonly degradedPins = new DegradedPins();
  /** Latest routing decisions (dashboard), spans (--otel-endpoint), top workflows (dashboard, metrics). */
  readonly decisions = new DecisionLog();
  readonly tracing: RouterTracing;
  readonly topWorkflows: TopWorkflows;
  private readonly gates = new Map<string, AdmissionGate>();
  private unsubscribeHealth: (() => void) | undefined;

  constructor(
    config: RouterConfig,
    store: StateStore,
    pool: PodPool,
    logger: Logger,
    metrics: RouterMetrics,
    spanExporter?: SpanExporter,
  ) {
    this.config = config;
    this.store = store;
    this.pool = pool;
    this.logger = logger;
    this.metrics = metrics;
    this.forwarder = new Forwarder({
      connectTimeoutMs: config.upstreamConnectTimeoutMs,
      firstByteTimeoutMs: config.upstreamFirstByteTimeoutMs,
    });
    this.keyring = new Keyring(config.apiKeys, config.apiKeysFile);
    this.limiter = new TenantLimiter(store, this.keyring, config.tenantLimits, metrics, logger);
    this.workflows = new WorkflowService(store, config, logger, metrics, this.limiter);
    this.deliveries = new DeliveryBatcher(store.messages, config.statsFlushMs, {
      onRead: (key) =>
        this.workflows.stats.add({
          type: 'messages',
          key,
          at: Date.now(),
          sent: 0,
          delivered: 0,
          refused: 0,
        }),
      onDelivered: (_key, fresh) => metrics.messages.inc({ outcome: 'delivered' }, fresh),
      onError: () => metrics.storeErrors.inc({ operation: 'acknowledge' }),
    });
    this.routing = new RoutingService(
      pool,
      store,
      this.prefixIndex,
      config,
      this.workflows,
      metrics,
      logger,
      this.degradedPins,
    );
    this.health = new HealthChecker(pool, config.healthCheckIntervalMs, logger, metrics);
    this.tracing = RouterTracing.create(config, spanExporter);
    this.topWorkflows = new TopWorkflows(store, config, metrics);
  }

  /**
   * The admission gate of a pod (created on first use), at the pod's in-flight cap: its pools'
   * `maxInflightPerPod`, else `--max-inflight-per-pod`. A pool edit resizes the gate in place.
   */
  gate(pod: Pod): AdmissionGate {
    const limit = pod.maxInflight ?? this.config.maxInflightPerPod;
    let gate = this.gates.get(pod.id);
    if (!gate) {
      gate = new AdmissionGate(limit, this.config.admissionQueueSize);
      this.gates.set(pod.id, gate);
    } else if (gate.limit !== limit) gate.resize(limit);
    return gate;
  }

  queueDepth(podId: string): number {
    return this.gates.get(podId)?.depth ?? 0;
  }

  /** Gauges computed when Prometheus scrapes, not kept up to date on the hot path. */
  async refreshGauges(): Promise<void> {
    for (const pod of this.pool.all()) {
      this.metrics.podInflight.set({ pod: pod.id }, pod.inflight);
      this.metrics.admissionQueue.set({ pod: pod.id }, this.queueDepth(pod.id));
    }
    try {
      this.metrics.workflowsLive.set((await this.store.workflows.totals()).live);
    } catch {
      this.metrics.storeErrors.inc({ operation: 'workflow-totals' });
    }
  }

  async start(): Promise<void> {
    // With k8s discovery the operator probes the pods and the routing table carries the result.
    if (this.config.serviceDiscovery !== 'k8s') await this.health.start();
    this.workflows.startExpirySweeper();
    this.keyring.watch(10_000, (error) => {
      if (error)
        this.logger.error('api keys file not reloaded; the keys in use stay', { error: error.message });
      else this.logger.info('api keys file reloaded', { keys: this.keyring.size });
    });
    this.metrics.storeUp.set(this.store.health() === 'ok' ? 1 : 0);
    this.unsubscribeHealth = this.store.onHealthChange?.((health) => {
      this.metrics.storeUp.set(health === 'ok' ? 1 : 0);
      if (health === 'ok') {
        this.logger.info('state store reachable again; resuming');
        void this.recover();
      } else {
        this.logger.warn(
          'state store unreachable: routing from the near-cache and rendezvous hashing; messages answer 503',
        );
      }
    });
  }

  /** After an outage: claim the pins made meanwhile, then write the statistics kept back. */
  private async recover(): Promise<void> {
    // Held from the moment the store is back (this runs synchronously up to the first await):
    // a batch written before the reconciliation would drop the events of workflows born while
    // degraded, which the store does not know yet.
    const release = this.workflows.stats.hold();
    try {
      await this.degradedPins.reconcile(this.store, this.config.maxWorkflows, this.logger);
    } finally {
      release();
    }
    await this.workflows.stats.flush();
  }

  /** True when an error means the store is away (the caller degrades instead of failing). */
  static storeAway(error: unknown): boolean {
    return isStoreUnavailable(error);
  }

  async close(): Promise<void> {
    this.unsubscribeHealth?.();
    this.keyring.close();
    this.limiter.close();
    this.health.stop();
    // Before the statistics: the reads it notes restart their workflows' idle clocks.
    await this.deliveries.close();
    await this.workflows.close();
    this.forwarder.close();
    this.pool.close();
    await this.tracing.shutdown();
    await this.store.close();
  }
}
