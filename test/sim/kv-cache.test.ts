import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KvCache } from '../../sim/kv-cache.ts';

/** Allocates a prompt of `hashes.length` full blocks plus `extra` unhashed ones and computes it. */
function runPrompt(kv: KvCache, hashes: number[], extra = 1): number[] {
  const cached = kv.matchPrefix(hashes);
  const blocks = kv.allocate(hashes, cached, hashes.length - cached + extra);
  assert.ok(blocks, 'allocation failed');
  hashes.forEach((h, i) => kv.register(blocks[i] as number, h));
  return blocks;
}

test('a released prompt stays resident and is found again', () => {
  const kv = new KvCache(10, 16);
  const blocks = runPrompt(kv, [1, 2, 3]);
  assert.equal(kv.usedBlocks, 4);
  kv.release(blocks);
  assert.equal(kv.usedBlocks, 0);
  assert.equal(kv.residentBlocks, 3);
  assert.equal(kv.matchPrefix([1, 2, 3, 4]), 3);
  assert.equal(kv.matchPrefix([1, 9, 3]), 1, 'only a run from the start counts');
  assert.equal(kv.matchPrefix([1, 2, 3], 2), 2, 'the limit caps the match');
  const again = kv.allocate([1, 2, 3], 3, 1);
  assert.deepEqual(again?.slice(0, 3), blocks.slice(0, 3));
  assert.equal(kv.counters.evictions, 0);
});

test('eviction takes the least recently used unreferenced blocks, a prefix tail before its head', () => {
  const kv = new KvCache(8, 16);
  kv.release(runPrompt(kv, [11, 12], 0));
  kv.release(runPrompt(kv, [21, 22], 0));
  kv.release(runPrompt(kv, [31, 32], 0));
  // 2 never-used slots remain; the next 3 slots evict 12 (tail of the oldest prefix) only.
  const fresh = kv.allocate([], 0, 3);
  assert.ok(fresh);
  assert.equal(kv.counters.evictions, 1);
  assert.equal(kv.has(12), false);
  assert.equal(kv.has(11), true, 'the head outlives its tail');
  kv.release(fresh);
  // Touching the oldest prefix makes it the most recent: 21/22 go next.
  kv.release(kv.allocate([11], 1, 0) ?? []);
  const more = kv.allocate([], 0, 5);
  assert.ok(more);
  assert.deepEqual(
    [11, 21, 22, 31, 32].map((h) => kv.has(h)),
    [true, false, false, true, true],
  );
});

test('blocks in use are never evicted: an allocation that would need them fails', () => {
  const kv = new KvCache(6, 16);
  const held = runPrompt(kv, [1, 2, 3], 1);
  assert.equal(kv.allocate([], 0, 3), null);
  assert.equal(kv.allocateOne() !== null, true);
  assert.equal(kv.allocate([], 0, 2), null);
  assert.deepEqual(
    [1, 2, 3].map((h) => kv.has(h)),
    [true, true, true],
  );
  kv.release(held);
  assert.notEqual(kv.allocate([], 0, 5), null, 'released blocks can be reused');
});

test('a shared resident prefix is referenced once per user and freed after the last', () => {
  const kv = new KvCache(8, 16);
  const a = runPrompt(kv, [1, 2], 1);
  const b = kv.allocate([1, 2], 2, 1);
  assert.ok(b);
  assert.equal(kv.refCount(a[0] as number), 2);
  assert.equal(kv.usedBlocks, 4);
  kv.release(a);
  assert.equal(kv.usedBlocks, 3);
  kv.release(b);
  assert.equal(kv.usedBlocks, 0);
  assert.equal(kv.residentBlocks, 2);
});

test('clear() forgets every prefix but keeps blocks in use allocated', () => {
  const kv = new KvCache(8, 16);
  const held = runPrompt(kv, [1, 2], 0);
  kv.release(runPrompt(kv, [5, 6], 0));
  kv.clear();
  assert.equal(kv.residentBlocks, 0);
  assert.equal(kv.matchPrefix([5, 6]), 0);
  assert.equal(kv.usedBlocks, 2);
  kv.release(held);
  assert.equal(kv.usedBlocks, 0);
});

test('invariants hold under any sequence of allocations and releases', () => {
  type Op = { kind: 'run'; prefix: number; len: number; extra: number } | { kind: 'release'; pick: number };
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('run' as const),
      prefix: fc.integer({ min: 0, max: 4 }),
      len: fc.integer({ min: 0, max: 5 }),
      extra: fc.integer({ min: 0, max: 2 }),
    }),
    fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), (total, ops: Op[]) => {
      const kv = new KvCache(total, 16);
      const live: number[][] = [];
      for (const o of ops) {
        if (o.kind === 'release') {
          if (live.length === 0) continue;
          kv.release(live.splice(o.pick % live.length, 1)[0] ?? []);
        } else {
          // Chained hashes: a prefix family shares its first blocks.
          const hashes = Array.from({ length: o.len }, (_, i) => o.prefix * 100 + i);
          const cached = kv.matchPrefix(hashes);
          const blocks = kv.allocate(hashes, cached, hashes.length - cached + o.extra);
          if (blocks === null) continue;
          hashes.forEach((h, i) => kv.register(blocks[i] as number, h));
          live.push(blocks);
        }
        // Reusing a referenced slot would show up as a block counted twice here.
        const refs = new Map<number, number>();
        for (const blocks of live) for (const b of blocks) refs.set(b, (refs.get(b) ?? 0) + 1);
        for (const [b, n] of refs) assert.equal(kv.refCount(b), n);
        assert.equal(kv.usedBlocks, refs.size);
        assert.equal(kv.freeBlocks + kv.usedBlocks, total);
        assert.ok(kv.residentBlocks <= total);
        assert.equal(new Set(kv.residentHashes()).size, kv.residentBlocks);
      }
      for (const blocks of live) kv.release(blocks);
      assert.equal(kv.usedBlocks, 0);
    }),
    { numRuns: 300 },
  );
});
