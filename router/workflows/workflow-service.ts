import { forbidden, ApiError } from '../../core/errors.ts';
import { keyString, type WorkflowKey } from '../../core/ids.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import type { EnsureResult, StateStore, WorkflowInit } from '../../core/store/state-store.ts';
import type { ContextSharing } from '../../core/strategy.ts';
import type { WorkflowSpec } from '../../core/workflow-spec.ts';
import type { RouterConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import { StatsBatcher } from './stats-batcher.ts';

/** Checks a workflow just created against its tenant's limit (rate-limit.ts); throws 429 after removing it. */
export interface CreationGuard {
  checkNewWorkflow(key: WorkflowKey): Promise<void>;
}

/** Workflow lifecycle on this replica: creation, declarations, eviction and expiry, statistics. */
export class WorkflowService {
  readonly stats: StatsBatcher;
  private readonly store: StateStore;
  private readonly config: RouterConfig;
  private readonly logger: Logger;
  private readonly metrics: RouterMetrics;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly guard: CreationGuard | undefined;

  constructor(
    store: StateStore,
    config: RouterConfig,
    logger: Logger,
    metrics: RouterMetrics,
    guard?: CreationGuard,
  ) {
    this.guard = guard;
    this.store = store;
    this.config = config;
    this.logger = logger;
    this.metrics = metrics;
    this.stats = new StatsBatcher(
      store.workflows,
      config.statsFlushMs,
      logger,
      metrics,
      () => store.health() === 'degraded',
      config.inflightLeaseMs,
    );
  }

  init(strategy?: ContextSharing, priority?: number): WorkflowInit {
    return {
      strategy: strategy ?? 'auto',
      priority: priority ?? 50,
      ttlSeconds: this.config.workflowTtlSeconds,
    };
  }

  /** The workflow of a call or message, created on first sight. */
  async ensure(key: WorkflowKey, strategy?: ContextSharing, priority?: number): Promise<WorkflowRecord> {
    const result = await this.store.workflows.ensure(
      key,
      this.init(strategy, priority),
      Date.now(),
      this.config.maxWorkflows,
    );
    this.noteEvictions(result);
    if (result.created) await this.guard?.checkNewWorkflow(key);
    return result.record;
  }

  async declare(key: WorkflowKey, spec: WorkflowSpec): Promise<EnsureResult> {
    const result = await this.store.workflows.declare(
      key,
      spec,
      this.init(),
      Date.now(),
      this.config.maxWorkflows,
    );
    this.noteEvictions(result);
    if (result.created) await this.guard?.checkNewWorkflow(key);
    return result;
  }

  private noteEvictions(result: EnsureResult): void {
    if (result.evicted.length === 0) return;
    this.metrics.workflowsRemoved.inc({ reason: 'evicted' }, result.evicted.length);
    this.logger.info('workflows evicted (over --max-workflows)', { evicted: result.evicted.map(keyString) });
  }

  /** 403 when the workflow declares its agents and this one is not among them. */
  static checkAgentDeclared(record: WorkflowRecord, agent: string | undefined, role = 'agent'): void {
    const agents = record.spec?.agents;
    if (!agents || agents.length === 0 || agent === undefined) return;
    if (!agents.some((a) => a.name === agent)) {
      throw forbidden(
        `${role} "${agent}" is not declared by workflow "${record.key.id}" (declared: ${agents.map((a) => a.name).join(', ')})`,
        'agent_not_declared',
      );
    }
  }

  async exists(key: WorkflowKey): Promise<boolean> {
    return (await this.store.workflows.get(key)) !== undefined;
  }

  async delete(key: WorkflowKey): Promise<boolean> {
    const deleted = await this.store.workflows.delete(key);
    if (deleted) this.metrics.workflowsRemoved.inc({ reason: 'deleted' });
    return deleted;
  }

  /** Expires idle workflows periodically; with Redis any replica may do it, the store makes it idempotent. */
  startExpirySweeper(): void {
    const every = Math.min(30_000, Math.max(1000, (this.config.workflowTtlSeconds * 1000) / 4));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  async sweep(): Promise<void> {
    try {
      const expired = await this.store.workflows.expire(Date.now());
      if (expired.length > 0) {
        this.metrics.workflowsRemoved.inc({ reason: 'expired' }, expired.length);
        this.logger.info('workflows expired', { expired: expired.map(keyString) });
      }
    } catch (error) {
      if (!(error instanceof ApiError)) this.metrics.storeErrors.inc({ operation: 'expire' });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.stats.close();
  }
}
