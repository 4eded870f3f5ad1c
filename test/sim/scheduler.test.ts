import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache } from '../../sim/kv-cache.ts';
import { Scheduler } from '../../sim/scheduler.ts';
import type { Sequence, SchedulerConfig } from '../../sim/scheduler.ts';

const CONFIG: SchedulerConfig = {
  maxNumSeqs: 4,
  maxNumBatchedTokens: 8192,
  prefillMsPerToken: 0.5,
  decodeMsPerToken: 10,
  batchSlowdown: 0.1,
};

/** Distinct chained-looking hashes for a prompt of `tokens` tokens in family `family`. */
function hashesFor(tokens: number, family: number): number[] {
  return Array.from({ length: Math.floor(tokens / 16) }, (_, i) => family * 1000 + i);
}

/** Runs steps until idle; finishes requests at maxTokens. Returns the simulated time. */
function drain(s: Scheduler, onStep?: (elapsed: number) => void): number {
  let elapsed = 0;
  for (let guard = 0; s.busy && guard < 100_000; guard++) {
    const plan = s.planStep();
    elapsed += plan.durationMs;
    for (const { seq } of s.commitStep(plan)) if (seq.generated >= seq.maxTokens) s.finish(seq, 'length');
    onStep?.(elapsed);
  }
  return elapsed;
}

function submit(s: Scheduler, tokens: number, family: number, maxTokens = 1): Sequence {
  return s.submit({ promptTokens: tokens, blockHashes: hashesFor(tokens, family), maxTokens });
}

test('a repeated prompt of n tokens reuses the largest multiple of 16 below n', () => {
  for (const n of [1, 15, 16, 17, 31, 32, 33, 100, 1000]) {
    const s = new Scheduler(new KvCache(200, 16), CONFIG);
    const first = submit(s, n, 1);
    drain(s);
    assert.equal(first.cachedTokens, 0);
    const second = submit(s, n, 1);
    drain(s);
    assert.equal(second.cachedTokens, 16 * Math.floor((n - 1) / 16), `n=${n}`);
  }
});

test('a prompt that shares leading blocks hits them and computes the rest', () => {
  const s = new Scheduler(new KvCache(100, 16), CONFIG);
  s.submit({ promptTokens: 80, blockHashes: [1, 2, 3, 4, 5], maxTokens: 1 });
  drain(s);
  const partial = s.submit({ promptTokens: 70, blockHashes: [1, 2, 9, 10], maxTokens: 1 });
  const plan = s.planStep();
  assert.equal(partial.cachedTokens, 32);
  assert.equal(plan.prefillTokens, 70 - 32);
  assert.equal(plan.durationMs, (70 - 32) * CONFIG.prefillMsPerToken);
});

test('prefill time is uncached tokens x prefill ms; decode steps slow down with the batch', () => {
  const s = new Scheduler(new KvCache(1000, 16), CONFIG);
  const a = submit(s, 400, 1, 3);
  const first = s.planStep();
  assert.equal(first.durationMs, 400 * 0.5, 'a lone prefill step');
  s.commitStep(first);
  assert.equal(a.generated, 1, 'the step that ends the prefill samples the first token');
  const decode = s.planStep();
  assert.equal(decode.decodes, 1);
  assert.equal(decode.durationMs, 10);
  s.commitStep(decode);
  submit(s, 20, 2, 5);
  submit(s, 20, 3, 5);
  const mixed = s.planStep();
  assert.equal(mixed.work.length, 3);
  assert.equal(mixed.durationMs, 40 * 0.5 + 10 * (1 + 0.1 * 2));
});

test('at most maxNumSeqs run; the rest wait in FIFO order', () => {
  const s = new Scheduler(new KvCache(1000, 16), { ...CONFIG, maxNumSeqs: 2 });
  const seqs = [1, 2, 3, 4, 5].map((f) => submit(s, 20, f, 3));
  s.commitStep(s.planStep());
  assert.equal(s.running.length, 2);
  assert.deepEqual(
    s.waiting.map((q) => q.id),
    seqs.slice(2).map((q) => q.id),
  );
  const order: number[] = [];
  for (let guard = 0; s.busy && guard < 1000; guard++) {
    const plan = s.planStep();
    for (const q of plan.admitted) order.push(q.id);
    assert.ok(s.running.length <= 2);
    for (const { seq } of s.commitStep(plan)) if (seq.generated >= seq.maxTokens) s.finish(seq, 'length');
  }
  assert.deepEqual(
    order,
    seqs.slice(2).map((q) => q.id),
  );
});

test('a long prefill is chunked by the step token budget', () => {
  const s = new Scheduler(new KvCache(1000, 16), { ...CONFIG, maxNumBatchedTokens: 256 });
  const seq = submit(s, 600, 1, 1);
  const chunks: number[] = [];
  while (seq.generated === 0) {
    const plan = s.planStep();
    chunks.push(plan.prefillTokens);
    s.commitStep(plan);
  }
  assert.deepEqual(chunks, [256, 256, 88]);
});

test('a request that cannot get KV blocks waits until blocks are released', () => {
  const s = new Scheduler(new KvCache(10, 16), CONFIG);
  const big = submit(s, 100, 1, 2); // 7 blocks
  s.commitStep(s.planStep());
  const next = submit(s, 100, 2, 2);
  s.commitStep(s.planStep());
  assert.equal(next.state, 'waiting', 'only 3 blocks are free');
  s.finish(big, 'length');
  s.planStep();
  assert.equal(next.state, 'running');
});

test('when decoding runs out of blocks the latest request is preempted and recomputed later', () => {
  // Two requests of 2 blocks each growing by 20 tokens (2 more blocks each) in 5 blocks.
  const s = new Scheduler(new KvCache(5, 16), CONFIG);
  const a = submit(s, 20, 1, 20);
  const b = submit(s, 20, 2, 20);
  const done: number[] = [];
  let preempted = 0;
  for (let guard = 0; s.busy && guard < 1000; guard++) {
    const plan = s.planStep();
    preempted += plan.preempted.length;
    for (const q of plan.preempted) assert.equal(q, b, 'the most recently admitted is preempted');
    for (const { seq } of s.commitStep(plan)) {
      if (seq.generated >= seq.maxTokens) {
        s.finish(seq, 'length');
        done.push(seq.id);
      }
    }
  }
  assert.ok(preempted >= 1);
  assert.deepEqual(done, [a.id, b.id]);
  assert.equal(b.generated, 20);
  assert.equal(s.kv.usedBlocks, 0);
  assert.equal(s.preemptions, preempted);
});

test('finishing an aborted request releases its blocks wherever it is', () => {
  const s = new Scheduler(new KvCache(20, 16), { ...CONFIG, maxNumSeqs: 1 });
  const running = submit(s, 40, 1, 50);
  const queued = submit(s, 40, 2, 50);
  s.commitStep(s.planStep());
  assert.equal(s.kv.usedBlocks, 3);
  s.finish(queued, 'abort');
  assert.equal(s.waiting.length, 0);
  s.finish(running, 'abort');
  s.finish(running, 'abort');
  assert.equal(s.running.length, 0);
  assert.equal(s.kv.usedBlocks, 0);
  assert.equal(running.finishReason, 'abort');
});

test('a request larger than the whole cache is refused up front', () => {
  const s = new Scheduler(new KvCache(4, 16), CONFIG);
  assert.throws(() => submit(s, 60, 1, 10), /does not fit/);
  assert.doesNotThrow(() => submit(s, 60, 1, 4));
});

test('a batch of requests finishes in simulated time that matches the timing model', () => {
  const s = new Scheduler(new KvCache(1000, 16), CONFIG);
  submit(s, 100, 1, 10);
  const alone = drain(s);
  assert.equal(alone, 100 * 0.5 + 9 * 10);
  s.kv.clear();
  for (let f = 2; f < 6; f++) submit(s, 100, f, 10);
  const batch = drain(s);
  assert.equal(batch, 400 * 0.5 + 9 * 10 * (1 + 0.1 * 3));
});
