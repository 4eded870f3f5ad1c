import { keyString, type WorkflowKey } from '../../ids.ts';
import type { WorkflowSpec } from '../../workflow-spec.ts';
import { emptyTotals, type WorkflowEvent, type WorkflowRecord, type WorkflowTotals } from '../records.ts';
import type { EnsureResult, WorkflowInit, WorkflowStore } from '../state-store.ts';
import { applyEvent, applySpec, newRecord, touch } from '../workflow-record.ts';
import { snapshot, type MemoryState } from './state.ts';

export class MemoryWorkflows implements WorkflowStore {
  private readonly state: MemoryState;

  constructor(state: MemoryState) {
    this.state = state;
  }

  declare(
    key: WorkflowKey,
    spec: WorkflowSpec,
    init: WorkflowInit,
    now: number,
    maxWorkflows: number,
  ): Promise<EnsureResult> {
    const result = this.ensureNow(key, init, now, maxWorkflows);
    const record = this.state.find(key)?.record;
    if (!record) return Promise.resolve(result);
    applySpec(record, spec, now, init.ttlSeconds);
    return Promise.resolve({ ...result, record: snapshot(record) });
  }

  ensure(key: WorkflowKey, init: WorkflowInit, now: number, maxWorkflows: number): Promise<EnsureResult> {
    return Promise.resolve(this.ensureNow(key, init, now, maxWorkflows));
  }

  private ensureNow(key: WorkflowKey, init: WorkflowInit, now: number, maxWorkflows: number): EnsureResult {
    const existing = this.state.find(key);
    if (existing) {
      touch(existing.record, now);
      return { record: snapshot(existing.record), created: false, evicted: [] };
    }
    const evicted = this.evictFor(maxWorkflows);
    const record = newRecord(key, init, now);
    this.state.workflows.set(keyString(key), {
      record,
      context: [],
      inboxes: new Map(),
      delivered: new Map(),
    });
    return { record: snapshot(record), created: true, evicted };
  }

  /** Makes room for one more workflow by evicting the least recently active idle ones. */
  private evictFor(maxWorkflows: number): WorkflowKey[] {
    const evicted: WorkflowKey[] = [];
    if (this.state.workflows.size < maxWorkflows) return evicted;
    const idle = [...this.state.workflows.values()]
      .map((s) => s.record)
      .filter((r) => r.inflight === 0)
      .sort((a, b) => a.lastActiveAt - b.lastActiveAt);
    for (const record of idle) {
      if (this.state.workflows.size < maxWorkflows) break;
      this.state.remove(record.key);
      this.state.evicted += 1;
      evicted.push(record.key);
    }
    return evicted;
  }

  get(key: WorkflowKey): Promise<WorkflowRecord | undefined> {
    const record = this.state.find(key)?.record;
    return Promise.resolve(record && snapshot(record));
  }

  list(tenant?: string): Promise<WorkflowRecord[]> {
    const records = [...this.state.workflows.values()]
      .map((s) => s.record)
      .filter((r) => tenant === undefined || r.key.tenant === tenant);
    return Promise.resolve(records.map((r) => snapshot(r)));
  }

  apply(events: readonly WorkflowEvent[]): Promise<void> {
    for (const event of events) {
      const record = this.state.find(event.key)?.record;
      if (record) applyEvent(record, event);
    }
    return Promise.resolve();
  }

  delete(key: WorkflowKey): Promise<boolean> {
    return Promise.resolve(this.state.remove(key));
  }

  expire(now: number): Promise<WorkflowKey[]> {
    const expired = [...this.state.workflows.values()]
      .map((s) => s.record)
      .filter((r) => r.expiresAt <= now)
      .map((r) => r.key);
    for (const key of expired) {
      this.state.remove(key);
      this.state.expired += 1;
    }
    return Promise.resolve(expired);
  }

  countLive(tenant: string): Promise<number> {
    let live = 0;
    for (const { record } of this.state.workflows.values()) if (record.key.tenant === tenant) live += 1;
    return Promise.resolve(live);
  }

  totals(tenant?: string): Promise<WorkflowTotals> {
    const totals = emptyTotals();
    totals.evicted = this.state.evicted;
    totals.expired = this.state.expired;
    for (const { record } of this.state.workflows.values()) {
      if (tenant !== undefined && record.key.tenant !== tenant) continue;
      totals.live += 1;
      totals.calls += record.calls;
      totals.promptTokens += record.promptTokens;
      totals.cachedTokens += record.cachedTokens;
      totals.completionTokens += record.completionTokens;
      totals.migrations += record.migrations;
      totals.spills += record.spills;
      totals.messages.sent += record.messages.sent;
      totals.messages.delivered += record.messages.delivered;
      totals.messages.refused += record.messages.refused;
    }
    return Promise.resolve(totals);
  }
}
