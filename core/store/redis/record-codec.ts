import type { WorkflowKey } from '../../ids.ts';
import { contextSharingSchema } from '../../strategy.ts';
import { workflowSpecSchema } from '../../workflow-spec.ts';
import type { AgentMessage, AgentStats, ContextEntry, WorkflowEvent, WorkflowRecord } from '../records.ts';
import { liveCalls, parseWriterMark, WRITER_RETENTION_MS, type WriterMark } from '../stats-batch.ts';
import { luaNumber } from './reply.ts';

/**
 * How a WorkflowRecord is laid out in its Redis hash. Scalar fields keep the record's names
 * (the Lua scripts use the same names); agent statistics are `a|<agent>|<stat>` fields so
 * HINCRBY can update them in place; message counters are msgSent/msgDelivered/msgRefused.
 * Each statistics writer (a replica) has a `w|<writer>` field holding its WriterMark as
 * `seq:calls:until` (stats-batch.ts); inflight is the sum of the live ones, not a field.
 */
const AGENT_FIELD = 'a|';
const WRITER_FIELD = 'w|';

function writerMarks(fields: Map<string, string>): WriterMark[] {
  const marks: WriterMark[] = [];
  for (const [field, raw] of fields) {
    if (!field.startsWith(WRITER_FIELD)) continue;
    const mark = parseWriterMark(raw);
    if (mark) marks.push(mark);
  }
  return marks;
}

function num(fields: Map<string, string>, name: string): number {
  const raw = fields.get(name);
  return raw === undefined ? 0 : Number(raw);
}

function agentsOf(fields: Map<string, string>): Record<string, AgentStats> {
  const agents: Record<string, AgentStats> = {};
  for (const [field, raw] of fields) {
    if (!field.startsWith(AGENT_FIELD)) continue;
    const bar = field.lastIndexOf('|');
    const name = field.slice(AGENT_FIELD.length, bar);
    const stat = field.slice(bar + 1);
    const stats = (agents[name] ??= {
      calls: 0,
      promptTokens: 0,
      cachedTokens: 0,
      completionTokens: 0,
      errors: 0,
      lastSeenAt: 0,
    });
    if (stat in stats) stats[stat as keyof AgentStats] = Number(raw);
  }
  return agents;
}

/**
 * Builds the record from its hash; undefined when the hash is empty (no such workflow). The
 * leases of calls in flight are judged by `now`, this process's clock: a view (the eviction
 * check in remove-workflow.lua uses Redis' clock).
 */
export function parseRecord(
  key: WorkflowKey,
  fields: Map<string, string>,
  now = Date.now(),
): WorkflowRecord | undefined {
  if (fields.size === 0 || !fields.has('createdAt')) return undefined;
  const spec = fields.get('spec');
  const lastActiveAt = num(fields, 'lastActiveAt');
  const ttlSeconds = num(fields, 'ttlSeconds');
  return {
    key: { tenant: key.tenant, id: key.id },
    spec: spec === undefined ? undefined : workflowSpecSchema.parse(JSON.parse(spec) as unknown),
    strategy: contextSharingSchema.parse(fields.get('strategy')),
    priority: num(fields, 'priority'),
    pinnedPod: fields.get('pod'),
    createdAt: num(fields, 'createdAt'),
    lastActiveAt,
    ttlSeconds,
    expiresAt: lastActiveAt + ttlSeconds * 1000,
    calls: num(fields, 'calls'),
    errors: num(fields, 'errors'),
    promptTokens: num(fields, 'promptTokens'),
    cachedTokens: num(fields, 'cachedTokens'),
    completionTokens: num(fields, 'completionTokens'),
    agents: agentsOf(fields),
    messages: {
      sent: num(fields, 'msgSent'),
      delivered: num(fields, 'msgDelivered'),
      refused: num(fields, 'msgRefused'),
    },
    migrations: num(fields, 'migrations'),
    spills: num(fields, 'spills'),
    inflight: liveCalls(writerMarks(fields), now),
    contextTokens: num(fields, 'contextTokens'),
    contextEntries: num(fields, 'contextEntries'),
    contextBudgetReached: fields.get('contextBudgetReached') === '1',
  };
}

/** The fields totals() needs, read with HMGET instead of the whole hash. */
export const TOTALS_FIELDS = [
  'createdAt',
  'calls',
  'promptTokens',
  'cachedTokens',
  'completionTokens',
  'migrations',
  'spills',
  'msgSent',
  'msgDelivered',
  'msgRefused',
] as const;

/** Counters are integers in Redis (HINCRBY); token counts are whole numbers anyway. */
function count(n: number): string {
  return String(Math.round(n));
}

/**
 * The arguments of apply-events.lua for one workflow's part of a batch: the writer, its batch
 * number, its share of calls in flight ('' = none in this batch), the lease and the retention,
 * then the events.
 */
export function encodeBatchPart(
  writer: string,
  seq: number,
  calls: number | undefined,
  leaseMs: number,
  events: readonly WorkflowEvent[],
): string[] {
  return [
    writer,
    String(seq),
    calls === undefined ? '' : count(calls),
    count(leaseMs),
    count(WRITER_RETENTION_MS),
    ...encodeEvents(events),
  ];
}

/** Encodes events for apply-events.lua: seven strings per event. */
export function encodeEvents(events: readonly WorkflowEvent[]): string[] {
  const args: string[] = [];
  for (const event of events) {
    const at = luaNumber(event.at);
    switch (event.type) {
      case 'call-start':
        args.push('s', at, event.agent ?? '', '0', '0', '0', '1');
        break;
      case 'call':
        args.push(
          'c',
          at,
          event.agent ?? '',
          count(event.usage?.promptTokens ?? 0),
          count(event.usage?.cachedTokens ?? 0),
          count(event.usage?.completionTokens ?? 0),
          event.ok ? '1' : '0',
        );
        break;
      case 'spill':
        args.push('p', at, '', '0', '0', '0', '1');
        break;
      case 'migration':
        args.push('m', at, '', '0', '0', '0', '1');
        break;
      case 'messages':
        args.push('g', at, '', count(event.sent), count(event.delivered), count(event.refused), '1');
        break;
    }
  }
  return args;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function encodeContextEntry(entry: ContextEntry): string {
  return JSON.stringify({ agent: entry.agent, text: entry.text, tokens: entry.tokens, at: entry.at });
}

export function parseContextEntry(raw: string): ContextEntry {
  const value = JSON.parse(raw) as unknown;
  if (
    !isObject(value) ||
    typeof value.agent !== 'string' ||
    typeof value.text !== 'string' ||
    typeof value.tokens !== 'number' ||
    typeof value.at !== 'number'
  ) {
    throw new Error(`malformed context entry in Redis: ${raw.slice(0, 200)}`);
  }
  return { agent: value.agent, text: value.text, tokens: value.tokens, at: value.at };
}

/** A payload is JSON; '' stands for an undefined payload (JSON never encodes to ''). */
export function encodePayload(payload: unknown): string {
  return payload === undefined ? '' : JSON.stringify(payload);
}

export function decodePayload(raw: string): unknown {
  return raw === '' ? undefined : (JSON.parse(raw) as unknown);
}

/** Builds a message from a stream entry's fields as read-messages.lua returns them. */
export function messageOf(
  to: string,
  id: string,
  from: string,
  payload: string,
  createdAt: string,
  expiresAt: string,
): AgentMessage {
  return {
    id,
    from,
    to,
    payload: decodePayload(payload),
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
  };
}
