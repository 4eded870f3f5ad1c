import { keyString, type WorkflowKey } from '../../ids.ts';
import type { AgentMessage, ContextEntry, WorkflowRecord } from '../records.ts';
import type { WriterMark } from '../stats-batch.ts';
import { InboxWaiters } from './inbox-waiters.ts';
import { plainCopy } from '../plain-copy.ts';

export interface WorkflowState {
  record: WorkflowRecord;
  context: ContextEntry[];
  inboxes: Map<string, AgentMessage[]>;
  /** Per inbox, the greatest message id ever read (acknowledge counts each message once). */
  delivered: Map<string, string>;
  /** Per statistics writer (a replica), its last applied batch and calls in flight (stats-batch.ts). */
  writers: Map<string, WriterMark>;
}

/** The maps behind the in-memory store, shared by its pin, workflow, context and message parts. */
export class MemoryState {
  readonly workflows = new Map<string, WorkflowState>();
  readonly waiters = new InboxWaiters();
  evicted = 0;
  expired = 0;
  /** Set by close(): pending and later waits return at once. */
  closed = false;

  find(key: WorkflowKey): WorkflowState | undefined {
    return this.workflows.get(keyString(key));
  }

  remove(key: WorkflowKey): boolean {
    const id = keyString(key);
    const existed = this.workflows.delete(id);
    this.waiters.wakeWorkflow(id);
    return existed;
  }
}

/** Returns a copy, so callers can never mutate the store's state by accident. */
export function snapshot<T>(value: T): T {
  return plainCopy(value);
}
