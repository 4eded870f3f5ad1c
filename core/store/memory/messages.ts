import { keyString, type WorkflowKey } from '../../ids.ts';
import { MessageIdClock, compareMessageIds } from '../../message-id.ts';
import type { AgentMessage } from '../records.ts';
import type { MessageStore, NewMessage, SendResult } from '../state-store.ts';
import type { MemoryState, WorkflowState } from './state.ts';

export class MemoryMessages implements MessageStore {
  private readonly state: MemoryState;
  private readonly ids = new MessageIdClock();

  constructor(state: MemoryState) {
    this.state = state;
  }

  send(
    key: WorkflowKey,
    to: string,
    message: NewMessage,
    now: number,
    maxQueue: number,
  ): Promise<SendResult> {
    const workflow = this.state.find(key);
    if (!workflow) return Promise.resolve({ ok: false, depth: 0 });
    const inbox = liveInbox(workflow, to, now);
    if (inbox.length >= maxQueue) return Promise.resolve({ ok: false, depth: inbox.length });
    const id = this.ids.next(now);
    const expiresAt = now + message.ttlSeconds * 1000;
    inbox.push({ id, from: message.from, to, payload: message.payload, createdAt: now, expiresAt });
    this.state.waiters.wake(keyString(key), to);
    return Promise.resolve({ ok: true, id });
  }

  read(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    now: number,
  ): Promise<AgentMessage[]> {
    return Promise.resolve(this.readNow(key, agent, after, limit, now));
  }

  private readNow(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    now: number,
  ): AgentMessage[] {
    const workflow = this.state.find(key);
    if (!workflow) return [];
    return liveInbox(workflow, agent, now)
      .filter((m) => after === undefined || compareMessageIds(m.id, after) > 0)
      .slice(0, limit)
      .map((m) => ({ ...m }));
  }

  async wait(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<AgentMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = this.readNow(key, agent, after, limit, Date.now());
      const remaining = deadline - Date.now();
      if (
        messages.length > 0 ||
        remaining <= 0 ||
        signal.aborted ||
        this.state.closed ||
        !this.state.find(key)
      ) {
        return messages;
      }
      await this.state.waiters.wait(keyString(key), agent, remaining, signal);
    }
  }

  depth(key: WorkflowKey, agent: string, now: number): Promise<number> {
    const workflow = this.state.find(key);
    return Promise.resolve(workflow ? liveInbox(workflow, agent, now).length : 0);
  }

  inboxes(key: WorkflowKey): Promise<string[]> {
    return Promise.resolve([...(this.state.find(key)?.inboxes.keys() ?? [])]);
  }

  acknowledge(key: WorkflowKey, agent: string, ids: readonly string[]): Promise<number> {
    const workflow = this.state.find(key);
    if (!workflow) return Promise.resolve(0);
    const mark = workflow.delivered.get(agent);
    let top = mark;
    let count = 0;
    for (const id of ids) {
      if (mark !== undefined && compareMessageIds(id, mark) <= 0) continue;
      count += 1;
      if (top === undefined || compareMessageIds(id, top) > 0) top = id;
    }
    if (top !== undefined) workflow.delivered.set(agent, top);
    workflow.record.messages.delivered += count;
    return Promise.resolve(count);
  }
}

/** The inbox with expired messages trimmed, as the Redis store trims a stream by MINID. */
function liveInbox(workflow: WorkflowState, agent: string, now: number): AgentMessage[] {
  const inbox = (workflow.inboxes.get(agent) ?? []).filter((m) => m.expiresAt > now);
  workflow.inboxes.set(agent, inbox);
  return inbox;
}
