// The statistics batcher's delivery rules (stats-batcher.ts): a batch the store did not
// acknowledge is re-sent unchanged (same writer and number, so the store can skip it if it had
// applied it) before any later batch; batches are numbered in order; the backlog is bounded and
// what is dropped at the bound, or refused for good by the store, is counted; calls in flight
// travel as this replica's absolute share and are renewed while they last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUnavailableError } from '../../core/store/errors.ts';
import { MemoryStore } from '../../core/store/memory/memory-store.ts';
import type { WorkflowEvent } from '../../core/store/records.ts';
import type { WorkflowStore } from '../../core/store/state-store.ts';
import type { StatsBatch } from '../../core/store/stats-batch.ts';
import { createLogger } from '../../router/logger.ts';
import { RouterMetrics } from '../../router/metrics.ts';
import { StatsBatcher } from '../../router/workflows/stats-batcher.ts';

const key = { tenant: 't', id: 'w' };
const INIT = { strategy: 'auto' as const, priority: 50, ttlSeconds: 3600 };
const spill = (at: number): WorkflowEvent => ({ type: 'spill', key, at });

/** The memory store's workflows, with every batch it is given recorded and failures on demand. */
function recordingStore(memory: MemoryStore): {
  store: WorkflowStore;
  sent: StatsBatch[];
  fail: { next: (() => Error) | undefined };
} {
  const sent: StatsBatch[] = [];
  const fail: { next: (() => Error) | undefined } = { next: undefined };
  const store: WorkflowStore = Object.create(memory.workflows) as WorkflowStore;
  store.apply = (batch) => {
    sent.push(structuredClone(batch));
    const error = fail.next?.();
    if (error) return Promise.reject(error);
    return memory.workflows.apply(batch);
  };
  return { store, sent, fail };
}

async function dropped(metrics: RouterMetrics, reason: string): Promise<number> {
  const values = (await metrics.statsDropped.get()).values;
  return values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

test('a batch that failed is re-sent unchanged before later events, and counts once', async () => {
  const memory = new MemoryStore();
  await memory.workflows.ensure(key, INIT, 1, 1000);
  const { store, sent, fail } = recordingStore(memory);
  const batcher = new StatsBatcher(store, 10, createLogger('error'), new RouterMetrics());
  try {
    fail.next = () => new StoreUnavailableError('Redis is unavailable: connection closed');
    batcher.add(spill(1));
    batcher.add(spill(2));
    await batcher.flush();
    assert.equal(batcher.backlog(), 2, 'kept');
    fail.next = undefined;
    batcher.add(spill(3));
    await batcher.flush();
    assert.equal(batcher.backlog(), 0);
    const [first, retry, next] = sent;
    assert.ok(first && retry && next);
    assert.deepEqual(retry, first, 'the same batch: same writer, number and events');
    assert.equal(first.events.length, 2);
    assert.equal(next.writer, first.writer);
    assert.equal(next.seq, first.seq + 1);
    assert.deepEqual(next.events, [spill(3)]);
    assert.equal((await memory.workflows.get(key))?.spills, 3);
  } finally {
    await batcher.close();
  }
});

test('beyond 100,000 waiting events the oldest unsent are dropped and counted', async () => {
  const memory = new MemoryStore();
  await memory.workflows.ensure(key, INIT, 1, 1000);
  const { store, fail } = recordingStore(memory);
  const metrics = new RouterMetrics();
  const batcher = new StatsBatcher(store, 60_000, createLogger('error'), metrics);
  try {
    fail.next = () => new StoreUnavailableError('Redis is unavailable');
    batcher.add(spill(0));
    await batcher.flush();
    for (let i = 1; i < 100_010; i++) batcher.add(spill(i));
    assert.equal(batcher.backlog(), 100_000);
    assert.equal(await dropped(metrics, 'queue-full'), 10);
    fail.next = undefined;
    await batcher.flush();
    assert.equal(batcher.backlog(), 0);
    assert.equal((await memory.workflows.get(key))?.spills, 100_000);
  } finally {
    await batcher.close();
  }
});

test('a batch the store keeps refusing (not an outage) is dropped after 5 attempts and counted', async () => {
  const memory = new MemoryStore();
  await memory.workflows.ensure(key, INIT, 1, 1000);
  const { store, sent, fail } = recordingStore(memory);
  const metrics = new RouterMetrics();
  const batcher = new StatsBatcher(store, 10, createLogger('error'), metrics);
  try {
    fail.next = () => new Error('ERR something the script refuses');
    batcher.add(spill(1));
    for (let i = 0; i < 5; i++) await batcher.flush();
    assert.equal(sent.length, 5);
    assert.equal(batcher.backlog(), 0);
    assert.equal(await dropped(metrics, 'rejected'), 1);
    fail.next = undefined;
    batcher.add(spill(2));
    await batcher.flush();
    assert.equal((await memory.workflows.get(key))?.spills, 1, 'later batches go through');
  } finally {
    await batcher.close();
  }
});

test('calls in flight travel as an absolute share, renewed while they last', async () => {
  const memory = new MemoryStore();
  await memory.workflows.ensure(key, INIT, 1, 1000);
  const { store, sent } = recordingStore(memory);
  const batcher = new StatsBatcher(store, 10, createLogger('error'), new RouterMetrics(), () => false, 300);
  try {
    batcher.add({ type: 'call-start', key, agent: 'a', at: 1 });
    batcher.add({ type: 'call-start', key, agent: 'a', at: 2 });
    await batcher.flush();
    assert.deepEqual(sent.at(-1)?.inflight, [{ key, calls: 2 }]);
    assert.equal((await memory.workflows.get(key))?.inflight, 2);
    await sleep(700);
    assert.ok(
      sent.filter((b) => b.events.length === 0 && b.inflight[0]?.calls === 2).length >= 2,
      'renewals without events',
    );
    assert.equal((await memory.workflows.get(key))?.inflight, 2, 'the lease never lapses while renewed');
    batcher.add({ type: 'call', key, agent: 'a', at: 3, ok: true, usage: undefined });
    batcher.add({ type: 'call', key, agent: 'a', at: 4, ok: true, usage: undefined });
    await batcher.flush();
    assert.deepEqual(sent.at(-1)?.inflight, [{ key, calls: 0 }]);
    assert.equal((await memory.workflows.get(key))?.inflight, 0);
    const count = sent.length;
    await sleep(400);
    assert.equal(sent.length, count, 'nothing to renew once no call is in flight');
  } finally {
    await batcher.close();
  }
});
