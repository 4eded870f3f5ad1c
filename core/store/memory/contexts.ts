import type { WorkflowKey } from '../../ids.ts';
import type { ContextEntry } from '../records.ts';
import type { ContextStore } from '../state-store.ts';
import type { MemoryState } from './state.ts';

export class MemoryContexts implements ContextStore {
  private readonly state: MemoryState;

  constructor(state: MemoryState) {
    this.state = state;
  }

  append(
    key: WorkflowKey,
    entry: ContextEntry,
    budgetTokens: number,
  ): Promise<{ appended: boolean; totalTokens: number }> {
    const workflow = this.state.find(key);
    if (!workflow) return Promise.resolve({ appended: false, totalTokens: 0 });
    const record = workflow.record;
    if (record.contextTokens + entry.tokens > budgetTokens) {
      record.contextBudgetReached = true;
      return Promise.resolve({ appended: false, totalTokens: record.contextTokens });
    }
    workflow.context.push({ ...entry });
    record.contextTokens += entry.tokens;
    record.contextEntries += 1;
    return Promise.resolve({ appended: true, totalTokens: record.contextTokens });
  }

  read(key: WorkflowKey): Promise<ContextEntry[]> {
    return Promise.resolve((this.state.find(key)?.context ?? []).map((e) => ({ ...e })));
  }
}
