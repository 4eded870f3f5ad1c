import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SLACK_UNIT_TOKENS,
  WAITING_TOKENS,
  callCost,
  podWork,
  spillSlackTokens,
  uncachedTokens,
  withinSpillBound,
} from '../../router/scheduling/work.ts';
import { pod, request } from './fixtures.ts';

test('work counts uncached prompt tokens in flight and the calls of other replicas', () => {
  // 40 running or waiting on the pod, 30 of them this replica's: 10 come from elsewhere.
  assert.equal(
    podWork(pod('a', { inflightUncachedTokens: 3000, running: 38, waiting: 2, inflight: 30 })),
    3000 + 10 * WAITING_TOKENS,
  );
  assert.equal(podWork(pod('a', { inflight: 10, running: 10 })), 0);
});

test("this replica's own queued calls are not counted twice (a stale scrape shows more)", () => {
  assert.equal(
    podWork(pod('a', { inflightUncachedTokens: 4000, inflight: 8, running: 3, waiting: 5 })),
    4000,
  );
  assert.equal(
    podWork(pod('a', { inflightUncachedTokens: 4000, inflight: 8, running: 0, waiting: 0 })),
    4000,
  );
});

test('one long prefill weighs more than ten short calls', () => {
  const long = pod('long', { inflight: 1, inflightUncachedTokens: 8000 });
  const short = pod('short', { inflight: 10, inflightUncachedTokens: 10 * 200 });
  assert.ok(podWork(long) > podWork(short));
});

test('slack(p) = p / (1 − p) × unit: 0 at p = 0, one unit at 0.5, four at 0.8, unbounded at 1', () => {
  assert.equal(spillSlackTokens(0), 0);
  assert.equal(spillSlackTokens(0.5), SLACK_UNIT_TOKENS);
  assert.ok(Math.abs(spillSlackTokens(0.8) - 4 * SLACK_UNIT_TOKENS) < 1e-6);
  assert.equal(spillSlackTokens(1), Infinity);
});

const idle = pod('idle');
/** A call with no prompt tokens: only the pods' queued work decides. */
const noPrompt = request({ promptTokens: 0 });
function pinWith(work: number) {
  return pod('pin', { inflightUncachedTokens: work });
}

test('p = 0: any imbalance spills, a balanced pin stays', () => {
  assert.equal(withinSpillBound(noPrompt, pinWith(0), [pinWith(0), idle], 0), true);
  assert.equal(withinSpillBound(noPrompt, pinWith(1), [pinWith(1), idle], 0), false);
});

test('p = 0.5: tolerates exactly one slack unit of extra work', () => {
  const at = pinWith(SLACK_UNIT_TOKENS);
  const over = pinWith(SLACK_UNIT_TOKENS + 1);
  assert.equal(withinSpillBound(noPrompt, at, [at, idle], 0.5), true);
  assert.equal(withinSpillBound(noPrompt, over, [over, idle], 0.5), false);
});

test('p = 0.8: tolerates four slack units, measured against the least busy candidate', () => {
  const busy = pod('busy', { inflightUncachedTokens: 20_000 });
  const within = pinWith(8000);
  const over = pinWith(8200);
  assert.equal(withinSpillBound(noPrompt, within, [busy, within, idle], 0.8), true);
  assert.equal(withinSpillBound(noPrompt, over, [busy, over, idle], 0.8), false);
  // Without the idle pod the least busy is the pin itself: nothing to spill to.
  assert.equal(withinSpillBound(noPrompt, over, [busy, over], 0.8), true);
  // Waiting requests count too: 16 queued calls are 8,192 tokens of work.
  const queued = pod('pin', { waiting: 17 });
  assert.equal(withinSpillBound(noPrompt, queued, [queued, idle], 0.8), false);
});

test('p = 1: never spills', () => {
  const huge = pinWith(1e9);
  assert.equal(withinSpillBound(noPrompt, huge, [huge, idle], 1), true);
});

test("a call's own uncached prefill counts: the share past the prefix the pod has seen", () => {
  const call = request({ promptTokens: 2000, promptChunks: 100, prefixMatches: new Map([['warm', 75]]) });
  assert.equal(uncachedTokens(call, pod('warm')), 500);
  assert.equal(uncachedTokens(call, pod('cold')), 2000);
  // No chunks hashed (a prompt under one chunk): nothing can be cached.
  assert.equal(uncachedTokens(request({ promptTokens: 10 }), pod('warm')), 10);
  assert.equal(callCost(call, pod('warm', { inflightUncachedTokens: 300 })), 800);
});

test("the pin's cached context is part of the bound: it carries that much more work before a call spills", () => {
  // 1,600-token context cached on the pin, unseen elsewhere; the call adds 100 tokens of its own.
  const call = request({ promptTokens: 1700, promptChunks: 100, prefixMatches: new Map([['pin', 94]]) });
  const pinCached = (work: number) => pod('pin', { inflightUncachedTokens: work });
  const slack = spillSlackTokens(0.5);
  const advantage = uncachedTokens(call, idle) - uncachedTokens(call, pinCached(0));
  assert.ok(advantage > 1500);
  const within = pinCached(slack + advantage);
  const over = pinCached(slack + advantage + 1);
  assert.equal(withinSpillBound(call, within, [within, idle], 0.5), true);
  assert.equal(withinSpillBound(call, over, [over, idle], 0.5), false);
});
