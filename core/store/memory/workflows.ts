import { keyString, type WorkflowKey } from '../../ids.ts';
import type { WorkflowSpec } from '../../workflow-spec.ts';
import { emptyTotals, type WorkflowEvent, type WorkflowRecord, type WorkflowTotals } from '../records.ts';
import type { EnsureResult, WorkflowInit, WorkflowStore } from '../state-store.ts';
import { alreadyApplied, forgettable, liveCalls, markAfter, type StatsBatch } from '../stats-batch.ts';
import { applyEvent, applySpec, newRecord, touch } from '../workflow-record.ts';
import { snapshot, type MemoryState, type WorkflowState } from './state.ts';

/** The record as callers see it: a copy, with the calls in flight of the live shares now. */
function view(state: WorkflowState, now = Date.now()): WorkflowRecord {
  const copy = snapshot(state.record);
  copy.inflight = liveCalls(state.writers.values(), now);
  return copy;
}

/** Groups a batch's events and shares by workflow (as the Redis store runs one script per workflow). */
function byWorkflow(batch: StatsBatch): Map<string, { events: WorkflowEvent[]; calls: number | undefined }> {
  const groups = new Map<string, { events: WorkflowEvent[]; calls: number | undefined }>();
  const group = (key: WorkflowKey): { events: WorkflowEvent[]; calls: number | undefined } => {
    const id = keyString(key);
    const found = groups.get(id) ?? { events: [], calls: undefined };
    groups.set(id, found);
    return found;
  };
  for (const event of batch.events) group(event.key).events.push(event);
  for (const share of batch.inflight) group(share.key).calls = share.calls;
  return groups;
}

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
    const state = this.state.find(key);
    if (!state) return Promise.resolve(result);
    applySpec(state.record, spec, now, init.ttlSeconds);
    return Promise.resolve({ ...result, record: view(state) });
  }

  ensure(key: WorkflowKey, init: WorkflowInit, now: number, maxWorkflows: number): Promise<EnsureResult> {
    return Promise.resolve(this.ensureNow(key, init, now, maxWorkflows));
  }

  private ensureNow(key: WorkflowKey, init: WorkflowInit, now: number, maxWorkflows: number): EnsureResult {
    const existing = this.state.find(key);
    if (existing) {
      touch(existing.record, now);
      return { record: view(existing), created: false, evicted: [] };
    }
    const evicted = this.evictFor(maxWorkflows);
    const record = newRecord(key, init, now);
    this.state.workflows.set(keyString(key), {
      record,
      context: [],
      inboxes: new Map(),
      delivered: new Map(),
      writers: new Map(),
    });
    return { record: snapshot(record), created: true, evicted };
  }

  /** Makes room for one more workflow by evicting the least recently active idle ones. */
  private evictFor(maxWorkflows: number): WorkflowKey[] {
    const evicted: WorkflowKey[] = [];
    if (this.state.workflows.size < maxWorkflows) return evicted;
    const now = Date.now();
    const idle = [...this.state.workflows.values()]
      .filter((s) => liveCalls(s.writers.values(), now) === 0)
      .map((s) => s.record)
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
    const state = this.state.find(key);
    return Promise.resolve(state && view(state));
  }

  list(tenant?: string): Promise<WorkflowRecord[]> {
    const states = [...this.state.workflows.values()].filter(
      (s) => tenant === undefined || s.record.key.tenant === tenant,
    );
    return Promise.resolve(states.map((s) => view(s)));
  }

  /** As apply-events.lua does per workflow: skip a re-sent batch, fold the events, record the share. */
  apply(batch: StatsBatch): Promise<void> {
    const now = Date.now();
    for (const [id, group] of byWorkflow(batch)) {
      const state = this.state.workflows.get(id);
      if (!state) continue;
      const mark = state.writers.get(batch.writer);
      if (alreadyApplied(mark, batch.seq)) continue;
      for (const event of group.events) applyEvent(state.record, event);
      if (!mark)
        for (const [writer, old] of state.writers) if (forgettable(old, now)) state.writers.delete(writer);
      state.writers.set(batch.writer, markAfter(mark, batch.seq, group.calls, batch.leaseMs, now));
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
