// Priority admission (DESIGN section 4): with --max-inflight-per-pod 1 and a held pod, queued
// calls are served by workflow priority (body, header or declaration), a full queue answers
// 429 with Retry-After, and a caller that gives up leaves the queue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { AdmissionGate } from '../../router/proxy/admission.ts';
import {
  agentCall,
  assertOpenAIError,
  chat,
  chatBody,
  http,
  MODEL,
  startStack,
  waitFor,
} from '../helpers/router.ts';

test('queued calls are served by workflow priority; a full queue is 429 with Retry-After', async () => {
  const stack = await startStack({
    pods: 1,
    router: { maxInflightPerPod: 1, admissionQueueSize: 3 },
  });
  try {
    const pod = stack.pods[0];
    const routerPod = stack.router.core.pool.get('pod-0');
    assert.ok(pod && routerPod);
    const queued = (): number => stack.router.core.queueDepth('pod-0');
    const client = stack.client();
    const declared = await http('PUT', `${stack.router.url}/v1/workflows/prio-declared`, { priority: 70 });
    assert.equal(declared.status, 201);

    // The pod holds the first call, so every later one waits in the router's queue.
    pod.setFaults({ hang: true });
    const holder = chat(client, agentCall('prio-holder', 'a', 'holder call', { workflow_priority: 50 }));
    await waitFor(() => routerPod.inflight === 1, 'the holder reached the pod');

    const low = chat(client, agentCall('prio-low', 'a', 'queued low', { workflow_priority: 10 }));
    await waitFor(() => queued() === 1, 'low queued');
    const high = chat(
      stack.client({ headers: { 'X-Workflow-Id': 'prio-high', 'X-Workflow-Priority': '90' } }),
      { model: MODEL, messages: [{ role: 'user', content: 'queued high' }], max_tokens: 4 },
    );
    await waitFor(() => queued() === 2, 'high queued');
    const middle = chat(client, agentCall('prio-declared', 'a', 'queued declared'));
    await waitFor(() => queued() === 3, 'declared queued');

    const full = await http('POST', `${stack.baseURL}/chat/completions`, {
      ...chatBody('one too many'),
      workflow_metadata: { workflow_id: 'prio-extra', workflow_priority: 100 },
    });
    assertOpenAIError(full, 429, 'pod_saturated');
    assert.ok(Number(full.headers.get('retry-after')) >= 1, 'Retry-After');
    await assert.rejects(
      chat(client, agentCall('prio-extra', 'a', 'again too many')),
      (e: unknown) => e instanceof OpenAI.RateLimitError,
    );
    assert.equal(queued(), 3, 'the refused calls took no place in the queue');

    pod.setFaults({});
    await Promise.all([holder, low, high, middle]);
    const order = pod
      .stats()
      .requests.filter((r) => r.status === 200)
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((r) => /(holder call|queued \w+)/.exec(r.promptText)?.[1]);
    assert.deepEqual(order, ['holder call', 'queued high', 'queued declared', 'queued low']);
    assert.equal(queued(), 0);
  } finally {
    await stack.close();
  }
});

test('a caller that gives up while queued leaves the queue and never reaches the pod', async () => {
  const stack = await startStack({ pods: 1, router: { maxInflightPerPod: 1, admissionQueueSize: 4 } });
  try {
    const pod = stack.pods[0];
    const routerPod = stack.router.core.pool.get('pod-0');
    assert.ok(pod && routerPod);
    const client = stack.client();
    pod.setFaults({ hang: true });
    const holder = chat(client, agentCall('q-holder', 'a', 'holding'));
    await waitFor(() => routerPod.inflight === 1, 'the holder reached the pod');
    const abort = new AbortController();
    const quitter = client.chat.completions.create(agentCall('q-quitter', 'a', 'will give up'), {
      signal: abort.signal,
    });
    await waitFor(() => stack.router.core.queueDepth('pod-0') === 1, 'queued');
    abort.abort();
    await assert.rejects(quitter);
    await waitFor(() => stack.router.core.queueDepth('pod-0') === 0, 'left the queue');
    pod.setFaults({});
    await holder;
    const next = await chat(client, agentCall('q-next', 'a', 'after the quitter'));
    assert.ok(next.completion.id);
    const prompts = pod.stats().requests.map((r) => r.promptText);
    assert.ok(!prompts.some((p) => p.includes('will give up')), 'the abandoned call never reached the pod');
  } finally {
    await stack.close();
  }
});

test("a gate resized to a VllmPool's maxInflightPerPod: a higher cap admits waiting calls at once", async () => {
  const gate = new AdmissionGate(1, 10);
  const signal = new AbortController().signal;
  const first = await gate.acquire(50, signal);
  const order: string[] = [];
  const low = gate.acquire(10, signal).then((release) => (order.push('low'), release));
  const high = gate.acquire(90, signal).then((release) => (order.push('high'), release));
  assert.equal(gate.depth, 2);
  gate.resize(2);
  assert.equal(gate.limit, 2);
  const admitted = await high;
  assert.deepEqual(order, ['high'], 'one more slot: the higher priority goes first');
  assert.equal(gate.depth, 1);
  gate.resize(1);
  first();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['high'], 'a smaller cap: two in flight, one released, still at the cap');
  admitted();
  (await low)();
  assert.deepEqual(order, ['high', 'low']);
  assert.equal(gate.depth, 0);
});
