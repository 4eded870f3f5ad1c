// The operator's keyed work queue: duplicates merge, a key is never processed twice at once,
// a key added while processing runs again after, delays keep the earliest, backoff is capped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../e2e/helpers/eventually.ts';
import { WorkQueue } from '../../operator/work-queue.ts';

test('adding a waiting key again does not queue it twice', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.length, 0);
});

test('a key added while it is processed is handed out again only after done()', async () => {
  const q = new WorkQueue();
  q.add('a');
  const key = await q.get();
  assert.equal(key, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.length, 0, 'not queued while processing');
  let second: string | undefined;
  const next = q.get().then((k) => (second = k));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  q.done('a');
  await next;
  assert.equal(second, 'a');
  q.done('a');
  assert.equal(q.length, 0, 'merged into one re-run');
});

test('a waiting get() receives the next added key', async () => {
  const q = new WorkQueue();
  const got = q.get();
  q.add('x');
  assert.equal(await got, 'x');
});

test('addAfter keeps the earliest delay; add() at once still works', async () => {
  const q = new WorkQueue();
  q.addAfter('a', 60_000);
  q.addAfter('a', 10);
  q.addAfter('a', 30_000);
  assert.equal(await q.get(), 'a');
  q.done('a');
  q.shutDown();
});

test('backoff doubles per failure up to the cap, forget() resets it', () => {
  const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
  const delays = Array.from({ length: 6 }, () => q.addRateLimited('k'));
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(q.retries('k'), 6);
  q.forget('k');
  assert.equal(q.retries('k'), 0);
  assert.equal(q.addRateLimited('k'), 100);
  q.shutDown();
});

test('shutDown() resolves pending gets with undefined and drops delayed keys', async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.addAfter('later', 20);
  q.shutDown();
  assert.equal(await pending, undefined);
  q.add('after');
  assert.equal(await q.get(), undefined);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(q.length, 0);
});

test('a delayed key arrives after its delay', async () => {
  const q = new WorkQueue();
  const started = Date.now();
  q.addAfter('d', 50);
  assert.equal(q.length, 0);
  await eventually('the delayed key', () => q.length === 1, 5000);
  assert.ok(Date.now() - started >= 45);
  q.shutDown();
});
