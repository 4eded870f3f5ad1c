import { keyString, type WorkflowKey } from '../../ids.ts';
import { MessageIdClock, compareMessageIds } from '../../message-id.ts';
import type { AgentMessage } from '../records.ts';
import type {
  AddressedMessage,
  BatchSendResult,
  InboxFollower,
  MessageStore,
  NewMessage,
  SendResult,
} from '../state-store.ts';
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

  sendBatch(
    key: WorkflowKey,
    messages: readonly AddressedMessage[],
    now: number,
    maxQueue: number,
  ): Promise<BatchSendResult> {
    const workflow = this.state.find(key);
    if (!workflow) return Promise.resolve({ ok: false, reason: 'workflow-not-found' });
    const overflow = firstOverflow(workflow, messages, now, maxQueue);
    if (overflow) return Promise.resolve(overflow);
    const inboxes = new Map<string, AgentMessage[]>();
    const ids = messages.map((m) => {
      let inbox = inboxes.get(m.to);
      if (!inbox) {
        inbox = liveInbox(workflow, m.to, now);
        inboxes.set(m.to, inbox);
      }
      const id = this.ids.next(now);
      const expiresAt = now + m.ttlSeconds * 1000;
      inbox.push({ id, from: m.from, to: m.to, payload: m.payload, createdAt: now, expiresAt });
      return id;
    });
    for (const to of inboxes.keys()) this.state.waiters.wake(keyString(key), to);
    return Promise.resolve({ ok: true, ids });
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

  follow(key: WorkflowKey, agent: string, after: string | undefined, signal: AbortSignal): InboxFollower {
    let cursor = after;
    return {
      next: async (limit, timeoutMs) => {
        const messages = await this.wait(key, agent, cursor, limit, timeoutMs, signal);
        cursor = messages.at(-1)?.id ?? cursor;
        return messages;
      },
      close: () => undefined,
    };
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

/** The first message of a batch that would overflow its inbox, counting the batch's earlier ones. */
function firstOverflow(
  workflow: WorkflowState,
  messages: readonly AddressedMessage[],
  now: number,
  maxQueue: number,
): BatchSendResult | undefined {
  const depths = new Map<string, number>();
  for (const [index, m] of messages.entries()) {
    const depth = depths.get(m.to) ?? liveCount(workflow, m.to, now);
    if (depth >= maxQueue) {
      return { ok: false, reason: 'inbox-full', index, to: m.to, depth: liveCount(workflow, m.to, now) };
    }
    depths.set(m.to, depth + 1);
  }
  return undefined;
}

/** Unexpired messages in an inbox, without creating it (a refused batch changes nothing). */
function liveCount(workflow: WorkflowState, agent: string, now: number): number {
  let count = 0;
  for (const m of workflow.inboxes.get(agent) ?? []) if (m.expiresAt > now) count += 1;
  return count;
}

/** The inbox with expired messages trimmed, as the Redis store trims a stream by MINID. */
function liveInbox(workflow: WorkflowState, agent: string, now: number): AgentMessage[] {
  const inbox = (workflow.inboxes.get(agent) ?? []).filter((m) => m.expiresAt > now);
  workflow.inboxes.set(agent, inbox);
  return inbox;
}
