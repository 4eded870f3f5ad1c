import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockHashes, rootHash } from '../../sim/block-hash.ts';
import { tokenize } from '../../sim/tokenizer.ts';
import {
  kvDuplication,
  maxOverMean,
  oracleHitRate,
  percentile,
  summarize,
  tokenHitRate,
  type OracleCall,
} from '../../bench/stats.ts';

describe('percentile', () => {
  it('interpolates linearly between ranks (numpy type 7)', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(percentile(v, 0), 1);
    assert.equal(percentile(v, 100), 10);
    assert.equal(percentile(v, 50), 5.5);
    assert.ok(Math.abs(percentile(v, 99) - 9.91) < 1e-9);
    assert.ok(Math.abs(percentile(v, 90) - 9.1) < 1e-9);
  });

  it('handles one value and no values', () => {
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('rejects percentiles outside [0, 100]', () => {
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], -1), RangeError);
  });
});

describe('summarize', () => {
  it('sorts its input and reports mean, p50, p99 and max', () => {
    const s = summarize([100, 1, 50, 2, 3]);
    assert.equal(s.count, 5);
    assert.equal(s.mean, 31.2);
    assert.equal(s.p50, 3);
    assert.equal(s.max, 100);
    assert.ok(Math.abs(s.p99 - 98) < 1e-9);
  });

  it('gives NaN figures for no values', () => {
    const s = summarize([]);
    assert.equal(s.count, 0);
    assert.ok(Number.isNaN(s.mean) && Number.isNaN(s.p99) && Number.isNaN(s.max));
  });
});

describe('tokenHitRate', () => {
  it('weights calls by their prompt tokens', () => {
    // (0 + 900) / (100 + 1000): a small miss barely moves a big hit.
    const rate = tokenHitRate([
      { promptTokens: 100, cachedTokens: 0 },
      { promptTokens: 1000, cachedTokens: 900 },
    ]);
    assert.ok(Math.abs(rate - 900 / 1100) < 1e-12);
    assert.equal(tokenHitRate([]), 0);
  });
});

/** Calls whose blocks are given as letters: 'abc' shares its first two blocks with 'abd'. */
function call(blocks: string, completedAt: number, promptTokens = blocks.length * 16 + 5): OracleCall {
  // Chained like real block hashes: a block's id names its whole prefix.
  const hashes: number[] = [];
  for (let i = 0; i < blocks.length; i++) hashes.push(hashString(blocks.slice(0, i + 1)));
  return { promptTokens, blockHashes: hashes, completedAt };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

describe('oracleHitRate', () => {
  it('gives each call the longest prefix of full blocks some earlier call had', () => {
    const calls = [call('abc', 1), call('abd', 2), call('abdx', 3), call('zzz', 4)];
    const r = oracleHitRate(calls, 16);
    // abc: 0; abd: ab = 2 blocks; abdx: abd = 3 blocks; zzz: 0.
    assert.equal(r.cachedTokens, (2 + 3) * 16);
    assert.equal(r.promptTokens, 53 + 53 + 69 + 53);
    assert.ok(Math.abs(r.rate - 80 / 228) < 1e-12);
  });

  it('takes calls in completion order, not in array order', () => {
    const r = oracleHitRate([call('abcd', 5), call('ab', 1)], 16);
    // ab completes first (0 hit), then abcd hits its first two blocks.
    assert.equal(r.cachedTokens, 32);
  });

  it('never counts a prompt’s last token as cached', () => {
    // 32 tokens = 2 full blocks; a repeat may reuse only the first (31 tokens to keep 1 to compute).
    const r = oracleHitRate([call('ab', 1, 32), call('ab', 2, 32)], 16);
    assert.equal(r.cachedTokens, 16);
    const r2 = oracleHitRate([call('ab', 1, 33), call('ab', 2, 33)], 16);
    assert.equal(r2.cachedTokens, 32);
  });

  it('is an upper bound: identical to one unbounded pod serving the calls in order', () => {
    const texts = [
      'shared document text '.repeat(40) + 'task one',
      'shared document text '.repeat(40) + 'task two',
    ];
    const root = rootHash('m');
    const calls = texts.map((t, i) => {
      const tokens = tokenize(t);
      return { promptTokens: tokens.length, blockHashes: blockHashes(tokens, 16, root), completedAt: i };
    });
    const r = oracleHitRate(calls, 16);
    const sharedTokens = tokenize('shared document text '.repeat(40)).length;
    assert.equal(r.cachedTokens, Math.floor(sharedTokens / 16) * 16);
    assert.equal(oracleHitRate([], 16).rate, 0);
  });
});

describe('kvDuplication', () => {
  it('is resident blocks summed over pods over distinct blocks', () => {
    assert.equal(kvDuplication([['a', 'b'], ['c']]), 1);
    assert.equal(
      kvDuplication([
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
      ]),
      4,
    );
    assert.equal(kvDuplication([['a', 'b', 'c'], ['a']]), 4 / 3);
  });

  it('is 1 when nothing is cached', () => {
    assert.equal(kvDuplication([[], []]), 1);
    assert.equal(kvDuplication([]), 1);
  });
});

describe('maxOverMean', () => {
  it('is 1 for an even load and N when one of N pods carries everything', () => {
    assert.equal(maxOverMean([2, 2, 2, 2]), 1);
    assert.equal(maxOverMean([8, 0, 0, 0]), 4);
    assert.equal(maxOverMean([3, 1]), 1.5);
    assert.equal(maxOverMean([0, 0]), 1);
    assert.equal(maxOverMean([]), 1);
  });
});
