// Status computation (pure): Workflow status from its Redis record, conditions, the Events a
// change deserves, VllmPool status, and merge patches that clear vanished fields.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkflowResourceStatus } from '../../core/resource-status.ts';
import { pinCountsIn, podIdIn } from '../../core/routing-table.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import { applyEvent, applySpec, newRecord } from '../../core/store/workflow-record.ts';
import { workflowSpecSchema } from '../../core/workflow-spec.ts';
import {
  formatHitRate,
  poolStatus,
  sameStatus,
  setCondition,
  statusMergePatch,
  workflowEvents,
  workflowStatus,
  type WorkflowObservation,
} from '../../operator/status.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const key = { tenant: 'default', id: 'fin' };
const spec = workflowSpecSchema.parse({
  poolRef: 'llama',
  contextSharing: 'broadcast',
  priority: 80,
  agents: [{ name: 'a' }, { name: 'b', contextFrom: ['a'] }],
});

function record(): WorkflowRecord {
  const r = newRecord(key, { strategy: 'auto', priority: 50, ttlSeconds: 600 }, T0);
  applySpec(r, spec, T0, 600);
  return r;
}

function observe(
  r: WorkflowRecord | undefined,
  over: Partial<WorkflowObservation> = {},
): WorkflowObservation {
  return {
    generation: 1,
    spec,
    specError: undefined,
    record: r,
    storeError: undefined,
    poolExists: true,
    namespace: 'default',
    now: T0 + 1000,
    ...over,
  };
}

const cond = (s: WorkflowResourceStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('workflow status', () => {
  test('hit rate is a percentage with one decimal, absent before any prompt', () => {
    assert.equal(formatHitRate(0, 0), undefined);
    assert.equal(formatHitRate(800, 700), '87.5%');
    assert.equal(formatHitRate(3, 1), '33.3%');
  });

  test('declared, no call yet: Pending, Ready Declared, not pinned, declared agents listed', () => {
    const s = workflowStatus(observe(record()), undefined);
    assert.equal(s.phase, 'Pending');
    assert.equal(s.pool, 'llama');
    assert.equal(s.calls, 0);
    assert.equal(s.cacheHitRate, undefined);
    assert.deepEqual(
      s.agents?.map((a) => [a.name, a.calls]),
      [
        ['a', 0],
        ['b', 0],
      ],
    );
    assert.equal(cond(s, 'Ready')?.status, 'True');
    assert.equal(cond(s, 'Ready')?.reason, 'Declared');
    assert.equal(cond(s, 'Pinned')?.status, 'False');
    assert.equal(cond(s, 'Ready')?.observedGeneration, 1);
    assert.deepEqual(workflowEvents(undefined, s), []);
  });

  test('after calls: Active with pod, counters, hit rate, agents; a Pinned event', () => {
    const r = record();
    r.pinnedPod = 'pod-1';
    applyEvent(r, {
      type: 'call',
      key,
      agent: 'a',
      at: T0 + 500,
      ok: true,
      usage: { promptTokens: 800, cachedTokens: 700, completionTokens: 10 },
    });
    const before = workflowStatus(observe(record()), undefined);
    const s = workflowStatus(observe(r, { now: T0 + 2000 }), before);
    assert.equal(s.phase, 'Active');
    assert.equal(s.pinnedPod, 'pod-1');
    assert.equal(s.calls, 1);
    assert.equal(s.cacheHitRate, '87.5%');
    assert.equal(s.lastActivity, new Date(T0 + 500).toISOString());
    assert.equal(s.agents?.find((a) => a.name === 'a')?.lastSeen, new Date(T0 + 500).toISOString());
    assert.equal(cond(s, 'Pinned')?.reason, 'Pinned');
    assert.notEqual(cond(s, 'Pinned')?.lastTransitionTime, cond(before, 'Pinned')?.lastTransitionTime);
    assert.equal(cond(s, 'Ready')?.lastTransitionTime, cond(before, 'Ready')?.lastTransitionTime);
    assert.deepEqual(workflowEvents(before, s), [
      { type: 'Normal', reason: 'Pinned', message: 'pinned to pod pod-1' },
    ]);
  });

  test("a pin in the Workflow's namespace shows the pod name; a pin elsewhere keeps its namespace", () => {
    const r = record();
    r.pinnedPod = 'default/vllm-0';
    assert.equal(workflowStatus(observe(r), undefined).pinnedPod, 'vllm-0');
    r.pinnedPod = 'gpu/vllm-0';
    const s = workflowStatus(observe(r), undefined);
    assert.equal(s.pinnedPod, 'gpu/vllm-0');
    assert.equal(cond(s, 'Pinned')?.message, 'calls go to pod gpu/vllm-0');
  });

  test('an id owned by another Workflow: Pending, Ready False IdConflict, one Warning event', () => {
    const lived = workflowStatus(observe(record()), undefined);
    const s = workflowStatus(observe(undefined, { conflict: 'team-a/fin' }), lived);
    assert.equal(s.phase, 'Pending', 'not Expired: its record is not gone, it is somebody else’s');
    assert.equal(cond(s, 'Ready')?.status, 'False');
    assert.equal(cond(s, 'Ready')?.reason, 'IdConflict');
    assert.match(cond(s, 'Ready')?.message ?? '', /Workflow team-a\/fin/);
    const events = workflowEvents(lived, s);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Warning', 'IdConflict']],
    );
    assert.deepEqual(
      workflowEvents(s, workflowStatus(observe(undefined, { conflict: 'team-a/fin' }), s)),
      [],
    );
  });

  test('a migration is an Event naming both pods', () => {
    const r = record();
    r.pinnedPod = 'pod-1';
    applyEvent(r, { type: 'call', key, agent: 'a', at: T0 + 100, ok: true, usage: undefined });
    const before = workflowStatus(observe(r), undefined);
    r.pinnedPod = 'pod-2';
    applyEvent(r, { type: 'migration', key, at: T0 + 200, from: 'pod-1', to: 'pod-2' });
    const after = workflowStatus(observe(r), before);
    assert.equal(after.migrations, 1);
    assert.deepEqual(workflowEvents(before, after), [
      { type: 'Normal', reason: 'Migrated', message: 'moved from pod pod-1 to pod pod-2' },
    ]);
  });

  test('idle after the active window; Expired past the ttl, and when the record is gone', () => {
    const r = record();
    applyEvent(r, { type: 'call', key, agent: 'a', at: T0, ok: true, usage: undefined });
    assert.equal(workflowStatus(observe(r, { now: T0 + 120_000 }), undefined).phase, 'Idle');
    assert.equal(workflowStatus(observe(r, { now: T0 + 601_000 }), undefined).phase, 'Expired');

    r.pinnedPod = 'pod-1';
    const live = workflowStatus(observe(r), undefined);
    const gone = workflowStatus(observe(undefined, { now: T0 + 700_000 }), live);
    assert.equal(gone.phase, 'Expired');
    assert.equal(gone.calls, 1, 'the last known figures stay');
    assert.equal(gone.pinnedPod, undefined, 'no pod any more');
    assert.equal(cond(gone, 'Ready')?.reason, 'Expired');
    assert.equal(cond(gone, 'Pinned')?.reason, 'Expired');
    assert.deepEqual(
      workflowEvents(live, gone).map((e) => e.reason),
      ['Expired'],
    );
    assert.deepEqual(workflowEvents(gone, workflowStatus(observe(undefined), gone)), [], 'once');
  });

  test('a missing record before the first declaration is Pending, not Expired', () => {
    const s = workflowStatus(observe(undefined), undefined);
    assert.equal(s.phase, 'Pending');
    assert.equal(cond(s, 'Ready')?.reason, 'NotDeclared');
  });

  test('Redis unreadable: figures kept, Ready Unknown; missing pool and bad spec are reasons', () => {
    const r = record();
    r.pinnedPod = 'pod-1';
    const live = workflowStatus(observe(r), undefined);
    const away = workflowStatus(observe(undefined, { storeError: 'Redis unavailable' }), live);
    assert.equal(away.phase, live.phase);
    assert.equal(away.pinnedPod, 'pod-1');
    assert.equal(cond(away, 'Ready')?.status, 'Unknown');
    assert.equal(cond(away, 'Ready')?.reason, 'RedisUnavailable');
    assert.deepEqual(workflowEvents(live, away), []);

    const noPool = workflowStatus(observe(r, { poolExists: false }), undefined);
    assert.equal(cond(noPool, 'Ready')?.reason, 'PoolNotFound');
    assert.match(cond(noPool, 'Ready')?.message ?? '', /VllmPool "llama" does not exist/);

    const bad = workflowStatus(observe(undefined, { spec: undefined, specError: 'spec.x: bad' }), undefined);
    assert.equal(cond(bad, 'Ready')?.reason, 'InvalidSpec');
  });
});

describe('conditions and patches', () => {
  test('lastTransitionTime moves only when the status changes', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, T0);
    const same = setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: 'b' }, T0 + 5000);
    assert.equal(same[0]?.lastTransitionTime, first[0]?.lastTransitionTime);
    assert.equal(same[0]?.reason, 'B');
    const flipped = setCondition(
      same,
      { type: 'Ready', status: 'False', reason: 'C', message: 'c' },
      T0 + 9000,
    );
    assert.equal(flipped[0]?.lastTransitionTime, new Date(T0 + 9000).toISOString());
    assert.equal(flipped.length, 1);
  });

  test('a merge patch sets vanished fields to null; sameStatus ignores undefined fields', () => {
    assert.deepEqual(statusMergePatch({ phase: 'Active', pinnedPod: 'p' }, { phase: 'Expired' }), {
      phase: 'Expired',
      pinnedPod: null,
    });
    assert.ok(sameStatus({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(!sameStatus({ a: 1 }, { a: 2 }));
  });
});

describe('pool status', () => {
  const pod = (name: string, ready: boolean, healthy: boolean) => ({
    name,
    ip: '127.0.0.2',
    ready,
    healthy,
    reason: healthy ? undefined : 'probe failed: ECONNREFUSED',
    running: 1,
    waiting: 0,
    kvUsage: 0.123456,
    prefixHitRate: 0.5,
  });

  test('ready/total, models, per-pod state with pinned workflows, Ready condition', () => {
    const s = poolStatus(
      {
        generation: 3,
        logic: 'workflow_aware',
        specError: undefined,
        pods: [pod('b', true, false), pod('a', true, true)],
        models: ['m2', 'm1'],
        pinCounts: { a: 4 },
        now: T0,
      },
      undefined,
    );
    assert.equal(s.ready, '1/2');
    assert.equal(s.readyPods, 1);
    assert.equal(s.totalPods, 2);
    assert.equal(s.modelsText, 'm1,m2');
    assert.deepEqual(
      s.pods?.map((p) => [p.name, p.healthy, p.pinnedWorkflows, p.kvUsage]),
      [
        ['a', true, 4, 0.1235],
        ['b', false, undefined, 0.1235],
      ],
    );
    assert.equal(s.conditions?.[0]?.reason, 'PodsRoutable');
    assert.equal(s.observedGeneration, 3);
  });

  test("pin counts by pod id become the pool's own pods by name; other namespaces' pods are left out", () => {
    assert.deepEqual(pinCountsIn('a', { 'a/vllm-0': 2, 'b/vllm-0': 5, 'a/vllm-1': 1, 'ab/vllm-0': 7 }), {
      'vllm-0': 2,
      'vllm-1': 1,
    });
    assert.equal(podIdIn('a', 'a/vllm-0'), 'vllm-0');
    assert.equal(podIdIn('a', 'ab/vllm-0'), 'ab/vllm-0');
  });

  test('no pods and no routable pods are different reasons', () => {
    const base = { generation: 1, logic: 'x', specError: undefined, models: [], pinCounts: {}, now: T0 };
    assert.equal(poolStatus({ ...base, pods: [] }, undefined).conditions?.[0]?.reason, 'NoPods');
    assert.equal(
      poolStatus({ ...base, pods: [pod('a', false, false)] }, undefined).conditions?.[0]?.reason,
      'NoRoutablePods',
    );
  });
});

test('a migration counted after the new pin was seen still names the pod it left', () => {
  const before = { pinnedPod: 'pod-a', migrations: 0 };
  const pinMoved = { pinnedPod: 'pod-b', migrations: 0 };
  const counted = { pinnedPod: 'pod-b', migrations: 1 };
  assert.deepEqual(workflowEvents(before, pinMoved), []);
  const events = workflowEvents(pinMoved, counted, 'pod-a');
  assert.equal(events.length, 1);
  assert.equal(events[0]?.reason, 'Migrated');
  assert.equal(events[0]?.message, 'moved from pod pod-a to pod pod-b');
});
