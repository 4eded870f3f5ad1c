import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxScorePicker, tieBreakKey } from '../../router/scheduling/pickers/max-score.ts';
import { roundRobinPicker } from '../../router/scheduling/pickers/round-robin.ts';
import { sessionHashPicker } from '../../router/scheduling/pickers/session-hash.ts';
import { rendezvousPick } from '../../router/scheduling/rendezvous.ts';
import { pod, pods, request } from './fixtures.ts';

test('max-score picks the highest score', () => {
  const list = pods(4);
  assert.equal(maxScorePicker.pick(request(), list, [0.1, 2.5, 2.4, 0])?.id, 'pod-1');
  assert.equal(maxScorePicker.pick(request(), [], []), undefined);
  assert.equal(maxScorePicker.pick(request(), [pod('only')], [0])?.id, 'only');
});

test('max-score breaks ties (within 1e-9) by rendezvous hash of the tie-break key', () => {
  const list = pods(4);
  const scores = [1, 3, 3 + 5e-10, 2];
  const tied = [list[1], list[2]].filter((p) => p !== undefined);
  for (let i = 0; i < 200; i++) {
    const req = request({ workflowKey: `t/wf-${i}` });
    assert.equal(maxScorePicker.pick(req, list, scores), rendezvousPick(`t/wf-${i}`, tied));
  }
});

test('ties spread over the tied pods across keys and never pick a lower score', () => {
  const list = pods(4);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const id = maxScorePicker.pick(request({ requestKey: `r-${i}` }), list, [1, 1, 1, 0.5])?.id ?? '';
    assert.notEqual(id, 'pod-3');
    seen.add(id);
  }
  assert.equal(seen.size, 3);
});

test('tie-break key: workflow, else session, else request', () => {
  assert.equal(tieBreakKey(request({ workflowKey: 'w', sessionKey: 's', requestKey: 'r' })), 'w');
  assert.equal(tieBreakKey(request({ sessionKey: 's', requestKey: 'r' })), 's');
  assert.equal(tieBreakKey(request({ sessionKey: '', requestKey: 'r' })), 'r');
});

test('max-score is deterministic and independent of the candidates’ order', () => {
  const list = pods(6);
  const req = request({ workflowKey: 't/w' });
  const first = maxScorePicker.pick(req, list, [1, 1, 1, 1, 1, 1]);
  const reversed = [...list].reverse();
  assert.equal(maxScorePicker.pick(req, reversed, [1, 1, 1, 1, 1, 1]), first);
  assert.equal(maxScorePicker.pick(req, list, [1, 1, 1, 1, 1, 1]), first);
});

test('round-robin rotates over the candidates sorted by id', () => {
  const list = [pod('c'), pod('a'), pod('b')];
  const picked = [0, 1, 2, 3, 4, 5].map(
    (sequence) => roundRobinPicker.pick(request({ sequence }), list, [])?.id,
  );
  assert.deepEqual(picked, ['a', 'b', 'c', 'a', 'b', 'c']);
  assert.equal(roundRobinPicker.pick(request({ sequence: 7 }), [], []), undefined);
  assert.equal(roundRobinPicker.pick(request({ sequence: -1 }), list, [])?.id, 'c');
  assert.deepEqual(
    list.map((p) => p.id),
    ['c', 'a', 'b'],
  );
});

test('session-hash sticks a session to its rendezvous pod and ignores scores', () => {
  const list = pods(4);
  for (let i = 0; i < 50; i++) {
    const req = request({ sessionKey: `user-${i}` });
    const expected = rendezvousPick(`user-${i}`, list);
    assert.equal(sessionHashPicker.pick(req, list, [9, 0, 0, 0]), expected);
    assert.equal(sessionHashPicker.pick(req, [...list].reverse(), [0, 0, 0, 9]), expected);
  }
});

test('session-hash falls back to max-score without a session key', () => {
  const list = pods(3);
  assert.equal(sessionHashPicker.pick(request(), list, [0, 1, 0.5])?.id, 'pod-1');
  assert.equal(sessionHashPicker.pick(request({ sessionKey: '' }), list, [0, 0, 0.5])?.id, 'pod-2');
});
