import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvCacheScorer } from '../../router/scheduling/scorers/kv-cache.ts';
import { LOAD_MIN_SPREAD, loadScorer } from '../../router/scheduling/scorers/load.ts';
import { lowerIsBetter } from '../../router/scheduling/scorers/min-max.ts';
import { prefixScorer } from '../../router/scheduling/scorers/prefix.ts';
import { workflowBalanceScorer } from '../../router/scheduling/scorers/workflow-balance.ts';
import { workflowPinScorer } from '../../router/scheduling/scorers/workflow-pin.ts';
import { pod, pods, request } from './fixtures.ts';

function close(actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - (expected[i] ?? NaN)) < 1e-12, `${a} vs ${expected[i]} at ${i}`),
  );
}

test('min-max: best 1, worst 0 once the spread reaches the floor, all equal → all 1', () => {
  close(lowerIsBetter([2, 10, 6], 4), [1, 0, 0.5]);
  close(lowerIsBetter([5, 5, 5], 4), [1, 1, 1]);
  close(lowerIsBetter([5, 5], 0), [1, 1]);
  close(lowerIsBetter([0, 1], 4), [1, 0.75]);
  close(lowerIsBetter([], 4), []);
});

test('load: fewest in-flight + waiting scores 1, the most loaded 0', () => {
  const list = [
    pod('a', { inflight: 2, waiting: 0 }),
    pod('b', { inflight: 4, waiting: 6 }),
    pod('c', { inflight: 1, waiting: 5 }),
  ];
  close(loadScorer.score(request(), list), [1, 0, 0.5]);
});

test('load: all equal → all 1; a spread below the floor scores partially', () => {
  close(loadScorer.score(request(), pods(3, { inflight: 7, waiting: 2 })), [1, 1, 1]);
  const list = [pod('a', { inflight: 1 }), pod('b', { inflight: 2 })];
  close(loadScorer.score(request(), list), [1, 1 - 1 / LOAD_MIN_SPREAD]);
});

test('kv-cache: 1 − usage, clamped', () => {
  const list = [pod('a', { kvUsage: 0.25 }), pod('b', { kvUsage: 1 }), pod('c', { kvUsage: 1.2 }), pod('d')];
  close(kvCacheScorer.score(request(), list), [0.75, 0, 0, 1]);
});

test('prefix: matched chunks / prompt chunks, 0 without chunks or match', () => {
  const list = [pod('a'), pod('b'), pod('c')];
  const matches = new Map([
    ['a', 9],
    ['b', 12],
  ]);
  close(prefixScorer.score(request({ promptChunks: 10, prefixMatches: matches }), list), [0.9, 1, 0]);
  close(prefixScorer.score(request({ promptChunks: 0, prefixMatches: matches }), list), [0, 0, 0]);
});

test('workflow-balance: fewer pinned workflows is better, min-max normalised', () => {
  const list = [
    pod('a', { pinnedWorkflows: 10 }),
    pod('b', { pinnedWorkflows: 2 }),
    pod('c', { pinnedWorkflows: 6 }),
  ];
  close(workflowBalanceScorer.score(request(), list), [0, 1, 0.5]);
  close(workflowBalanceScorer.score(request(), pods(4, { pinnedWorkflows: 3 })), [1, 1, 1, 1]);
  const near = [pod('a', { pinnedWorkflows: 10 }), pod('b', { pinnedWorkflows: 11 })];
  close(workflowBalanceScorer.score(request(), near), [1, 0.75]);
});

test('workflow-pin: 1 for a pin within the bound, 0 for all without a usable pin', () => {
  const scorer = workflowPinScorer({ batchingPreference: 0.8 });
  const list = [pod('a'), pod('b', { inflightUncachedTokens: 4000 }), pod('c')];
  close(scorer.score(request({ pinnedPod: 'b' }), list), [0, 1, 0]);
  close(scorer.score(request(), list), [0, 0, 0]);
  close(scorer.score(request({ pinnedPod: 'gone' }), list), [0, 0, 0]);
});

test('workflow-pin: a pin over the bound scores 0, the others by what the call would cost there', () => {
  const scorer = workflowPinScorer({ batchingPreference: 0.5 });
  // c has one queued call of another replica (512 tokens): a spread of one queued call is a full point.
  const list = [pod('a'), pod('b', { inflightUncachedTokens: 5000 }), pod('c', { waiting: 1 })];
  close(scorer.score(request({ pinnedPod: 'b' }), list), [1, 0, 0]);
  // c has the call's prefix cached: 800 of its 1,000 tokens, so it costs 200 + 512 against a's 1,000.
  const call = request({ pinnedPod: 'b', promptChunks: 10, prefixMatches: new Map([['c', 8]]) });
  close(scorer.score(call, list), [1 - 288 / 512, 0, 1]);
});

test('workflow-pin: the spills of a burst spread over the pods instead of following the first one', () => {
  const scorer = workflowPinScorer({ batchingPreference: 0 });
  // The document (90% of the prompt) is cached on the pin and, after one spill, on b.
  const call = request({
    pinnedPod: 'pin',
    promptChunks: 10,
    prefixMatches: new Map([
      ['pin', 9],
      ['b', 9],
    ]),
  });
  const list = [
    pod('pin', { inflightUncachedTokens: 4000 }),
    pod('b', { inflightUncachedTokens: 1000 }),
    pod('c'),
  ];
  // b: 1,000 queued + 100 own; c: 1,000 own (nothing cached): c is cheaper though b has the prefix.
  const scores = scorer.score(call, list);
  assert.ok((scores[2] ?? 0) > (scores[1] ?? 0), `scores ${scores.join(', ')}`);
});
