import type { WorkflowKey } from '../ids.ts';
import type { ContextSharing } from '../strategy.ts';
import type { WorkflowSpec } from '../workflow-spec.ts';

/** Token usage of one finished call, as vLLM reported it. */
export interface CallUsage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

export interface AgentStats {
  calls: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  errors: number;
  lastSeenAt: number;
}

export interface MessageCounters {
  sent: number;
  delivered: number;
  refused: number;
}

/** Everything the fleet knows about one workflow: its declaration, pin and statistics. */
export interface WorkflowRecord {
  key: WorkflowKey;
  spec: WorkflowSpec | undefined;
  strategy: ContextSharing;
  priority: number;
  pinnedPod: string | undefined;
  createdAt: number;
  lastActiveAt: number;
  /** Idle time after which it expires: the declaration's, else the router's --workflow-ttl. */
  ttlSeconds: number;
  /** When it expires if it stays idle (lastActiveAt + ttl), in epoch ms. */
  expiresAt: number;
  calls: number;
  errors: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  agents: Record<string, AgentStats>;
  messages: MessageCounters;
  migrations: number;
  spills: number;
  /**
   * Calls started and not yet finished, fleet-wide: the sum of the replicas' live shares
   * (stats-batch.ts); a workflow mid-call is never evicted.
   */
  inflight: number;
  contextTokens: number;
  contextEntries: number;
  /** Set once an entry was refused because the shared context reached its token budget. */
  contextBudgetReached: boolean;
}

/**
 * Facts about workflows that the router learns on the request path. They are applied in
 * batches, off the hot path; each event carries its own timestamp so order across replicas
 * does not matter for counters.
 */
export type WorkflowEvent =
  | { type: 'call-start'; key: WorkflowKey; agent: string | undefined; at: number }
  | {
      type: 'call';
      key: WorkflowKey;
      agent: string | undefined;
      at: number;
      usage: CallUsage | undefined;
      ok: boolean;
    }
  | { type: 'spill'; key: WorkflowKey; at: number }
  | { type: 'migration'; key: WorkflowKey; at: number; from: string; to: string }
  | { type: 'messages'; key: WorkflowKey; at: number; sent: number; delivered: number; refused: number };

/** Defaults that apply to workflows created implicitly by their first call. */
export interface WorkflowDefaults {
  strategy: ContextSharing;
  priority: number;
  ttlSeconds: number;
}

/** Fleet-wide (or per-tenant) aggregate for `GET /v1/workflows/stats`. */
export interface WorkflowTotals {
  live: number;
  evicted: number;
  expired: number;
  calls: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  migrations: number;
  spills: number;
  messages: MessageCounters;
}

export function emptyTotals(): WorkflowTotals {
  return {
    live: 0,
    evicted: 0,
    expired: 0,
    calls: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    migrations: 0,
    spills: 0,
    messages: { sent: 0, delivered: 0, refused: 0 },
  };
}

/** An agent message as stored in an inbox. Ids order like Redis stream ids (`ms-seq`). */
export interface AgentMessage {
  id: string;
  from: string;
  to: string;
  payload: unknown;
  createdAt: number;
  expiresAt: number;
}

export interface ContextEntry {
  agent: string;
  text: string;
  tokens: number;
  at: number;
}
