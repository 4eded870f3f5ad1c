import type { WorkflowKey } from '../../ids.ts';
import type { PinStore } from '../state-store.ts';
import type { MemoryState } from './state.ts';

/** Pins live on the workflow's record, so deleting a workflow always drops its pin. */
export class MemoryPins implements PinStore {
  private readonly state: MemoryState;

  constructor(state: MemoryState) {
    this.state = state;
  }

  get(key: WorkflowKey): Promise<string | undefined> {
    return Promise.resolve(this.state.find(key)?.record.pinnedPod);
  }

  claim(key: WorkflowKey, pod: string): Promise<{ pod: string; won: boolean }> {
    const record = this.state.find(key)?.record;
    if (!record) return Promise.resolve({ pod, won: false });
    if (record.pinnedPod !== undefined) return Promise.resolve({ pod: record.pinnedPod, won: false });
    record.pinnedPod = pod;
    return Promise.resolve({ pod, won: true });
  }

  move(key: WorkflowKey, from: string, to: string): Promise<{ pod: string | undefined; moved: boolean }> {
    const record = this.state.find(key)?.record;
    if (!record || record.pinnedPod !== from)
      return Promise.resolve({ pod: record?.pinnedPod, moved: false });
    record.pinnedPod = to;
    return Promise.resolve({ pod: to, moved: true });
  }

  countsByPod(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const { record } of this.state.workflows.values()) {
      if (record.pinnedPod !== undefined) counts[record.pinnedPod] = (counts[record.pinnedPod] ?? 0) + 1;
    }
    return Promise.resolve(counts);
  }
}
