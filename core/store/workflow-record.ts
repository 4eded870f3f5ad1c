import type { WorkflowKey } from '../ids.ts';
import type { WorkflowSpec } from '../workflow-spec.ts';
import type { WorkflowInit } from './state-store.ts';
import type { AgentStats, WorkflowEvent, WorkflowRecord } from './records.ts';

/** Pure record logic shared by the stores: creation, declaration, and folding in events. */
export function newRecord(key: WorkflowKey, init: WorkflowInit, now: number): WorkflowRecord {
  return {
    key,
    spec: undefined,
    strategy: init.strategy,
    priority: init.priority,
    pinnedPod: undefined,
    createdAt: now,
    lastActiveAt: now,
    ttlSeconds: init.ttlSeconds,
    expiresAt: now + init.ttlSeconds * 1000,
    calls: 0,
    errors: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    agents: {},
    messages: { sent: 0, delivered: 0, refused: 0 },
    migrations: 0,
    spills: 0,
    inflight: 0,
    contextTokens: 0,
    contextEntries: 0,
    contextBudgetReached: false,
  };
}

/** Applies a declaration: the spec's strategy, priority and ttl win over call-time defaults. */
export function applySpec(
  record: WorkflowRecord,
  spec: WorkflowSpec,
  now: number,
  defaultTtlSeconds: number,
): void {
  record.spec = spec;
  record.strategy = spec.contextSharing;
  record.priority = spec.priority;
  record.ttlSeconds = spec.ttlSeconds ?? defaultTtlSeconds;
  touch(record, now);
}

export function touch(record: WorkflowRecord, now: number): void {
  record.lastActiveAt = Math.max(record.lastActiveAt, now);
  record.expiresAt = record.lastActiveAt + record.ttlSeconds * 1000;
}

function agentStats(record: WorkflowRecord, agent: string): AgentStats {
  const existing = record.agents[agent];
  if (existing) return existing;
  const created: AgentStats = {
    calls: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    errors: 0,
    lastSeenAt: 0,
  };
  record.agents[agent] = created;
  return created;
}

/** Folds one event into a record. Counters are additive, so replicas may apply in any order. */
export function applyEvent(record: WorkflowRecord, event: WorkflowEvent): void {
  touch(record, event.at);
  switch (event.type) {
    // Calls in flight are not counted from these events but from each replica's share of them
    // (stats-batch.ts): a crashed replica never sends the end of its calls.
    case 'call-start': {
      if (event.agent !== undefined) agentStats(record, event.agent).lastSeenAt = event.at;
      return;
    }
    case 'call': {
      const agent = event.agent === undefined ? undefined : agentStats(record, event.agent);
      if (agent) agent.lastSeenAt = Math.max(agent.lastSeenAt, event.at);
      if (!event.ok) {
        record.errors += 1;
        if (agent) agent.errors += 1;
        return;
      }
      record.calls += 1;
      if (agent) agent.calls += 1;
      if (event.usage) {
        record.promptTokens += event.usage.promptTokens;
        record.cachedTokens += event.usage.cachedTokens;
        record.completionTokens += event.usage.completionTokens;
        if (agent) {
          agent.promptTokens += event.usage.promptTokens;
          agent.cachedTokens += event.usage.cachedTokens;
          agent.completionTokens += event.usage.completionTokens;
        }
      }
      return;
    }
    case 'spill':
      record.spills += 1;
      return;
    case 'migration':
      record.migrations += 1;
      return;
    case 'messages':
      record.messages.sent += event.sent;
      record.messages.delivered += event.delivered;
      record.messages.refused += event.refused;
      return;
  }
}

/** Cache hit rate as vLLM reports it: cached prompt tokens over prompt tokens. */
export function hitRate(record: { promptTokens: number; cachedTokens: number }): number {
  return record.promptTokens === 0 ? 0 : record.cachedTokens / record.promptTokens;
}
