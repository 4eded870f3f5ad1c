// Per-pool routing (k8s discovery): which VllmPool a call is placed in, and the settings it is
// placed with (the pool's spec.routing where set, the router's flags elsewhere).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callRouting, type PoolSettings } from '../../router/pods/pool-settings.ts';
import { choosePool, poolMatches, type PoolMember } from '../../router/scheduling/pool-choice.ts';
import { schedule } from '../../router/scheduling/pipeline.ts';
import { profileForCall } from '../../router/scheduling/profiles.ts';
import { workflowCapFilter } from '../../router/scheduling/filters/workflow-cap.ts';
import { ids, pod, request } from './fixtures.ts';

function member(id: string, pools: string[], fields: Partial<PoolMember> = {}): PoolMember {
  return { id, pools, models: ['m'], healthy: true, draining: false, ...fields };
}

function settings(id: string, fields: Partial<PoolSettings> = {}): PoolSettings {
  return {
    id,
    name: id.slice(id.indexOf('/') + 1),
    logic: undefined,
    batchingPreference: undefined,
    maxInflightPerPod: undefined,
    maxWorkflowsPerPod: undefined,
    ...fields,
  };
}

const call = { model: 'm', poolRef: undefined, pinnedPod: undefined, affinityKey: 'k' };

test('static discovery (pods without pools): no pool, every pod is a candidate', () => {
  assert.equal(choosePool([member('pod-0', []), member('pod-1', [])], call), undefined);
});

test('the only pool serving the model is chosen; pools of other models are not', () => {
  const pods = [member('a/x', ['a/llama']), member('b/x', ['b/qwen'], { models: ['q'] })];
  assert.equal(choosePool(pods, call), 'a/llama');
  assert.equal(choosePool(pods, { ...call, model: 'q' }), 'b/qwen');
});

test('a poolRef picks its pool by name or by namespace/name, even when another pool has more room', () => {
  const pods = [
    member('a/vllm-0', ['a/llama']),
    member('b/vllm-0', ['b/llama']),
    member('b/vllm-1', ['b/llama']),
    member('c/vllm-0', ['c/other']),
  ];
  assert.equal(choosePool(pods, { ...call, poolRef: 'a/llama' }), 'a/llama');
  assert.equal(choosePool(pods, { ...call, poolRef: 'b/llama' }), 'b/llama');
  assert.equal(choosePool(pods, { ...call, poolRef: 'other' }), 'c/other');
  // A poolRef that serves nothing keeps the call out of every other pool.
  assert.equal(choosePool(pods, { ...call, poolRef: 'missing' }), 'missing');
  assert.equal(choosePool(pods, { ...call, poolRef: 'a/other' }), 'a/other');
  assert.ok(poolMatches('a/llama', 'llama') && poolMatches('a/llama', 'a/llama'));
  assert.ok(!poolMatches('a/llama', 'b/llama') && !poolMatches('a/llama', 'lla'));
});

test("a pinned workflow stays in its pin's pool while the pin is healthy", () => {
  const pods = [member('a/p', ['a/one']), member('b/p', ['b/two'])];
  for (const key of ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']) {
    assert.equal(choosePool(pods, { ...call, affinityKey: key, pinnedPod: 'b/p' }), 'b/two');
    assert.equal(choosePool(pods, { ...call, affinityKey: key, pinnedPod: 'a/p' }), 'a/one');
  }
  const down = [member('a/p', ['a/one']), member('b/p', ['b/two'], { healthy: false })];
  for (const key of ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'])
    assert.equal(choosePool(down, { ...call, affinityKey: key, pinnedPod: 'b/p' }), 'a/one', 'pin down');
});

test('pools sharing a model split calls by their healthy pods, the same for one key every time', () => {
  const pods = [
    member('a/0', ['a/small']),
    member('b/0', ['b/big']),
    member('b/1', ['b/big']),
    member('b/2', ['b/big']),
    member('b/3', ['b/big'], { healthy: false }),
  ];
  const counts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const pool = choosePool(pods, { ...call, affinityKey: `req-${i}` }) ?? '';
    counts.set(pool, (counts.get(pool) ?? 0) + 1);
    assert.equal(choosePool(pods, { ...call, affinityKey: `req-${i}` }), pool, 'deterministic');
  }
  const big = (counts.get('b/big') ?? 0) / 4000;
  assert.ok(big > 0.7 && big < 0.8, `3 of 4 healthy pods: ~75% of calls (got ${big})`);
  // A pool without a healthy pod gets nothing while another has one.
  const oneDown = [member('a/0', ['a/small'], { healthy: false }), member('b/0', ['b/big'])];
  for (let i = 0; i < 50; i++) assert.equal(choosePool(oneDown, { ...call, affinityKey: `r${i}` }), 'b/big');
});

test("settings: what the pool sets wins, what it leaves unset is the router's flag", () => {
  const flags = { routingLogic: 'workflow_aware' as const, batchingPreference: 0.8 };
  assert.deepEqual(callRouting(undefined, flags), {
    pool: undefined,
    logic: 'workflow_aware',
    batchingPreference: 0.8,
    maxWorkflowsPerPod: undefined,
  });
  assert.deepEqual(callRouting(settings('a/p', { logic: 'least_loaded' }), flags), {
    pool: 'a/p',
    logic: 'least_loaded',
    batchingPreference: 0.8,
    maxWorkflowsPerPod: undefined,
  });
  assert.deepEqual(callRouting(settings('a/p', { batchingPreference: 0.3, maxWorkflowsPerPod: 2 }), flags), {
    pool: 'a/p',
    logic: 'workflow_aware',
    batchingPreference: 0.3,
    maxWorkflowsPerPod: 2,
  });
});

test('two pools with different logics place the same workflow call differently', () => {
  const flags = { routingLogic: 'workflow_aware' as const, batchingPreference: 0.8 };
  // pod-0 holds the workflow's pin but is the busier; pod-1 is idle.
  const snapshot = [pod('pod-0', { running: 3, inflight: 1 }), pod('pod-1')];
  const req = request({ workflowKey: 'default/wf', pinnedPod: 'pod-0' });
  const pinning = callRouting(settings('a/pinning', { logic: 'workflow_aware' }), flags);
  const loaded = callRouting(settings('b/loaded', { logic: 'least_loaded' }), flags);
  const pinned = schedule(profileForCall(pinning.logic, true, pinning), req, snapshot);
  const least = schedule(profileForCall(loaded.logic, true, loaded), req, snapshot);
  assert.equal(pinned.pod?.id, 'pod-0', 'workflow_aware keeps the pin');
  assert.equal(least.pod?.id, 'pod-1', 'least_loaded goes to the idle pod');
});

test("a pool's batchingPreference decides when a pinned call spills", () => {
  const flags = { routingLogic: 'workflow_aware' as const, batchingPreference: 0.8 };
  // The pin carries 4096 uncached tokens more than the other pod: within the bound at p = 0.8
  // (8192 tokens), beyond it at p = 0.5 (2048).
  const snapshot = [pod('pod-0', { inflight: 1, inflightUncachedTokens: 4096 }), pod('pod-1')];
  const req = request({ workflowKey: 'default/wf', pinnedPod: 'pod-0' });
  const patient = callRouting(settings('a/p', {}), flags);
  const eager = callRouting(settings('b/p', { batchingPreference: 0.5 }), flags);
  assert.equal(schedule(profileForCall(patient.logic, true, patient), req, snapshot).pod?.id, 'pod-0');
  assert.equal(schedule(profileForCall(eager.logic, true, eager), req, snapshot).pod?.id, 'pod-1');
});

test('workflow-cap: pods at maxWorkflowsPerPod take no new workflow; the pin stays; soft when all are full', () => {
  const list = [
    pod('a', { pinnedWorkflows: 2 }),
    pod('b', { pinnedWorkflows: 1 }),
    pod('c', { pinnedWorkflows: 3 }),
  ];
  assert.deepEqual(ids(workflowCapFilter.filter(request(), list)), ['a', 'b', 'c'], 'no cap');
  assert.deepEqual(ids(workflowCapFilter.filter(request({ maxWorkflowsPerPod: 2 }), list)), ['b']);
  assert.deepEqual(
    ids(workflowCapFilter.filter(request({ maxWorkflowsPerPod: 2, pinnedPod: 'c' }), list)),
    ['b', 'c'],
    'its own pin is not a new workflow',
  );
  assert.deepEqual(ids(workflowCapFilter.filter(request({ maxWorkflowsPerPod: 1 }), list)), ['a', 'b', 'c']);
  // Through the workflow_aware profile: a new workflow avoids the full pod even though it is idler.
  const snapshot = [pod('full', { pinnedWorkflows: 2 }), pod('free', { pinnedWorkflows: 1, running: 4 })];
  const flags = { routingLogic: 'workflow_aware' as const, batchingPreference: 0.8 };
  const capped = callRouting(settings('a/p', { maxWorkflowsPerPod: 2 }), flags);
  const req = request({ workflowKey: 'default/new', maxWorkflowsPerPod: capped.maxWorkflowsPerPod });
  assert.equal(schedule(profileForCall('workflow_aware', true, capped), req, snapshot).pod?.id, 'free');
});
