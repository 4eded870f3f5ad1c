/**
 * The most recently active workflows with what an operator watches: pinned pod, calls, cache
 * hit rate, queued messages. Shared by the live dashboard and by the per-workflow Prometheus
 * gauges, which are bounded to `--metrics-top-workflows` series per family (0 turns them off)
 * so a fleet with thousands of workflows does not explode Prometheus' cardinality.
 */
import { Gauge } from 'prom-client';
import { hitRate } from '../../core/store/workflow-record.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import type { StateStore } from '../../core/store/state-store.ts';
import { phaseOf, type WorkflowPhase } from '../../core/workflow-status.ts';
import type { RouterConfig } from '../config.ts';
import type { RouterMetrics } from '../metrics.ts';

export interface WorkflowRow {
  tenant: string;
  workflow_id: string;
  phase: WorkflowPhase;
  strategy: string;
  pinned_pod: string | null;
  calls: number;
  errors: number;
  inflight: number;
  prompt_tokens: number;
  cached_tokens: number;
  cache_hit_rate: number;
  agents: { name: string; calls: number; cache_hit_rate: number }[];
  /** Unexpired messages held in the workflow's inboxes (what counts toward the queue limit). */
  queued_messages: number;
  messages: { sent: number; delivered: number; refused: number };
  spills: number;
  migrations: number;
  last_active_at: string;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** Reads workflow rows from the store; optionally exports them as bounded gauges. */
export class TopWorkflows {
  private readonly store: StateStore;
  private readonly metrics: RouterMetrics;
  private readonly limit: number;
  /** One store read per scrape, shared by the gauge families. */
  private scrape: { at: number; rows: Promise<WorkflowRow[]> } | undefined;

  constructor(store: StateStore, config: RouterConfig, metrics: RouterMetrics) {
    this.store = store;
    this.metrics = metrics;
    this.limit = config.metricsTopWorkflows;
    if (this.limit > 0) this.registerGauges();
  }

  /** Live workflows of `tenant` (every tenant when undefined), most recently active first. */
  async rows(tenant: string | undefined, limit: number, now = Date.now()): Promise<WorkflowRow[]> {
    const records = await this.store.workflows.list(tenant);
    records.sort((a, b) => b.lastActiveAt - a.lastActiveAt);
    return Promise.all(records.slice(0, limit).map((r) => this.row(r, now)));
  }

  private async row(record: WorkflowRecord, now: number): Promise<WorkflowRow> {
    let queued = 0;
    for (const agent of await this.store.messages.inboxes(record.key)) {
      queued += await this.store.messages.depth(record.key, agent, now);
    }
    return {
      tenant: record.key.tenant,
      workflow_id: record.key.id,
      phase: phaseOf(record, now),
      strategy: record.strategy,
      pinned_pod: record.pinnedPod ?? null,
      calls: record.calls,
      errors: record.errors,
      inflight: record.inflight,
      prompt_tokens: record.promptTokens,
      cached_tokens: record.cachedTokens,
      cache_hit_rate: round4(hitRate(record)),
      agents: Object.entries(record.agents)
        .map(([name, a]) => ({ name, calls: a.calls, cache_hit_rate: round4(hitRate(a)) }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      queued_messages: queued,
      messages: { ...record.messages },
      spills: record.spills,
      migrations: record.migrations,
      last_active_at: new Date(record.lastActiveAt).toISOString(),
    };
  }

  private scraped(): Promise<WorkflowRow[]> {
    const now = Date.now();
    if (!this.scrape || now - this.scrape.at > 1000) {
      const rows = this.rows(undefined, this.limit, now).catch(() => {
        this.metrics.storeErrors.inc({ operation: 'top-workflows' });
        return [];
      });
      this.scrape = { at: now, rows };
    }
    return this.scrape.rows;
  }

  private registerGauges(): void {
    const family = (name: string, help: string, value: (row: WorkflowRow) => number): void => {
      const gauge: Gauge<'tenant' | 'workflow'> = new Gauge({
        name,
        help: `${help}; only the ${this.limit} most recently active workflows (--metrics-top-workflows)`,
        labelNames: ['tenant', 'workflow'] as const,
        registers: [this.metrics.registry],
        collect: async () => {
          const rows = await this.scraped();
          gauge.reset();
          for (const row of rows) gauge.set({ tenant: row.tenant, workflow: row.workflow_id }, value(row));
        },
      });
    };
    family(
      'workflow_router_workflow_cache_hit_ratio',
      "Share of a workflow's prompt tokens served from the pods' prefix cache",
      (r) => r.cache_hit_rate,
    );
    family('workflow_router_workflow_calls', 'LLM calls of a workflow since it was created', (r) => r.calls);
    family(
      'workflow_router_workflow_queued_messages',
      "Unexpired agent messages held in a workflow's inboxes",
      (r) => r.queued_messages,
    );
  }
}
