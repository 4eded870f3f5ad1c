import type { WorkflowKey } from '../ids.ts';
import type { ContextSharing } from '../strategy.ts';
import type { WorkflowSpec } from '../workflow-spec.ts';
import type { QuotaStore } from './quota-store.ts';
import type { AgentMessage, ContextEntry, WorkflowRecord, WorkflowTotals } from './records.ts';
import type { StatsBatch } from './stats-batch.ts';

/**
 * The router fleet's shared state (DESIGN section 6). Two implementations pass one contract
 * suite (test/store/contract.ts): in-memory for a single process, Redis for a fleet.
 * Methods are semantic operations, so the Redis implementation can make each one atomic
 * (one Lua script) and serve hot reads from a near-cache.
 */
export interface StateStore {
  readonly kind: 'memory' | 'redis';
  readonly pins: PinStore;
  readonly workflows: WorkflowStore;
  readonly contexts: ContextStore;
  readonly messages: MessageStore;
  /** Per-tenant quotas (calls/s, calls in flight, queued messages), shared like the rest. */
  readonly quotas: QuotaStore;
  /** 'degraded' while the backing store is unreachable (memory is always 'ok'). */
  health(): StoreHealth;
  /** Calls `listener` on every change of health(); returns the unsubscribe function. Absent: never changes. */
  onHealthChange?(listener: (health: StoreHealth) => void): () => void;
  /** Failed operations against the backing store since start (the Redis errors metric). Absent: none. */
  errors?(): number;
  close(): Promise<void>;
}

export type StoreHealth = 'ok' | 'degraded';

export interface PinStore {
  get(key: WorkflowKey): Promise<string | undefined>;
  /** Pins the workflow to `pod` unless already pinned; the first writer wins fleet-wide. */
  claim(key: WorkflowKey, pod: string): Promise<{ pod: string; won: boolean }>;
  /** Moves a pin only if it still points at `from` (a migration); otherwise reports the current pin. */
  move(key: WorkflowKey, from: string, to: string): Promise<{ pod: string | undefined; moved: boolean }>;
  /** Number of live workflows pinned to each pod, for balancing new placements. */
  countsByPod(): Promise<Record<string, number>>;
}

/** What a workflow created by its first call (not declared) starts with. */
export interface WorkflowInit {
  strategy: ContextSharing;
  priority: number;
  ttlSeconds: number;
}

export interface EnsureResult {
  /** May come from a near-cache: declaration, strategy and pin are current, counters may lag. */
  record: WorkflowRecord;
  created: boolean;
  /** Workflows evicted to stay within maxWorkflows (least recently active, none mid-call). */
  evicted: WorkflowKey[];
}

export interface WorkflowStore {
  /** Creates or replaces a workflow's declaration; creates the workflow when new. */
  declare(
    key: WorkflowKey,
    spec: WorkflowSpec,
    init: WorkflowInit,
    now: number,
    maxWorkflows: number,
  ): Promise<EnsureResult>;
  /** Makes sure the workflow exists (a call or a message arrived), touching its activity. */
  ensure(key: WorkflowKey, init: WorkflowInit, now: number, maxWorkflows: number): Promise<EnsureResult>;
  get(key: WorkflowKey): Promise<WorkflowRecord | undefined>;
  /** Live workflows of one tenant, or of every tenant when omitted. */
  list(tenant?: string): Promise<WorkflowRecord[]>;
  /**
   * Applies a replica's batch of facts learned on the request path, and its calls in flight:
   * each workflow applies a writer's batch once (a re-sent batch is skipped), see stats-batch.ts.
   * Unknown workflows are ignored.
   */
  apply(batch: StatsBatch): Promise<void>;
  /** Removes the workflow and everything it owns (pin, context, inboxes). */
  delete(key: WorkflowKey): Promise<boolean>;
  /** Removes workflows idle past their ttl; returns them. */
  expire(now: number): Promise<WorkflowKey[]>;
  totals(tenant?: string): Promise<WorkflowTotals>;
  /** Live workflows of one tenant (cheap: for the per-tenant workflow limit). */
  countLive(tenant: string): Promise<number>;
}

export interface ContextStore {
  /** Appends an entry unless the context would exceed `budgetTokens` (then marks the budget reached). */
  append(
    key: WorkflowKey,
    entry: ContextEntry,
    budgetTokens: number,
  ): Promise<{ appended: boolean; totalTokens: number }>;
  read(key: WorkflowKey): Promise<ContextEntry[]>;
}

export interface NewMessage {
  from: string;
  payload: unknown;
  ttlSeconds: number;
}

export type SendResult = { ok: true; id: string } | { ok: false; depth: number };

/** One message of a batch: a NewMessage and its recipient. */
export interface AddressedMessage extends NewMessage {
  to: string;
}

/**
 * A batch is stored whole or not at all: the ids in the batch's order, or why nothing was
 * stored: the workflow does not exist, or message `index` would overflow the inbox of `to`
 * (which holds `depth` unexpired messages; the messages before it in the batch not counted).
 */
export type BatchSendResult =
  | { ok: true; ids: string[] }
  | { ok: false; reason: 'workflow-not-found' }
  | { ok: false; reason: 'inbox-full'; index: number; to: string; depth: number };

/**
 * A reader's position in one inbox. Each next() returns the unexpired messages after the last
 * one it returned (or after the cursor it started from), waiting up to timeoutMs for the first;
 * [] when the time is up, the signal aborted, or the workflow went away (the reader checks which).
 * Cheaper per wake-up than wait(): the Redis store reads with its script once, then continues
 * XREAD from the cursor on a connection it keeps.
 */
export interface InboxFollower {
  next(limit: number, timeoutMs: number): Promise<AgentMessage[]>;
  close(): void;
}

export interface MessageStore {
  /** Appends to one agent's inbox; refused (never dropped) when it holds maxQueue unexpired messages. */
  send(key: WorkflowKey, to: string, message: NewMessage, now: number, maxQueue: number): Promise<SendResult>;
  /**
   * Appends every message of a batch, in order, or none (BatchSendResult): refused whole when
   * one would make its inbox hold more than maxQueue unexpired messages. In each inbox, ids
   * increase in the batch's order. Does not create the workflow.
   */
  sendBatch(
    key: WorkflowKey,
    messages: readonly AddressedMessage[],
    now: number,
    maxQueue: number,
  ): Promise<BatchSendResult>;
  /** Unexpired messages with id greater than `after`, oldest first. */
  read(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    now: number,
  ): Promise<AgentMessage[]>;
  /** Like read, but waits up to timeoutMs for the first message; resolves early on abort. */
  wait(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<AgentMessage[]>;
  /**
   * Follows one inbox from `after` for a reader that stays (an SSE stream); see InboxFollower.
   * Close it when done. Ends (next() answers []) when `signal` aborts.
   */
  follow(key: WorkflowKey, agent: string, after: string | undefined, signal: AbortSignal): InboxFollower;
  depth(key: WorkflowKey, agent: string, now: number): Promise<number>;
  /** Agents that have an inbox in this workflow. */
  inboxes(key: WorkflowKey): Promise<string[]>;
  /**
   * Marks messages an agent read as delivered; returns how many had never been delivered
   * before (a re-read from an older cursor counts 0), and adds them to the record's counter.
   */
  acknowledge(key: WorkflowKey, agent: string, ids: readonly string[]): Promise<number>;
}
