import { isDeepStrictEqual } from 'node:util';
import type { Condition, VllmPoolResourceStatus, WorkflowResourceStatus } from '../core/resource-status.ts';
import { podIdIn } from '../core/routing-table.ts';
import type { WorkflowRecord } from '../core/store/records.ts';
import type { WorkflowSpec } from '../core/workflow-spec.ts';
import { phaseOf } from '../core/workflow-status.ts';

/**
 * Status computation, pure: what the operator observed in, the status (and the Events that
 * the change from the previous status deserves) out. No I/O, so every rule is unit-tested.
 */

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Cached over prompt tokens as a percentage with one decimal ("87.5%"); undefined before any prompt. */
export function formatHitRate(promptTokens: number, cachedTokens: number): string | undefined {
  if (promptTokens <= 0) return undefined;
  return `${((cachedTokens / promptTokens) * 100).toFixed(1)}%`;
}

/**
 * Sets a condition in a list: lastTransitionTime moves only when the status changes
 * (metav1.Condition semantics); reason, message and observedGeneration follow the latest.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i >= 0 ? list[i] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : new Date(now).toISOString();
  const condition: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

function condition(
  conditions: readonly Condition[] | undefined,
  list: Omit<Condition, 'lastTransitionTime'>[],
  now: number,
): Condition[] {
  let out = [...(conditions ?? [])];
  for (const c of list) out = setCondition(out, c, now);
  return out;
}

export interface WorkflowObservation {
  generation: number;
  /** The validated spec, or why the stored spec is unusable. */
  spec: WorkflowSpec | undefined;
  specError: string | undefined;
  /** The workflow's Redis state (undefined: none). */
  record: WorkflowRecord | undefined;
  /** Redis could not be read; the status keeps its figures and says so. */
  storeError: string | undefined;
  /**
   * Another Workflow (`namespace/name`) owns this one's Redis id (same tenant and name): this
   * one is not declared, and its status says so (undefined: it owns its id).
   */
  conflict?: string | undefined;
  /** The VllmPool named by spec.poolRef exists (true without a poolRef). */
  poolExists: boolean;
  namespace: string;
  now: number;
}

/**
 * True when the previous status shows the workflow was declared and lived (so a missing record
 * means it expired). A Workflow refused for an id conflict never had Redis state of its own: when
 * the id frees up it is declared afresh.
 */
export function hasLived(previous: WorkflowResourceStatus | undefined): boolean {
  return previous?.phase !== undefined && readyReason(previous) !== 'IdConflict';
}

/** The Workflow's status from its Redis record (or its absence), keeping what the previous status knew. */
export function workflowStatus(
  obs: WorkflowObservation,
  previous: WorkflowResourceStatus | undefined,
): WorkflowResourceStatus {
  const { record, spec, now } = obs;
  const prev = previous ?? {};
  const expired =
    obs.storeError === undefined &&
    obs.conflict === undefined &&
    ((record === undefined && hasLived(previous)) ||
      (record !== undefined && phaseOf(record, now) === 'Expired'));
  let status: WorkflowResourceStatus;
  if (record && !expired) {
    const declared = spec?.agents.map((a) => a.name) ?? [];
    const names = [...new Set([...declared, ...Object.keys(record.agents)])];
    const hitRate = formatHitRate(record.promptTokens, record.cachedTokens);
    status = {
      phase: phaseOf(record, now),
      ...(spec?.poolRef !== undefined ? { pool: spec.poolRef } : {}),
      ...(record.pinnedPod !== undefined ? { pinnedPod: podIdIn(obs.namespace, record.pinnedPod) } : {}),
      calls: record.calls,
      errors: record.errors,
      promptTokens: record.promptTokens,
      cachedTokens: record.cachedTokens,
      ...(hitRate !== undefined ? { cacheHitRate: hitRate } : {}),
      messages: { ...record.messages },
      migrations: record.migrations,
      spills: record.spills,
      agents: names.map((name) => {
        const a = record.agents[name];
        return {
          name,
          calls: a?.calls ?? 0,
          cachedTokens: a?.cachedTokens ?? 0,
          promptTokens: a?.promptTokens ?? 0,
          ...(a && a.lastSeenAt > 0 ? { lastSeen: new Date(a.lastSeenAt).toISOString() } : {}),
        };
      }),
      ...(record.calls > 0 || record.errors > 0
        ? { lastActivity: new Date(record.lastActiveAt).toISOString() }
        : {}),
    };
  } else {
    // Expired, unreadable or not yet declared: keep the last known figures.
    const { conditions: _c, observedGeneration: _g, pinnedPod: _p, ...kept } = prev;
    status = {
      ...kept,
      phase: expired ? 'Expired' : obs.storeError !== undefined ? (prev.phase ?? 'Pending') : 'Pending',
      ...(spec?.poolRef !== undefined ? { pool: spec.poolRef } : {}),
      ...(obs.storeError !== undefined && prev.pinnedPod !== undefined ? { pinnedPod: prev.pinnedPod } : {}),
    };
    if (spec?.poolRef === undefined) delete status.pool;
  }
  status.observedGeneration = obs.generation;
  status.conditions = condition(prev.conditions, workflowConditions(obs, status, expired), now).map((c) => ({
    ...c,
    observedGeneration: obs.generation,
  }));
  return status;
}

function workflowConditions(
  obs: WorkflowObservation,
  status: WorkflowResourceStatus,
  expired: boolean,
): Omit<Condition, 'lastTransitionTime'>[] {
  const { spec } = obs;
  let ready: Omit<Condition, 'lastTransitionTime'>;
  if (obs.specError !== undefined) {
    ready = { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: obs.specError };
  } else if (obs.conflict !== undefined) {
    ready = { type: 'Ready', status: 'False', reason: 'IdConflict', message: conflictMessage(obs.conflict) };
  } else if (obs.storeError !== undefined) {
    ready = {
      type: 'Ready',
      status: 'Unknown',
      reason: 'RedisUnavailable',
      message: `the routers' Redis cannot be read: ${obs.storeError}`,
    };
  } else if (expired) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'Expired',
      message:
        'its Redis state is gone (idle past its ttl, evicted, or deleted through the router); edit the spec to declare it again',
    };
  } else if (!obs.poolExists && spec?.poolRef !== undefined) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'PoolNotFound',
      message: spec.poolRef.includes('/')
        ? `VllmPool "${spec.poolRef}" does not exist`
        : `VllmPool "${spec.poolRef}" does not exist in namespace "${obs.namespace}"`,
    };
  } else if (obs.record === undefined) {
    ready = { type: 'Ready', status: 'False', reason: 'NotDeclared', message: 'not declared in Redis yet' };
  } else {
    const agents = spec?.agents.length ?? 0;
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Declared',
      message: `declared in Redis: ${agents > 0 ? `${agents} agents` : 'any agent'}, contextSharing ${spec?.contextSharing ?? 'auto'}, priority ${spec?.priority ?? 50}`,
    };
  }
  let pinned: Omit<Condition, 'lastTransitionTime'>;
  if (status.pinnedPod !== undefined) {
    pinned = {
      type: 'Pinned',
      status: 'True',
      reason: 'Pinned',
      message: `calls go to pod ${status.pinnedPod}`,
    };
  } else if (expired) {
    pinned = { type: 'Pinned', status: 'False', reason: 'Expired', message: 'the workflow expired' };
  } else if (spec?.contextSharing === 'none') {
    pinned = {
      type: 'Pinned',
      status: 'False',
      reason: 'NotPinning',
      message: 'contextSharing none: calls are placed one by one',
    };
  } else {
    pinned = { type: 'Pinned', status: 'False', reason: 'NoCalls', message: 'pinned by its first call' };
  }
  return [ready, pinned];
}

function conflictMessage(owner: string): string {
  return `its workflow id is already declared by Workflow ${owner} (same tenant and name): rename this one, or give it another tenant with the label workflow-router.vllm.ai/tenant`;
}

function readyReason(status: WorkflowResourceStatus | undefined): string | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready')?.reason;
}

/** The Events a workflow's status change deserves: first pin, migrations, expiry, an id conflict. */
export function workflowEvents(
  previous: WorkflowResourceStatus | undefined,
  next: WorkflowResourceStatus,
  pinBefore?: string,
): EventSpec[] {
  const events: EventSpec[] = [];
  const moved = (next.migrations ?? 0) - (previous?.migrations ?? 0);
  if (moved > 0 && previous !== undefined) {
    // The router moves the pin at once but counts the migration in its next statistics batch,
    // so a status may show the new pin before the count: then the pod it left is pinBefore.
    const from =
      previous.pinnedPod !== next.pinnedPod ? previous.pinnedPod : (pinBefore ?? previous.pinnedPod);
    const to = next.pinnedPod;
    events.push({
      type: 'Normal',
      reason: 'Migrated',
      message: `${from !== undefined ? `moved from pod ${from}` : 'moved'}${to !== undefined ? ` to pod ${to}` : ''}${moved > 1 ? ` (${moved} migrations)` : ''}`,
    });
  } else if (next.pinnedPod !== undefined && previous?.pinnedPod === undefined) {
    events.push({ type: 'Normal', reason: 'Pinned', message: `pinned to pod ${next.pinnedPod}` });
  }
  const ready = next.conditions?.find((c) => c.type === 'Ready');
  if (ready?.reason === 'IdConflict' && readyReason(previous) !== 'IdConflict') {
    events.push({ type: 'Warning', reason: 'IdConflict', message: ready.message });
  }
  if (next.phase === 'Expired' && previous?.phase !== undefined && previous.phase !== 'Expired') {
    events.push({
      type: 'Normal',
      reason: 'Expired',
      message: 'its Redis state (pin, shared context, inboxes) expired or was removed',
    });
  }
  return events;
}

export interface PodView {
  name: string;
  ip: string | undefined;
  /** Kubernetes says it may serve (Running, Ready, has an IP, not terminating). */
  ready: boolean;
  /** The last probe passed (within the failure threshold). */
  healthy: boolean;
  reason: string | undefined;
  running: number | undefined;
  waiting: number | undefined;
  kvUsage: number | undefined;
  prefixHitRate: number | undefined;
}

export interface PoolObservation {
  generation: number;
  logic: string | undefined;
  specError: string | undefined;
  pods: PodView[];
  models: string[];
  pinCounts: Readonly<Record<string, number>>;
  now: number;
}

const round = (n: number | undefined, digits = 4): number | undefined =>
  n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits;

/** The VllmPool's status: pods ready/total, models, per-pod state, and its Ready condition. */
export function poolStatus(
  obs: PoolObservation,
  previous: VllmPoolResourceStatus | undefined,
): VllmPoolResourceStatus {
  const routable = obs.pods.filter((p) => p.ready && p.healthy).length;
  const total = obs.pods.length;
  const pods = [...obs.pods]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => {
      const entry: NonNullable<VllmPoolResourceStatus['pods']>[number] = {
        name: p.name,
        ready: p.ready,
        healthy: p.healthy,
      };
      if (p.ip !== undefined) entry.ip = p.ip;
      if (p.running !== undefined) entry.running = p.running;
      if (p.waiting !== undefined) entry.waiting = p.waiting;
      if (p.kvUsage !== undefined) entry.kvUsage = round(p.kvUsage);
      if (p.prefixHitRate !== undefined) entry.prefixHitRate = round(p.prefixHitRate);
      const pinned = obs.pinCounts[p.name];
      if (pinned !== undefined && pinned > 0) entry.pinnedWorkflows = pinned;
      if (p.reason !== undefined) entry.reason = p.reason;
      return entry;
    });
  let ready: Omit<Condition, 'lastTransitionTime'>;
  if (obs.specError !== undefined) {
    ready = { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: obs.specError };
  } else if (routable === 0) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: total === 0 ? 'NoPods' : 'NoRoutablePods',
      message:
        total === 0
          ? 'the selector matches no pods'
          : `none of ${total} pods is ready and passes its health probe`,
    };
  } else {
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'PodsRoutable',
      message: `${routable} of ${total} pods in the routing table`,
    };
  }
  const models = [...obs.models].sort();
  return {
    readyPods: routable,
    totalPods: total,
    ready: `${routable}/${total}`,
    models,
    ...(models.length > 0 ? { modelsText: models.join(',') } : {}),
    ...(obs.logic !== undefined ? { logic: obs.logic } : {}),
    pods,
    observedGeneration: obs.generation,
    conditions: setCondition(previous?.conditions, ready, obs.now).map((c) => ({
      ...c,
      observedGeneration: obs.generation,
    })),
  };
}

/** True when a status patch would change nothing. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

/** JSON round trip: drops undefined fields, as the stored object has none. */
function normalize(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

/**
 * A JSON merge patch turning `previous` into `next` at the top level of status: fields that
 * disappeared are set to null (merge patches otherwise keep them); nested objects and lists
 * are written whole.
 */
export function statusMergePatch(
  previous: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(previous ?? {}))
    if (!(key in next) || next[key] === undefined) patch[key] = null;
  return patch;
}
