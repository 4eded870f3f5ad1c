/** What the live dashboard shows at one moment, as JSON (the feed's `snapshot` event). */
import { hitRate } from '../../core/store/workflow-record.ts';
import type { WorkflowTotals } from '../../core/store/records.ts';
import type { RouterCore } from '../router-core.ts';
import type { CallSummary } from '../tracing.ts';
import type { WorkflowRow } from './top-workflows.ts';

/** Workflows and decisions shown: the most recent ones, so a snapshot stays small. */
export const SNAPSHOT_WORKFLOWS = 50;
export const SNAPSHOT_DECISIONS = 25;

export interface PodRow {
  id: string;
  url: string;
  healthy: boolean;
  down_reason: string | null;
  draining: boolean;
  inflight: number;
  /** Calls waiting in the router's admission queue for this pod. */
  queued: number;
  running: number;
  waiting: number;
  kv_usage: number;
  pinned_workflows: number;
}

export interface DecisionRow {
  at: string;
  request_id: string;
  workflow_id: string | null;
  agent_id: string | null;
  pod: string | null;
  placement: string | null;
  outcome: string;
  duration_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  cached_tokens: number | null;
  trace_id: string | null;
}

export interface DashboardSnapshot {
  object: 'dashboard.snapshot';
  at: string;
  routing_logic: string;
  store: string;
  store_health: string;
  /** Null while the shared store cannot be read. */
  totals: {
    live_workflows: number;
    calls: number;
    prompt_tokens: number;
    cached_tokens: number;
    cache_hit_rate: number;
    spills: number;
    migrations: number;
    messages: { sent: number; delivered: number; refused: number };
  } | null;
  pods: PodRow[];
  workflows: WorkflowRow[];
  decisions: DecisionRow[];
}

function decisionRow(s: CallSummary): DecisionRow {
  return {
    at: new Date(s.at).toISOString(),
    request_id: s.requestId,
    workflow_id: s.workflowId,
    agent_id: s.agentId,
    pod: s.pod,
    placement: s.placement,
    outcome: s.outcome,
    duration_ms: s.durationMs,
    ttft_ms: s.ttftMs,
    prompt_tokens: s.promptTokens,
    cached_tokens: s.cachedTokens,
    trace_id: s.traceId,
  };
}

function totalsView(t: WorkflowTotals): NonNullable<DashboardSnapshot['totals']> {
  return {
    live_workflows: t.live,
    calls: t.calls,
    prompt_tokens: t.promptTokens,
    cached_tokens: t.cachedTokens,
    cache_hit_rate: Math.round(hitRate(t) * 10_000) / 10_000,
    spills: t.spills,
    migrations: t.migrations,
    messages: { ...t.messages },
  };
}

/** Reads one tenant's picture. Store failures leave workflows empty instead of failing the feed. */
export async function buildSnapshot(core: RouterCore, tenant: string): Promise<DashboardSnapshot> {
  let totals: DashboardSnapshot['totals'] = null;
  let workflows: WorkflowRow[] = [];
  let pinCounts: Record<string, number> = {};
  try {
    await core.workflows.stats.flush();
    totals = totalsView(await core.store.workflows.totals(tenant));
    workflows = await core.topWorkflows.rows(tenant, SNAPSHOT_WORKFLOWS);
    pinCounts = await core.store.pins.countsByPod();
  } catch {
    core.metrics.storeErrors.inc({ operation: 'dashboard' });
  }
  return {
    object: 'dashboard.snapshot',
    at: new Date().toISOString(),
    routing_logic: core.config.routingLogic,
    store: core.store.kind,
    store_health: core.store.health(),
    totals,
    pods: core.pool.all().map((p) => ({
      id: p.id,
      url: p.url,
      healthy: p.healthy,
      down_reason: p.downReason ?? null,
      draining: p.draining,
      inflight: p.inflight,
      queued: core.queueDepth(p.id),
      running: p.scraped.running,
      waiting: p.scraped.waiting,
      kv_usage: p.scraped.kvUsage,
      pinned_workflows: pinCounts[p.id] ?? 0,
    })),
    workflows,
    decisions: core.decisions.latest(tenant, SNAPSHOT_DECISIONS).map(decisionRow),
  };
}
