import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, rendezvousPick, rendezvousWeight } from '../../router/scheduling/rendezvous.ts';
import { pods } from './fixtures.ts';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `tenant/workflow-${i}`);

function owners(podCount: number, exclude?: string): Map<string, string> {
  const list = pods(podCount).filter((p) => p.id !== exclude);
  const owner = new Map<string, string>();
  for (const key of KEYS) owner.set(key, rendezvousPick(key, list)?.id ?? '');
  return owner;
}

test('weights are deterministic unsigned 32-bit integers', () => {
  const h = hashKey('tenant/wf');
  assert.equal(rendezvousWeight(h, 'pod-1'), rendezvousWeight(hashKey('tenant/wf'), 'pod-1'));
  for (const id of ['pod-0', 'pod-1', 'a', '']) {
    const w = rendezvousWeight(h, id);
    assert.ok(Number.isInteger(w) && w >= 0 && w < 2 ** 32);
  }
  assert.notEqual(rendezvousWeight(hashKey('ab'), 'c'), rendezvousWeight(hashKey('a'), 'bc'));
});

test('10,000 keys over 4 pods give each 25% ± 3%', () => {
  const counts = new Map<string, number>();
  for (const id of owners(4).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.equal(counts.size, 4);
  for (const [id, n] of counts) assert.ok(Math.abs(n / KEYS.length - 0.25) <= 0.03, `${id}: ${n}`);
});

test('spreads evenly over 10 pods too (10% ± 2%)', () => {
  const counts = new Map<string, number>();
  for (const id of owners(10).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.equal(counts.size, 10);
  for (const [id, n] of counts) assert.ok(Math.abs(n / KEYS.length - 0.1) <= 0.02, `${id}: ${n}`);
});

test('removing one pod moves only that pod’s keys, spread over the others', () => {
  const before = owners(4);
  const after = owners(4, 'pod-2');
  const receivers = new Map<string, number>();
  for (const key of KEYS) {
    const was = before.get(key);
    const now = after.get(key) ?? '';
    if (was === 'pod-2') receivers.set(now, (receivers.get(now) ?? 0) + 1);
    else assert.equal(now, was, key);
  }
  assert.equal(receivers.size, 3);
  for (const [id, n] of receivers) assert.ok(n > 500, `${id} received only ${n}`);
});

test('the pick does not depend on the order of the pods', () => {
  const list = pods(5);
  const reversed = [...list].reverse();
  for (const key of KEYS.slice(0, 500))
    assert.equal(rendezvousPick(key, list), rendezvousPick(key, reversed));
  assert.equal(rendezvousPick('k', []), undefined);
});
