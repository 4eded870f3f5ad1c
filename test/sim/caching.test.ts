import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientFor, podFor, promptOf, waitFor } from './helpers.ts';
import { blockHashes, formatBlockHash, rootHash } from '../../sim/block-hash.ts';
import { tokenize } from '../../sim/tokenizer.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

function hashesOf(prompt: string): string[] {
  return blockHashes(tokenize(prompt), 16, rootHash(MODEL)).map(formatBlockHash);
}

test('a repeated prompt of n tokens reports cached_tokens = the largest multiple of 16 below n', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  for (const [i, n] of [1, 16, 17, 40, 48, 49, 300].entries()) {
    const prompt = promptOf(n, i);
    const cold = await client.completions.create({ model: MODEL, prompt, max_tokens: 2 });
    assert.equal(cold.usage?.prompt_tokens, n);
    assert.equal(cold.usage?.prompt_tokens_details?.cached_tokens, 0, `cold n=${n}`);
    const warm = await client.completions.create({ model: MODEL, prompt, max_tokens: 2 });
    assert.equal(
      warm.usage?.prompt_tokens_details?.cached_tokens,
      16 * Math.floor((n - 1) / 16),
      `warm n=${n}`,
    );
  }
});

test('chats sharing their leading messages hit the shared prefix partially', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  const system = { role: 'system' as const, content: `You are a research agent. ${promptOf(200, 1)}` };
  const first = await client.chat.completions.create({
    model: MODEL,
    messages: [system, { role: 'user', content: `Question one: ${promptOf(50, 2)}` }],
    max_tokens: 4,
  });
  assert.equal(first.usage?.prompt_tokens_details?.cached_tokens, 0);
  const second = await client.chat.completions.create({
    model: MODEL,
    messages: [system, { role: 'user', content: `Another question: ${promptOf(80, 3)}` }],
    max_tokens: 4,
  });
  const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? -1;
  const prompt = second.usage?.prompt_tokens ?? 0;
  // The system message (~205 tokens with its markers) is shared; the user turn is not.
  assert.ok(cached >= 192 && cached <= 208, `cached ${cached}`);
  assert.equal(cached % 16, 0);
  assert.ok(cached < prompt);
  const stats = pod.stats();
  assert.equal(stats.totals.cachedTokens, cached);
  assert.equal(stats.requests[1]?.cachedTokens, cached);
});

test('LRU eviction under a small --kv-blocks evicts the oldest unreferenced blocks', async (t) => {
  // 10 blocks; each prompt is 49 tokens = 3 full blocks + 1 partial while it runs.
  const pod = await podFor(t, { kvBlocks: 10 });
  const client = clientFor(pod);
  const prompts = ['A', 'B', 'C', 'D'].map((_, i) => promptOf(49, i + 1));
  const send = async (p: string) =>
    (await client.completions.create({ model: MODEL, prompt: p, max_tokens: 1 })).usage?.prompt_tokens_details
      ?.cached_tokens;
  for (const p of prompts.slice(0, 3)) assert.equal(await send(p), 0);
  let resident = new Set(pod.stats({ blocks: true }).blockHashes);
  for (const p of prompts.slice(0, 3)) for (const h of hashesOf(p)) assert.ok(resident.has(h));

  // D needs 4 slots: 3 of them are taken from A, the least recently used prompt.
  assert.equal(await send(prompts[3] as string), 0);
  resident = new Set(pod.stats({ blocks: true }).blockHashes);
  assert.deepEqual(
    hashesOf(prompts[0] as string).map((h) => resident.has(h)),
    [false, false, false],
  );
  for (const p of prompts.slice(1)) for (const h of hashesOf(p)) assert.ok(resident.has(h));
  assert.equal(pod.stats().evictions, 3);

  // B is still cached; using it makes C the oldest, so A's return evicts C.
  assert.equal(await send(prompts[1] as string), 48);
  assert.equal(await send(prompts[0] as string), 0);
  assert.equal(await send(prompts[3] as string), 48);
  assert.equal(await send(prompts[2] as string), 0, 'C was evicted');
});

test('blocks in use are never evicted; a request that cannot get blocks waits', async (t) => {
  // Every engine step lasts 100 ms while the held request decodes, so it outlives the others.
  const pod = await podFor(t, { kvBlocks: 12, decodeMsPerToken: 100, timeScale: 1 });
  const client = clientFor(pod);
  const held = promptOf(100, 5); // 100 + 12 tokens: 7 blocks while running, 6 of them full
  const controller = new AbortController();
  const stream = await client.completions.create(
    { model: MODEL, prompt: held, max_tokens: 12, stream: true },
    { signal: controller.signal },
  );
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  assert.equal(pod.stats().usedBlocks, 7);

  // Each of these needs 4 of the 5 free blocks, so they run one at a time and churn the
  // free blocks; none of them may take a block the running request holds.
  const others = [1, 2, 3].map((i) =>
    client.completions.create({ model: MODEL, prompt: promptOf(49, 10 + i), max_tokens: 1 }),
  );
  await Promise.all(others);
  let resident = new Set(pod.stats({ blocks: true }).blockHashes);
  for (const h of hashesOf(held).slice(0, 6)) assert.ok(resident.has(h), 'a block in use was evicted');

  // Two requests that need 6 blocks can't both start while 7 of 12 are held: one waits.
  const big = [20, 21].map((s) =>
    client.completions.create({ model: MODEL, prompt: promptOf(90, s), max_tokens: 1 }),
  );
  // The first needs 6 of 5 free: both wait behind the running request.
  await waitFor(() => pod.stats().waiting === 2);
  assert.equal(pod.stats().running, 1);
  controller.abort();
  await waitFor(() => pod.stats().requests.some((r) => r.cancelled));
  await Promise.all(big);
  await waitFor(() => pod.stats().usedBlocks === 0);
  resident = new Set(pod.stats({ blocks: true }).blockHashes);
  const stats = pod.stats();
  assert.equal(stats.running + stats.waiting, 0);
  assert.ok(resident.size <= 12);
});

test('a cold prefill takes longer with more uncached tokens; a cached prompt is far faster', async (t) => {
  // 1 ms per prompt token at time scale 0.5: 300 uncached tokens take 150 ms, 1200 take
  // 600 ms, a warm 1200 (16 uncached) 8 ms; large enough that an event-loop stall of a
  // busy machine doesn't change the comparisons.
  const pod = await podFor(t, { prefillMsPerToken: 1, decodeMsPerToken: 1, timeScale: 0.5 });
  const client = clientFor(pod);
  const ttft = async (prompt: string): Promise<{ client: number; pod: number; cached: number }> => {
    const start = performance.now();
    const stream = await client.completions.create({
      model: MODEL,
      prompt,
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    let first: number | undefined;
    let cached = -1;
    for await (const chunk of stream) {
      first ??= performance.now();
      if (chunk.usage) cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? -1;
    }
    const record = pod.stats({ limit: 1 }).requests[0];
    return { client: (first ?? NaN) - start, pod: record?.ttftMs ?? NaN, cached };
  };
  const short = await ttft(promptOf(300, 1));
  const long = await ttft(promptOf(1200, 2));
  const warm = await ttft(promptOf(1200, 2));
  assert.equal(long.cached, 0);
  assert.equal(warm.cached, 1184);
  assert.ok(long.pod > short.pod * 1.5, `pod ttft ${short.pod} vs ${long.pod}`);
  assert.ok(long.pod >= 600 * 0.9, `cold 1200-token prefill took ${long.pod} ms`);
  assert.ok(warm.pod < long.pod / 4, `pod ttft warm ${warm.pod} vs cold ${long.pod}`);
  assert.ok(warm.client < long.client / 2, `client ttft warm ${warm.client} vs cold ${long.client}`);
});

test('POST /sim/reset is a cold restart; DELETE /sim/stats keeps the cache', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  const prompt = promptOf(64, 1);
  await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
  const cleared = (await (await fetch(`${pod.url}/sim/stats`, { method: 'DELETE' })).json()) as {
    totals: { requests: number };
    residentBlocks: number;
  };
  assert.equal(cleared.totals.requests, 0);
  assert.equal(cleared.residentBlocks, 4);
  const warm = await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
  assert.equal(warm.usage?.prompt_tokens_details?.cached_tokens, 48);
  const reset = (await (await fetch(`${pod.url}/sim/reset`, { method: 'POST' })).json()) as {
    residentBlocks: number;
    requests: unknown[];
  };
  assert.equal(reset.residentBlocks, 0);
  assert.deepEqual(reset.requests, []);
  const cold = await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
  assert.equal(cold.usage?.prompt_tokens_details?.cached_tokens, 0);
});
