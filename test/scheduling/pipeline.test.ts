import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityFilter } from '../../router/scheduling/filters/capacity.ts';
import { healthyFilter } from '../../router/scheduling/filters/healthy.ts';
import { modelFilter } from '../../router/scheduling/filters/model.ts';
import { maxScorePicker } from '../../router/scheduling/pickers/max-score.ts';
import { schedule } from '../../router/scheduling/pipeline.ts';
import type { Profile, Scorer } from '../../router/scheduling/types.ts';
import { pod, pods, request } from './fixtures.ts';

/** Scores each pod by a fixed table: a scorer with known output. */
function fixed(name: string, table: Record<string, number>): Scorer {
  return { name, score: (_request, list) => list.map((p) => table[p.id] ?? 0) };
}

const FILTERS = [modelFilter, healthyFilter, capacityFilter];

function profile(scorers: Profile['scorers']): Profile {
  return { name: 'test', filters: FILTERS, scorers, picker: maxScorePicker };
}

test('rejections name the filter that emptied the set', () => {
  const p = profile([]);
  const cases: [string, ReturnType<typeof pods>, string][] = [
    ['empty pool', [], 'no-pods-for-model'],
    ['other model', pods(2, { models: ['other'] }), 'no-pods-for-model'],
    [
      'unhealthy',
      [pod('a', { healthy: false }), pod('b', { draining: true }), pod('c', { models: ['x'] })],
      'no-healthy-pods',
    ],
    ['saturated', [pod('a', { inflight: 16 }), pod('b', { healthy: false })], 'all-saturated'],
  ];
  for (const [label, list, rejection] of cases) {
    const decision = schedule(p, request(), list);
    assert.equal(decision.pod, undefined, label);
    assert.equal(decision.rejection, rejection, label);
    assert.equal(decision.candidates, 0, label);
    assert.deepEqual(decision.scores, {}, label);
    assert.equal(decision.profile, 'test');
  }
});

test('a custom filter that empties the set rejects as no-healthy-pods', () => {
  const none = { name: 'custom', filter: () => [] };
  const decision = schedule(
    { name: 'c', filters: [none], scorers: [], picker: maxScorePicker },
    request(),
    pods(2),
  );
  assert.equal(decision.rejection, 'no-healthy-pods');
});

test('scores are the weighted sums per candidate; filtered pods are not scored', () => {
  const p = profile([
    { scorer: fixed('x', { a: 1, b: 0.5, c: 0 }), weight: 2 },
    { scorer: fixed('y', { a: 0, b: 1, c: 1 }), weight: 1.5 },
  ]);
  const decision = schedule(p, request(), [pod('a'), pod('b'), pod('c'), pod('d', { healthy: false })]);
  assert.equal(decision.pod?.id, 'b');
  assert.equal(decision.candidates, 3);
  assert.equal(decision.rejection, undefined);
  assert.deepEqual(decision.scores, { a: 2, b: 2.5, c: 1.5 });
});

test('a zero weight does not run its scorer', () => {
  let ran = false;
  const spy: Scorer = {
    name: 'spy',
    score: (_r, list) => {
      ran = true;
      return list.map(() => 1);
    },
  };
  schedule(profile([{ scorer: spy, weight: 0 }]), request(), pods(2));
  assert.equal(ran, false);
});

test('the same inputs give the same pod, on any replica and in any pod order', () => {
  const p = profile([{ scorer: fixed('flat', {}), weight: 1 }]);
  for (let i = 0; i < 100; i++) {
    const req = request({ workflowKey: `t/wf-${i}`, requestKey: `r-${i}` });
    const a = schedule(p, req, pods(5)).pod?.id;
    const b = schedule(p, { ...req, requestKey: 'another replica' }, pods(5).reverse()).pod?.id;
    assert.equal(a, b);
  }
});
