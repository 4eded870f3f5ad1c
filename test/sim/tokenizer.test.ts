import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tokenize, countTokens } from '../../sim/tokenizer.ts';
import { blockHashes, rootHash } from '../../sim/block-hash.ts';
import { renderChat } from '../../sim/chat-template.ts';
import { outputKey, outputToken } from '../../sim/generator.ts';

const ENGLISH =
  'Multi-agent applications send many LLM calls that share long context: the same documents, the same ' +
  "workflow history, the outputs of earlier agents. vLLM reuses a prompt's KV cache only on the pod that " +
  "already computed it. A plain load balancer scatters a workflow's calls over all pods, so each pod " +
  'recomputes the same prefix: slow, and the same KV blocks sit duplicated on many GPUs. It was the best ' +
  'of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was ' +
  'the epoch of belief, it was the epoch of incredulity, it was the season of Light.';

test('tokenizing is deterministic and about four characters per token on English', () => {
  const ids = tokenize(ENGLISH);
  assert.deepEqual(tokenize(ENGLISH), ids);
  const ratio = ENGLISH.length / ids.length;
  assert.ok(ratio > 3.5 && ratio < 4.5, `chars per token ${ratio}`);
});

test('equal pieces get equal ids and a chat marker is one token', () => {
  assert.equal(countTokens('<|user|>'), 1);
  assert.equal(countTokens('<|end|>\n<|assistant|>\n'), 4);
  const [a, b] = tokenize('cat cat');
  assert.notEqual(a, b, 'a glued space makes another piece');
  const [c, , d] = tokenize(' cat, cat');
  assert.equal(c, d);
  assert.equal(countTokens('1234567'), 3, 'digits come in groups of three');
  assert.equal(countTokens(''), 0);
});

test('a conversation prefix tokenizes to a prefix of the longer conversation', () => {
  const message = fc.record({
    role: fc.constantFrom('system', 'user', 'assistant', 'tool'),
    content: fc.string({ unit: 'grapheme', maxLength: 60 }),
  });
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 4 }),
      fc.array(message, { maxLength: 3 }),
      (head, tail) => {
        const shorter = tokenize(renderChat(head, false));
        const longer = tokenize(renderChat([...head, ...tail]));
        assert.deepEqual(longer.subarray(0, shorter.length), shorter);
      },
    ),
    { numRuns: 300 },
  );
});

test('block hashes chain: a shared prefix shares hashes, one changed token changes every later block', () => {
  const root = rootHash('m');
  const tokens = tokenize(ENGLISH);
  const all = blockHashes(tokens, 16, root);
  assert.equal(all.length, Math.floor(tokens.length / 16));
  assert.deepEqual(blockHashes(tokens.subarray(0, 40), 16, root), all.slice(0, 2));
  const changed = Uint32Array.from(tokens);
  changed[20] = (changed[20] ?? 0) + 1;
  const other = blockHashes(changed, 16, root);
  assert.equal(other[0], all[0]);
  for (let i = 1; i < all.length; i++) assert.notEqual(other[i], all[i]);
  assert.notEqual(blockHashes(tokens, 16, rootHash('other-model'))[0], all[0], 'models never share blocks');
  assert.ok(all.every((h) => Number.isSafeInteger(h) && h >= 0));
});

test('output text is deterministic, seed-dependent and re-tokenizes to the same count', () => {
  const key = outputKey(7, 12345);
  const text = Array.from({ length: 300 }, (_, i) => outputToken(key, i)).join('');
  assert.equal(Array.from({ length: 300 }, (_, i) => outputToken(outputKey(7, 12345), i)).join(''), text);
  assert.notEqual(Array.from({ length: 300 }, (_, i) => outputToken(outputKey(8, 12345), i)).join(''), text);
  assert.equal(countTokens(text), 300);
  assert.match(text, /^ [A-Z][a-z]+/);
  assert.match(text, /\. [A-Z]/, 'sentences start with a capital');
  const ratio = text.length / 300;
  assert.ok(ratio > 3 && ratio < 7, `chars per output token ${ratio}`);
});

test('tokenizing ~6k characters and hashing their blocks takes well under a millisecond', () => {
  const text = ENGLISH.repeat(12).slice(0, 6000);
  const root = rootHash('m');
  for (let i = 0; i < 50; i++) blockHashes(tokenize(text), 16, root);
  const runs = 300;
  const start = performance.now();
  for (let i = 0; i < runs; i++) blockHashes(tokenize(text), 16, root);
  const mean = (performance.now() - start) / runs;
  // Typically ~0.1 ms; the bound leaves room for a loaded two-core machine.
  assert.ok(mean < 1, `mean ${mean.toFixed(3)} ms`);
});
