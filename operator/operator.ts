import { redisOptions } from '../core/redis-settings.ts';
import { createRedisRoutingTable } from '../core/store/redis/routing-table-store.ts';
import { createRedisStore } from '../core/store/redis/redis-store.ts';
import type { RoutingTableStore } from '../core/routing-table.ts';
import type { StateStore } from '../core/store/state-store.ts';
import type { OperatorConfig } from './config.ts';
import { Controller } from './controller.ts';
import { PodsController, type PoolObservation } from './controllers/pods.ts';
import { VllmPoolController } from './controllers/vllmpool.ts';
import { WorkflowController } from './controllers/workflow.ts';
import { EventRecorder } from './events.ts';
import { Informer } from './informer.ts';
import { Kube } from './kube.ts';
import { LeaderElector, kubeLeaseClient } from './leader-election.ts';
import { createLogger, errorMessage, type Logger } from './logger.ts';
import { OperatorMetrics, startMetricsServer, type MetricsServer } from './metrics.ts';
import {
  customResourceSchema,
  objectKey,
  podSchema,
  splitKey,
  type CustomResource,
  type PodObject,
} from './resources.ts';

export interface OperatorDeps {
  kube?: Kube;
  store?: StateStore;
  table?: RoutingTableStore;
  logger?: Logger;
}

/** Why the operator stopped: asked to (signal, stop()), or it lost the lease (it must exit). */
export type StopReason = 'stopped' | 'lost-lease';

const WORKERS = 4;

/** Everything that runs only while this replica leads: informers, controllers, the recorder. */
interface Leading {
  informers: { stop(): Promise<void> }[];
  controllers: Controller[];
  events: EventRecorder;
}

/**
 * The operator process: metrics server, Redis connections, and (when leading, or always
 * without leader election) three informers feeding three controllers.
 */
export class Operator {
  readonly config: OperatorConfig;
  readonly kube: Kube;
  readonly metrics = new OperatorMetrics();
  readonly logger: Logger;
  /** Resolves when the operator has stopped, with the reason. */
  readonly done: Promise<StopReason>;
  private readonly store: StateStore;
  private readonly table: RoutingTableStore;
  private readonly ownsRedis: boolean;
  private elector: LeaderElector | undefined;
  private server: MetricsServer | undefined;
  private leading: Leading | undefined;
  private starting: Promise<void> | undefined;
  private finish: ((reason: StopReason) => void) | undefined;
  private stopping: Promise<void> | undefined;
  /** Set first thing when stopping: a start in progress gives up at its next step. */
  private closing = false;

  private constructor(
    config: OperatorConfig,
    kube: Kube,
    store: StateStore,
    table: RoutingTableStore,
    logger: Logger,
    ownsRedis: boolean,
  ) {
    this.config = config;
    this.kube = kube;
    this.store = store;
    this.table = table;
    this.logger = logger;
    this.ownsRedis = ownsRedis;
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  /** Connects to Kubernetes and Redis, serves metrics, and starts campaigning (or leading). */
  static async start(config: OperatorConfig, deps: OperatorDeps = {}): Promise<Operator> {
    const logger = deps.logger ?? createLogger(config.logLevel);
    const kube = deps.kube ?? Kube.load(config.kubeconfig);
    const redis = redisOptions(config);
    const store = deps.store ?? (await createRedisStore(redis));
    let table: RoutingTableStore;
    try {
      table = deps.table ?? (await createRedisRoutingTable(redis));
    } catch (error) {
      if (!deps.store) await store.close();
      throw error;
    }
    const operator = new Operator(config, kube, store, table, logger, deps.store === undefined);
    await operator.begin();
    return operator;
  }

  /** True while controllers run. */
  get isLeading(): boolean {
    return this.leading !== undefined;
  }

  get metricsUrl(): string | undefined {
    return this.server?.url;
  }

  private async begin(): Promise<void> {
    this.server = await startMetricsServer(
      this.metrics,
      this.config.metricsHost,
      this.config.metricsPort,
      () => this.stopping === undefined,
    );
    this.logger.info('operator started', {
      identity: this.config.identity,
      namespace: this.config.namespace ?? '(all)',
      leaderElect: this.config.leaderElect,
      metrics: this.server.url,
    });
    if (!this.config.leaderElect) {
      this.metrics.leader.set(1);
      this.starting = this.lead().catch((error: unknown) => {
        this.logger.error('could not start the controllers', { error: errorMessage(error) });
        void this.stop('stopped');
      });
      return;
    }
    const leaseNamespace =
      this.config.leaseNamespace ?? Kube.podNamespace() ?? this.config.namespace ?? 'default';
    this.elector = new LeaderElector(kubeLeaseClient(this.kube, leaseNamespace, this.config.leaseName), {
      identity: this.config.identity,
      leaseDurationMs: this.config.leaseDurationMs,
      renewDeadlineMs: this.config.renewDeadlineMs,
      retryPeriodMs: this.config.retryPeriodMs,
      logger: this.logger,
    });
    void this.elector.run({
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.starting = this.lead().catch((error: unknown) => {
          this.logger.error('could not start the controllers', { error: errorMessage(error) });
          void this.stop('lost-lease');
        });
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        if (this.stopping === undefined) void this.stop('lost-lease');
      },
    });
  }

  /** Starts informers, waits for their first lists, cleans the table, starts the controllers. */
  private async lead(): Promise<void> {
    const { config, kube, logger, metrics } = this;
    const ns = config.namespace;
    const custom = (name: 'vllmpools' | 'workflows'): Informer<CustomResource> =>
      new Informer<CustomResource>({
        name,
        kc: kube.kc,
        path: Kube.customPath(name, ns),
        list: () => kube.listCustom(name, ns),
        parse: (raw) => customResourceSchema.safeParse(raw).data,
        keyOf: (o) => objectKey(o.metadata),
        logger,
      });
    const pools = custom('vllmpools');
    const workflows = custom('workflows');
    const pods = new Informer<PodObject>({
      name: 'pods',
      kc: kube.kc,
      path: Kube.podsPath(ns),
      list: () => kube.listPods(ns),
      parse: (raw) => podSchema.safeParse(raw).data,
      keyOf: (o) => objectKey(o.metadata),
      logger,
    });
    const events = new EventRecorder(kube, {
      component: 'workflow-operator',
      instance: config.identity,
      logger,
      metrics,
    });
    const observations = new Map<string, PoolObservation>();
    const initial = await this.table.read();
    if (this.closing) return;
    const initialMembers = new Map(
      initial.pools.map((p) => [`${p.namespace}/${p.name}`, new Set(p.pods.map((x) => x.name))]),
    );

    const vllmPools = new VllmPoolController({
      kube,
      pools,
      observations,
      pins: this.store.pins,
      logger,
      metrics,
      statusIntervalMs: config.statusIntervalMs,
    });
    const poolStatus = new Controller({
      name: 'vllmpool',
      reconcile: (key) => vllmPools.reconcile(key),
      workers: WORKERS,
      logger,
      metrics,
    });
    const podsReconciler = new PodsController({
      pools,
      pods,
      table: this.table,
      events,
      observations,
      onObserved: (key) => poolStatus.enqueue(key),
      logger,
      metrics,
      initialMembers,
    });
    const podsController = new Controller({
      name: 'pods',
      reconcile: (key) => podsReconciler.reconcile(key),
      workers: WORKERS,
      logger,
      metrics,
    });
    const workflowReconciler = new WorkflowController({
      kube,
      workflows,
      pools,
      store: this.store.workflows,
      events,
      logger,
      metrics,
      statusIntervalMs: config.statusIntervalMs,
      workflowTtlSeconds: config.workflowTtlSeconds,
    });
    const workflowController = new Controller({
      name: 'workflow',
      reconcile: (key) => workflowReconciler.reconcile(key),
      workers: WORKERS,
      logger,
      metrics,
    });

    pools.on((type, pool) => {
      const key = objectKey(pool.metadata);
      podsController.enqueue(key);
      poolStatus.enqueue(key);
      if (type !== 'update') {
        for (const wf of workflowReconciler.referencing(pool.metadata.namespace, pool.metadata.name))
          workflowController.enqueue(wf);
      }
    });
    workflows.on((type, wf) => {
      workflowController.enqueue(objectKey(wf.metadata));
      // A Workflow that goes hands its Redis id to the next one of the same tenant and name.
      if (type === 'delete')
        for (const other of workflowReconciler.sharingId(wf)) workflowController.enqueue(other);
    });
    pods.on((_type, pod, old) => {
      const keys = new Set([
        ...podsReconciler.poolsSelecting(pod.metadata.namespace, pod.metadata.labels),
        ...(old ? podsReconciler.poolsSelecting(old.metadata.namespace, old.metadata.labels) : []),
      ]);
      for (const key of keys) podsController.enqueue(key);
    });

    this.leading = {
      informers: [pools, workflows, pods],
      controllers: [podsController, poolStatus, workflowController],
      events,
    };
    // Pods first, so the first reconcile of each pool sees its pods.
    // Stopping meanwhile stops the informers, which ends these waits.
    await pods.start();
    await Promise.all([pools.start(), workflows.start()]);
    if (this.closing) return;
    const known = new Set(pools.list().map((p) => objectKey(p.metadata)));
    const stale = initial.pools
      .map((p) => `${p.namespace}/${p.name}`)
      .filter((key) => !known.has(key) && (ns === undefined || splitKey(key).namespace === ns));
    if (stale.length > 0) {
      await this.table.update({ remove: stale }, Date.now());
      logger.info('removed pools that no longer exist from the routing table', { pools: stale });
    }
    for (const controller of this.leading.controllers) controller.start();
    logger.info('controllers running', {
      pools: pools.list().length,
      workflows: workflows.list().length,
      pods: pods.list().length,
    });
  }

  /** Stops controllers (finishing reconciles in progress), informers, the lease, Redis and the metrics server. */
  stop(reason: StopReason = 'stopped'): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: StopReason): Promise<void> {
    this.closing = true;
    this.logger.info('operator stopping', { reason });
    const leading = this.leading;
    this.leading = undefined;
    if (leading) {
      await Promise.all(leading.controllers.map((c) => c.stop()));
      await Promise.all(leading.informers.map((i) => i.stop()));
      await leading.events.flush();
    }
    await this.starting;
    await this.elector?.stop();
    this.metrics.leader.set(0);
    if (this.ownsRedis) {
      await this.table.close();
      await this.store.close();
    }
    await this.server?.close();
    this.finish?.(reason);
  }
}
