import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientFor, metricValue, podFor, promptOf, scrape, waitFor } from './helpers.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

test('/metrics parses as Prometheus text with vLLM names and a model_name label', async (t) => {
  const pod = await podFor(t);
  const res = await fetch(`${pod.url}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = await scrape(pod);
  const labels = { model_name: MODEL };
  for (const name of [
    'vllm:num_requests_running',
    'vllm:num_requests_waiting',
    'vllm:kv_cache_usage_perc',
    'vllm:prefix_cache_queries_total',
    'vllm:prefix_cache_hits_total',
    'vllm:prompt_tokens_total',
    'vllm:generation_tokens_total',
    'vllm:num_preemptions_total',
  ]) {
    assert.equal(metricValue(samples, name, labels), 0, name);
  }
  assert.equal(
    metricValue(samples, 'vllm:cache_config_info', { block_size: '16', num_gpu_blocks: '26000' }),
    1,
  );
});

test('counters and histograms match the requests sent', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  const prompt = promptOf(100, 1);
  const n = 5;
  for (let i = 0; i < n; i++) await client.completions.create({ model: MODEL, prompt, max_tokens: 7 });
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: promptOf(30, 2) }],
    max_tokens: 3,
    stream: true,
    stream_options: { include_usage: true },
  });
  let chatPrompt = 0;
  for await (const chunk of stream) chatPrompt = chunk.usage?.prompt_tokens ?? chatPrompt;
  await client.completions.create({ model: MODEL, prompt: 'x', temperature: 5 }).catch(() => undefined);

  const samples = await scrape(pod);
  const m = (name: string, labels: Record<string, string> = {}) =>
    metricValue(samples, name, { model_name: MODEL, ...labels });
  assert.equal(m('vllm:prompt_tokens_total'), n * 100 + chatPrompt);
  assert.equal(m('vllm:generation_tokens_total'), n * 7 + 3);
  assert.equal(m('vllm:prefix_cache_queries_total'), n * 100 + chatPrompt);
  assert.equal(m('vllm:prefix_cache_hits_total'), (n - 1) * 96, 'each repeat hits 6 blocks of 16 tokens');
  assert.equal(m('vllm:request_success_total', { finished_reason: 'length' }), n + 1);
  assert.equal(m('vllm:time_to_first_token_seconds_count'), n + 1);
  assert.equal(m('vllm:e2e_request_latency_seconds_count'), n + 1);
  assert.equal(m('vllm:e2e_request_latency_seconds_bucket', { le: '+Inf' }), n + 1);
  assert.equal(m('vllm:num_requests_running'), 0);
  assert.equal(m('vllm:kv_cache_usage_perc'), 0);

  const totals = pod.stats().totals;
  assert.equal(totals.promptTokens, n * 100 + chatPrompt + 0);
  assert.equal(totals.cachedTokens, (n - 1) * 96);
  assert.equal(totals.completionTokens, n * 7 + 3);
  assert.equal(totals.requests, n + 2);
  assert.equal(totals.failed, 1);

  // DELETE /sim/stats zeroes counters too; the cache stays warm.
  await fetch(`${pod.url}/sim/stats`, { method: 'DELETE' });
  const after = await scrape(pod);
  assert.equal(metricValue(after, 'vllm:prompt_tokens_total', { model_name: MODEL }), 0);
  await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
  assert.equal(metricValue(await scrape(pod), 'vllm:prefix_cache_hits_total', { model_name: MODEL }), 96);
});

test('gauges show running, waiting and KV usage while requests are in flight', async (t) => {
  const pod = await podFor(t, { maxNumSeqs: 1, kvBlocks: 100, decodeMsPerToken: 50, timeScale: 1 });
  const client = clientFor(pod);
  const controllers = [new AbortController(), new AbortController()];
  const pending = controllers.map((c, i) =>
    client.completions
      .create({ model: MODEL, prompt: promptOf(160, i), max_tokens: 40 }, { signal: c.signal })
      .catch(() => undefined),
  );
  await waitFor(() => pod.stats().running === 1 && pod.stats().waiting === 1);
  const samples = await scrape(pod);
  const m = (name: string) => metricValue(samples, name, { model_name: MODEL });
  assert.equal(m('vllm:num_requests_running'), 1);
  assert.equal(m('vllm:num_requests_waiting'), 1);
  // 160 prompt tokens + the first output token: 11 of 100 blocks.
  assert.ok(m('vllm:kv_cache_usage_perc') >= 0.1 && m('vllm:kv_cache_usage_perc') <= 0.12);
  for (const c of controllers) c.abort();
  await Promise.all(pending);
  await waitFor(() => pod.stats().running === 0 && pod.stats().waiting === 0);
  const done = await scrape(pod);
  assert.equal(metricValue(done, 'vllm:kv_cache_usage_perc', { model_name: MODEL }), 0);
});

test('several served models get their own per-request series', async (t) => {
  const pod = await podFor(t, { model: ['base', 'adapter'] });
  const client = clientFor(pod);
  await client.completions.create({ model: 'adapter', prompt: promptOf(10), max_tokens: 2 });
  const samples = await scrape(pod);
  assert.equal(metricValue(samples, 'vllm:generation_tokens_total', { model_name: 'adapter' }), 2);
  assert.equal(metricValue(samples, 'vllm:generation_tokens_total', { model_name: 'base' }), 0);
  assert.equal(metricValue(samples, 'vllm:num_requests_running', { model_name: 'base' }), 0);
});
