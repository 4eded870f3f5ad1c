import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule } from '../../router/scheduling/pipeline.ts';
import { classifyPlacement } from '../../router/scheduling/placement.ts';
import {
  DEFAULT_BATCHING_PREFERENCE,
  ROUTING_LOGICS,
  profileFor,
  profileForCall,
} from '../../router/scheduling/profiles.ts';
import type { PodSnapshot, Profile, SchedulingRequest } from '../../router/scheduling/types.ts';
import { pod, pods, request } from './fixtures.ts';

const OPTIONS = { batchingPreference: DEFAULT_BATCHING_PREFERENCE };
const workflowAware = profileFor('workflow_aware', OPTIONS);

function place(profile: Profile, req: SchedulingRequest, list: readonly PodSnapshot[]): string | undefined {
  return schedule(profile, req, list).pod?.id;
}

/** A deterministic pseudo-random stream in [0,1) (mulberry32). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

test('every routing logic has a profile that filters model, health and capacity', () => {
  for (const logic of ROUTING_LOGICS) {
    const p = profileFor(logic, OPTIONS);
    assert.equal(p.name, logic);
    assert.deepEqual(
      p.filters.map((f) => f.name),
      logic === 'workflow_aware'
        ? ['model', 'healthy', 'capacity', 'workflow-cap']
        : ['model', 'healthy', 'capacity'],
    );
    assert.equal(profileFor(logic, OPTIONS), p, 'memoised');
  }
  assert.notEqual(profileFor('workflow_aware', { batchingPreference: 0.5 }), workflowAware);
});

test('batching preference outside [0,1] is refused', () => {
  for (const batchingPreference of [-0.1, 1.1, NaN]) {
    assert.throws(() => profileFor('workflow_aware', { batchingPreference }), RangeError);
  }
});

test('workflow_aware sends calls that do not pin a workflow through prefix_aware', () => {
  assert.equal(profileForCall('workflow_aware', false, OPTIONS).name, 'prefix_aware');
  assert.equal(profileForCall('workflow_aware', true, OPTIONS).name, 'workflow_aware');
  assert.equal(profileForCall('least_loaded', true, OPTIONS).name, 'least_loaded');
  assert.equal(profileForCall('session', false, OPTIONS).name, 'session');
});

test('roundrobin rotates over the healthy pods', () => {
  const p = profileFor('roundrobin', OPTIONS);
  const list = [pod('pod-b'), pod('pod-x', { healthy: false }), pod('pod-a'), pod('pod-c')];
  const picked = [0, 1, 2, 3].map((sequence) => place(p, request({ sequence }), list));
  assert.deepEqual(picked, ['pod-a', 'pod-b', 'pod-c', 'pod-a']);
});

test('least_loaded picks the fewest in-flight + waiting', () => {
  const list = [pod('a', { inflight: 3 }), pod('b', { inflight: 1, waiting: 1 }), pod('c', { waiting: 5 })];
  assert.equal(place(profileFor('least_loaded', OPTIONS), request(), list), 'b');
});

test('session keeps a session on one pod whatever the load; without a key, least loaded', () => {
  const p = profileFor('session', OPTIONS);
  const list = pods(4);
  const first = place(p, request({ sessionKey: 'user-7' }), list);
  const loaded = list.map((x) => (x.id === first ? { ...x, inflight: 10 } : x));
  assert.equal(place(p, request({ sessionKey: 'user-7', requestKey: 'r-2' }), loaded), first);
  const busy = [pod('a', { inflight: 5 }), pod('b'), pod('c', { inflight: 2 })];
  assert.equal(place(p, request(), busy), 'b');
});

test('prefix_aware follows the longest cached prefix, then load', () => {
  const p = profileFor('prefix_aware', OPTIONS);
  const list = [pod('a'), pod('b', { inflight: 3 }), pod('c')];
  const req = request({ promptChunks: 10, prefixMatches: new Map([['b', 8]]) });
  assert.equal(place(p, req, list), 'b');
  // Equal matches: the less loaded wins.
  const both = request({
    promptChunks: 10,
    prefixMatches: new Map([
      ['a', 8],
      ['b', 8],
    ]),
  });
  assert.equal(place(p, both, list), 'a');
});

test('workflow_aware (a): a pin within the spill bound always gets the call', () => {
  const rand = random(42);
  for (let trial = 0; trial < 2000; trial++) {
    const list = Array.from({ length: 2 + Math.floor(rand() * 6) }, (_, i) =>
      pod(`pod-${i}`, {
        inflight: Math.floor(rand() * 15),
        waiting: Math.floor(rand() * 4),
        inflightUncachedTokens: Math.floor(rand() * 5000),
        pinnedWorkflows: Math.floor(rand() * 50),
      }),
    );
    const pin = list[Math.floor(rand() * list.length)] as PodSnapshot;
    const matches = new Map(list.map((p) => [p.id, Math.floor(rand() * 11)]));
    const req = request({
      workflowKey: `t/wf-${trial}`,
      pinnedPod: pin.id,
      promptChunks: 10,
      prefixMatches: matches,
    });
    // Cost differs by at most 3 × 512 + 5,000 of work + 1,000 of the call's own prefill = 7,536
    // tokens: inside the default slack of 8,192.
    assert.equal(place(workflowAware, req, list), pin.id, `trial ${trial}`);
  }
});

test('workflow_aware (b): 40 new workflows on 4 equal pods end up balanced', () => {
  const counts = new Map<string, number>();
  let list = pods(4);
  for (let i = 0; i < 40; i++) {
    const picked = place(workflowAware, request({ workflowKey: `default/wf-${i}` }), list);
    assert.ok(picked !== undefined);
    counts.set(picked, (counts.get(picked) ?? 0) + 1);
    list = list.map((p) => (p.id === picked ? { ...p, pinnedWorkflows: p.pinnedWorkflows + 1 } : p));
  }
  const mean = 40 / 4;
  for (const p of list) assert.ok(p.pinnedWorkflows <= 1.5 * mean, `${p.id}: ${p.pinnedWorkflows}`);
  assert.equal(counts.size, 4);
});

test('workflow_aware (b): a system prompt cached on one pod does not pile workflows onto it', () => {
  let list = pods(4);
  for (let i = 0; i < 40; i++) {
    // Every workflow shares a system prompt (2 of 10 chunks) that only pod-0 has seen, and
    // each new workflow keeps its pod a little busier.
    const req = request({
      workflowKey: `default/wf-${i}`,
      promptChunks: 10,
      prefixMatches: new Map([['pod-0', 2]]),
    });
    const picked = place(workflowAware, req, list);
    list = list.map((p) =>
      p.id === picked ? { ...p, pinnedWorkflows: p.pinnedWorkflows + 1, inflight: (p.inflight + 1) % 5 } : p,
    );
  }
  for (const p of list) assert.ok(p.pinnedWorkflows <= 15, `${p.id}: ${p.pinnedWorkflows}`);
});

test('workflow_aware (c): a new workflow goes where its document is cached unless that pod is clearly busier', () => {
  const req = request({
    workflowKey: 'default/doc-reader',
    promptChunks: 100,
    prefixMatches: new Map([['pod-2', 90]]),
  });
  const base = pods(4, { pinnedWorkflows: 10, inflight: 4 });
  const withCache = (fields: Partial<PodSnapshot>) =>
    base.map((p) => (p.id === 'pod-2' ? { ...p, ...fields } : p));

  assert.equal(place(workflowAware, req, base), 'pod-2', 'equal pods');
  assert.equal(place(workflowAware, req, withCache({ pinnedWorkflows: 12 })), 'pod-2', 'two more workflows');
  assert.equal(
    place(workflowAware, req, withCache({ inflight: 12, waiting: 3 })),
    'pod-2',
    'busier by requests only',
  );
  assert.equal(
    place(workflowAware, req, withCache({ pinnedWorkflows: 12, inflight: 6 })),
    'pod-2',
    'slightly busier',
  );
  assert.notEqual(
    place(workflowAware, req, withCache({ pinnedWorkflows: 14 })),
    'pod-2',
    'four more workflows',
  );
  assert.notEqual(
    place(workflowAware, req, withCache({ pinnedWorkflows: 13, inflight: 10 })),
    'pod-2',
    'busier on both counts',
  );
});

test('a pinned call within the bound is classified pinned; a first call new', () => {
  const list = pods(3);
  const pinned = request({ workflowKey: 'default/w', pinnedPod: 'pod-1' });
  const decision = schedule(workflowAware, pinned, list);
  assert.equal(decision.pod?.id, 'pod-1');
  assert.equal(classifyPlacement('pod-1', decision, list), 'pinned');
  const first = schedule(workflowAware, request({ workflowKey: 'default/w' }), list);
  assert.equal(classifyPlacement(undefined, first, list), 'new');
});

test('a pin that becomes unhealthy, draining or gone migrates elsewhere', () => {
  const req = request({ workflowKey: 'default/w', pinnedPod: 'pod-1' });
  const variants: [string, PodSnapshot[]][] = [
    ['unhealthy', pods(3).map((p) => (p.id === 'pod-1' ? { ...p, healthy: false } : p))],
    ['draining', pods(3).map((p) => (p.id === 'pod-1' ? { ...p, draining: true } : p))],
    ['gone', pods(3).filter((p) => p.id !== 'pod-1')],
  ];
  for (const [label, list] of variants) {
    const decision = schedule(workflowAware, req, list);
    assert.ok(decision.pod !== undefined && decision.pod.id !== 'pod-1', label);
    assert.equal(classifyPlacement('pod-1', decision, list), 'migration', label);
  }
});

test('a pin over the spill bound spills, even with the whole prompt cached there', () => {
  // 10,000 queued tokens on the pin against the 1,000 the call would cost uncached elsewhere.
  const list = pods(3).map((p) => (p.id === 'pod-1' ? { ...p, inflightUncachedTokens: 10_000 } : p));
  const req = request({
    workflowKey: 'default/w',
    pinnedPod: 'pod-1',
    promptChunks: 10,
    prefixMatches: new Map([['pod-1', 10]]),
  });
  const decision = schedule(workflowAware, req, list);
  assert.ok(decision.pod !== undefined && decision.pod.id !== 'pod-1');
  assert.equal(classifyPlacement('pod-1', decision, list), 'spill');
  // At p = 1 the same pin keeps the call.
  const patient = schedule(profileFor('workflow_aware', { batchingPreference: 1 }), req, list);
  assert.equal(patient.pod?.id, 'pod-1');
});

test('a saturated pin spills; no pod at all is not classified', () => {
  const list = pods(3).map((p) => (p.id === 'pod-1' ? { ...p, inflight: p.maxInflight } : p));
  const req = request({ workflowKey: 'default/w', pinnedPod: 'pod-1' });
  const decision = schedule(workflowAware, req, list);
  assert.ok(decision.pod !== undefined && decision.pod.id !== 'pod-1');
  assert.equal(classifyPlacement('pod-1', decision, list), 'spill');
  const none = schedule(workflowAware, req, pods(2, { healthy: false }));
  assert.equal(classifyPlacement('pod-1', none, pods(2, { healthy: false })), undefined);
});
