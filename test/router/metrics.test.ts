// /metrics exposes the families of DESIGN section 8 and they count exactly what the test sent:
// requests and latencies by logic, pod and outcome, overhead, pins and decisions, workflows
// live and removed, messages, tokens from the pods' usage, per-pod in-flight and health.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentCall, chat, http, metric, scrapeRouter, startStack, waitFor } from '../helpers/router.ts';

const FAMILIES: Record<string, string> = {
  workflow_router_requests_total: 'counter',
  workflow_router_request_duration_seconds: 'histogram',
  workflow_router_time_to_first_token_seconds: 'histogram',
  workflow_router_overhead_seconds: 'histogram',
  workflow_router_routing_decisions_total: 'counter',
  workflow_router_pins_total: 'counter',
  workflow_router_spills_total: 'counter',
  workflow_router_migrations_total: 'counter',
  workflow_router_workflows_live: 'gauge',
  workflow_router_workflows_removed_total: 'counter',
  workflow_router_messages_total: 'counter',
  workflow_router_store_errors_total: 'counter',
  workflow_router_pod_inflight: 'gauge',
  workflow_router_pod_healthy: 'gauge',
  workflow_router_admission_queue_depth: 'gauge',
  workflow_router_upstream_retries_total: 'counter',
  workflow_router_prompt_tokens_total: 'counter',
};

test('/metrics exposes the DESIGN section 8 families and counts what was sent', async () => {
  const stack = await startStack({ pods: 2 });
  try {
    const client = stack.client();
    const perPod = new Map<string, number>();
    let prompt = 0;
    let cached = 0;
    // Two workflows, five calls: two pins, three pinned calls.
    const calls: [string, string][] = [
      ['m-wf-1', 'a'],
      ['m-wf-2', 'a'],
      ['m-wf-1', 'b'],
      ['m-wf-1', 'a'],
      ['m-wf-2', 'b'],
    ];
    for (const [i, [wf, agent]] of calls.entries()) {
      const { pod, completion } = await chat(
        client,
        agentCall(wf, agent, `${wf} shared opening text for the cache ${'x '.repeat(40)} call ${i}`),
      );
      perPod.set(pod, (perPod.get(pod) ?? 0) + 1);
      prompt += completion.usage?.prompt_tokens ?? 0;
      cached += completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    }
    // A streamed call without a workflow (placed by prefix_aware).
    const stream = await client.chat.completions.create({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      messages: [{ role: 'user', content: 'anonymous streamed call' }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      prompt += chunk.usage?.prompt_tokens ?? 0;
      cached += chunk.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    }
    // Messages: two sent, one refused by a declared queue of 2, one read.
    const url = `${stack.router.url}/v1/workflows/m-wf-3`;
    await http('PUT', url, { max_message_queue_size: 2 });
    for (let i = 0; i < 3; i++)
      await http('POST', `${url}/agents/x/messages`, { from_agent: 'y', payload: i });
    await http('GET', `${url}/agents/x/messages?limit=1`);
    // A deleted workflow.
    assert.equal((await http('DELETE', url)).status, 200);

    const { samples, types } = await scrapeRouter(stack.router);
    for (const [family, type] of Object.entries(FAMILIES)) {
      assert.equal(types.get(family), type, `${family} is exposed as a ${type}`);
    }
    const logic = { logic: 'workflow_aware' };
    assert.equal(metric(samples, 'workflow_router_requests_total', { ...logic, outcome: 'ok' }), 6);
    assert.equal(metric(samples, 'workflow_router_requests_total'), 6);
    for (const [pod, n] of perPod) {
      assert.ok(
        metric(samples, 'workflow_router_requests_total', { ...logic, pod, outcome: 'ok' }) >= n,
        `requests on ${pod}`,
      );
    }
    assert.equal(metric(samples, 'workflow_router_request_duration_seconds_count', logic), 6);
    assert.ok(metric(samples, 'workflow_router_request_duration_seconds_sum', logic) > 0);
    assert.equal(
      metric(samples, 'workflow_router_request_duration_seconds_bucket', { ...logic, le: '+Inf' }),
      6,
    );
    assert.equal(metric(samples, 'workflow_router_time_to_first_token_seconds_count'), 6);
    assert.equal(metric(samples, 'workflow_router_overhead_seconds_count'), 6);
    assert.equal(metric(samples, 'workflow_router_pins_total'), 2);
    assert.equal(metric(samples, 'workflow_router_routing_decisions_total', { ...logic, kind: 'new' }), 2);
    assert.equal(metric(samples, 'workflow_router_routing_decisions_total', { ...logic, kind: 'pinned' }), 3);
    assert.equal(
      metric(samples, 'workflow_router_routing_decisions_total', { ...logic, kind: 'unpinned' }),
      1,
    );
    assert.equal(metric(samples, 'workflow_router_spills_total'), 0);
    assert.equal(metric(samples, 'workflow_router_migrations_total'), 0);
    assert.equal(metric(samples, 'workflow_router_workflows_live'), 2, 'm-wf-1 and m-wf-2 (m-wf-3 deleted)');
    assert.equal(metric(samples, 'workflow_router_workflows_removed_total', { reason: 'deleted' }), 1);
    assert.equal(metric(samples, 'workflow_router_messages_total', { outcome: 'sent' }), 2);
    assert.equal(metric(samples, 'workflow_router_messages_total', { outcome: 'refused' }), 1);
    assert.equal(metric(samples, 'workflow_router_messages_total', { outcome: 'delivered' }), 1);
    assert.equal(metric(samples, 'workflow_router_prompt_tokens_total', { kind: 'prompt' }), prompt);
    assert.equal(metric(samples, 'workflow_router_prompt_tokens_total', { kind: 'cached' }), cached);
    assert.ok(cached > 0, 'the repeated opening was cached');
    assert.equal(metric(samples, 'workflow_router_store_errors_total'), 0);
    assert.equal(metric(samples, 'workflow_router_upstream_retries_total'), 0);
    for (const pod of ['pod-0', 'pod-1']) {
      assert.equal(metric(samples, 'workflow_router_pod_inflight', { pod }), 0);
      assert.equal(metric(samples, 'workflow_router_pod_healthy', { pod }), 1);
      assert.equal(metric(samples, 'workflow_router_admission_queue_depth', { pod }), 0);
    }
  } finally {
    await stack.close();
  }
});

test('per-pod in-flight and admission queue depth show calls while they wait', async () => {
  const stack = await startStack({ pods: 1, router: { maxInflightPerPod: 1 } });
  try {
    const pod = stack.pods[0];
    assert.ok(pod);
    pod.setFaults({ hang: true });
    const client = stack.client();
    const first = chat(client, agentCall('held-1', 'a', 'held one'));
    await waitFor(() => stack.router.core.pool.get('pod-0')?.inflight === 1, 'first in flight');
    const second = chat(client, agentCall('held-2', 'a', 'held two'));
    await waitFor(() => stack.router.core.queueDepth('pod-0') === 1, 'second queued');
    const { samples } = await scrapeRouter(stack.router);
    assert.equal(metric(samples, 'workflow_router_pod_inflight', { pod: 'pod-0' }), 1);
    assert.equal(metric(samples, 'workflow_router_admission_queue_depth', { pod: 'pod-0' }), 1);
    assert.equal(metric(samples, 'workflow_router_workflows_live'), 2);
    pod.setFaults({});
    await Promise.all([first, second]);
    const after = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(after, 'workflow_router_pod_inflight', { pod: 'pod-0' }), 0);
    assert.equal(metric(after, 'workflow_router_admission_queue_depth', { pod: 'pod-0' }), 0);
  } finally {
    await stack.close();
  }
});
