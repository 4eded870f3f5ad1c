import type { WorkflowRecord } from './store/records.ts';
import { hitRate } from './store/workflow-record.ts';

/** Lifecycle phase shown by the API and on the Workflow resource. */
export type WorkflowPhase = 'Pending' | 'Active' | 'Idle' | 'Expired';

/** Active while a call runs or ran within the last minute; Pending before the first call. */
export function phaseOf(record: WorkflowRecord, now: number, activeWindowMs = 60_000): WorkflowPhase {
  if (record.expiresAt <= now) return 'Expired';
  if (record.inflight > 0 || (record.calls > 0 && now - record.lastActiveAt < activeWindowMs))
    return 'Active';
  if (record.calls === 0 && record.errors === 0) return 'Pending';
  return 'Idle';
}

const iso = (ms: number): string => new Date(ms).toISOString();
const rate = (r: { promptTokens: number; cachedTokens: number }): number =>
  Math.round(hitRate(r) * 10_000) / 10_000;

/** The JSON of `GET /v1/workflows/{id}/status` (snake_case, like the rest of the OpenAI surface). */
export function statusView(record: WorkflowRecord, now: number, contextBudgetTokens: number) {
  return {
    object: 'workflow.status',
    workflow_id: record.key.id,
    tenant: record.key.tenant,
    phase: phaseOf(record, now),
    declared: record.spec !== undefined,
    pinned_pod: record.pinnedPod ?? null,
    strategy: record.strategy,
    priority: record.priority,
    calls: record.calls,
    errors: record.errors,
    inflight: record.inflight,
    prompt_tokens: record.promptTokens,
    cached_tokens: record.cachedTokens,
    completion_tokens: record.completionTokens,
    cache_hit_rate: rate(record),
    agents: Object.fromEntries(
      Object.entries(record.agents).map(([name, a]) => [
        name,
        {
          calls: a.calls,
          errors: a.errors,
          prompt_tokens: a.promptTokens,
          cached_tokens: a.cachedTokens,
          completion_tokens: a.completionTokens,
          cache_hit_rate: rate(a),
          last_seen_at: a.lastSeenAt > 0 ? iso(a.lastSeenAt) : null,
        },
      ]),
    ),
    messages: { ...record.messages },
    migrations: record.migrations,
    spills: record.spills,
    shared_context: {
      entries: record.contextEntries,
      tokens: record.contextTokens,
      budget_tokens: contextBudgetTokens,
      budget_reached: record.contextBudgetReached,
    },
    created_at: iso(record.createdAt),
    last_active_at: iso(record.lastActiveAt),
    ttl_seconds: record.ttlSeconds,
    expires_at: iso(record.expiresAt),
    spec: record.spec ?? null,
  };
}

export type WorkflowStatusView = ReturnType<typeof statusView>;
