// The prober: vLLM metric parsing, the prefix-cache hit rate between scrapes, and real probes
// of a simulated pod (healthy, unhealthy, gone, models discovered).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseVllmMetrics, prefixHitRate, probePod, type ProbeTarget } from '../../operator/prober.ts';
import { startSimPod, type SimPod } from '../../sim/server.ts';
import { freePort } from '../helpers/redis.ts';

test('parses the vLLM families, summing label sets and taking the largest KV usage', () => {
  const text = [
    '# HELP vllm:num_requests_running Number of requests running',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{model_name="a"} 2',
    'vllm:num_requests_running{model_name="b"} 1',
    'vllm:num_requests_waiting{model_name="a"} 4.0',
    'vllm:kv_cache_usage_perc{model_name="a"} 0.25',
    'vllm:kv_cache_usage_perc{model_name="b"} 0.5',
    'vllm:prefix_cache_queries_total{model_name="a"} 1000',
    'vllm:prefix_cache_hits_total{model_name="a"} 750 1700000000000',
    'vllm:something_else 99',
    'garbage line',
  ].join('\n');
  assert.deepEqual(parseVllmMetrics(text), {
    running: 3,
    waiting: 4,
    kvUsage: 0.5,
    prefixQueries: 1000,
    prefixHits: 750,
  });
  assert.equal(parseVllmMetrics('vllm:gpu_cache_usage_perc 0.7').kvUsage, 0.7, "vLLM < 0.10's name");
});

test('prefix hit rate: over the queries since the last scrape; kept when idle; cumulative after a reset', () => {
  const s = (q: number, h: number) => ({
    running: 0,
    waiting: 0,
    kvUsage: 0,
    prefixQueries: q,
    prefixHits: h,
  });
  assert.equal(prefixHitRate(undefined, s(100, 50)), 0.5);
  assert.equal(prefixHitRate(s(100, 50), s(300, 250)), 1);
  assert.equal(prefixHitRate(s(300, 250), s(300, 250), 0.8), 0.8);
  assert.equal(prefixHitRate(s(300, 250), s(10, 1)), 0.1);
});

describe('probing a simulated pod', () => {
  let pod: SimPod;
  const target = (url: string, over: Partial<ProbeTarget> = {}): ProbeTarget => ({
    url,
    healthPath: '/health',
    metricsPath: '/metrics',
    timeoutMs: 2000,
    discoverModels: false,
    ...over,
  });

  before(async () => {
    pod = await startSimPod({ model: ['m-1', 'm-2'], logLevel: 'error', timeScale: 0 });
  });
  after(async () => {
    await pod?.close();
  });

  test('healthy: a sample from /metrics, models from /v1/models when asked', async () => {
    const r = await probePod(target(pod.url, { discoverModels: true }));
    assert.ok(r.ok);
    assert.equal(r.sample?.running, 0);
    assert.deepEqual(r.models, ['m-1', 'm-2']);
    const plain = await probePod(target(pod.url));
    assert.ok(plain.ok);
    assert.equal(plain.models, undefined);
  });

  test('unhealthy /health fails the probe with its status', async () => {
    pod.setFaults({ unhealthy: true });
    try {
      const r = await probePod(target(pod.url));
      assert.deepEqual(r, { ok: false, reason: '/health answered 503' });
    } finally {
      pod.setFaults({});
    }
  });

  test('nothing listening: refused', async () => {
    const r = await probePod(target(`http://127.0.0.1:${await freePort()}`));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /ECONNREFUSED/);
  });
});
