// Faults handled as a careful operator expects (issue 10), each through the simulator's fault
// knobs or a killed process:
// - a refused connection is retried once on another pod: the client sees success;
// - a pod that takes the call and resets before any byte: retried under the default
//   --upstream-retry before-response (the pod may have run it: at-least-once), a 502 under
//   --upstream-retry connect;
// - a pod that dies mid-stream: the client's stream ends with an error event in OpenAI's shape,
//   never [DONE]; one broken stream does not take the pod out (passive-failure threshold);
// - a hung pod: 504 at the first-byte timeout, the pod is ejected and later calls go elsewhere.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import {
  agentCall,
  chat,
  chatBody,
  http,
  metric,
  MODEL,
  scrapeRouter,
  spawnSimProcess,
  startStack,
  waitFor,
  type SimProcess,
  type Stack,
} from '../helpers/router.ts';
import { isOpenAIError, parseSse } from './helpers.ts';

describe('a refused connection is retried on another pod; the client sees success', () => {
  let proc: SimProcess;
  let stack: Stack;
  before(async () => {
    proc = await spawnSimProcess();
    stack = await startStack({
      pods: 1,
      extraBackends: [proc.url],
      router: { healthCheckIntervalMs: 60_000 },
    });
  });
  after(async () => {
    await stack?.close();
    await proc?.kill();
  });

  test('calls pinned to a killed pod, streamed and not, succeed on the other pod', async () => {
    const client = stack.client();
    const onProc: string[] = [];
    for (let i = 0; onProc.length < 2 && i < 40; i++) {
      const { pod } = await chat(client, agentCall(`refused-${i}`, 'a', `opening call ${i}`));
      if (pod === 'pod-0') onProc.push(`refused-${i}`);
    }
    assert.equal(onProc.length, 2, 'two workflows pinned to the process');
    await proc.kill();
    // The probes run once a minute: only the refused connection tells the router.
    const [plain, streamed] = onProc as [string, string];
    const first = await chat(client, agentCall(plain, 'a', 'after the kill'));
    assert.equal(first.pod, 'pod-1');
    assert.ok(first.completion.choices[0]?.message.content);
    const raw = await http('POST', `${stack.baseURL}/chat/completions`, {
      ...agentCall(streamed, 'a', 'a stream after the kill'),
      stream: true,
    });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.headers.get('x-workflow-router-pod'), 'pod-1');
    assert.match(raw.text, /data: \[DONE\]/);
    const samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(
      metric(samples, 'workflow_router_upstream_retries_total'),
      1,
      'the second call avoided the dead pod',
    );
    assert.equal(stack.router.core.pool.get('pod-0')?.healthy, false);
  });
});

describe('a reset before the first byte', () => {
  test('is retried once under --upstream-retry before-response (at-least-once)', async () => {
    const stack = await startStack({ pods: 2, router: { routingLogic: 'roundrobin' } });
    try {
      stack.pods[0]?.setFaults({ dropStreamAfterTokens: 0 });
      for (let i = 0; i < 4; i++) {
        const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody(`reset ${i}`));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('x-workflow-router-pod'), 'pod-1');
      }
      const samples = (await scrapeRouter(stack.router)).samples;
      assert.ok(metric(samples, 'workflow_router_upstream_retries_total') >= 1);
      // The dropping pod saw the calls it dropped: a retried call may have run twice.
      assert.ok((stack.pods[0]?.stats().requests.length ?? 0) >= 1);
    } finally {
      await stack.close();
    }
  });

  test('is a 502 in OpenAI shape under --upstream-retry connect (never run twice)', async () => {
    const stack = await startStack({ pods: 1, router: { upstreamRetry: 'connect' } });
    try {
      stack.pods[0]?.setFaults({ dropStreamAfterTokens: 0 });
      const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('reset, no retry'));
      assert.equal(res.status, 502, res.text);
      assert.ok(isOpenAIError(res.body), res.text);
      assert.equal((res.body as { error: { code: string } }).error.code, 'upstream_no_response');
      assert.equal(stack.pods[0]?.stats().requests.length, 1, 'sent once');
    } finally {
      await stack.close();
    }
  });
});

describe('a pod that dies mid-stream', () => {
  test('ends the stream with an error event in OpenAI shape, never [DONE]; the pod stays in service', async () => {
    const stack = await startStack({ pods: 1, router: { healthCheckIntervalMs: 60_000 } });
    try {
      const pod = stack.pods[0];
      assert.ok(pod);
      pod.setFaults({ dropStreamAfterTokens: 5 });
      const raw = await http('POST', `${stack.baseURL}/chat/completions`, {
        ...chatBody('a long story', { max_tokens: 64 }),
        stream: true,
      });
      assert.equal(raw.status, 200);
      const events = parseSse(raw.text);
      const last = events.at(-1);
      assert.equal(last?.event, 'error', raw.text);
      const error: unknown = JSON.parse(last?.data ?? '');
      assert.ok(isOpenAIError(error), last?.data);
      assert.equal((error as { error: { code: string } }).error.code, 'upstream_stream_broken');
      assert.ok(events.filter((e) => e.event === undefined).length >= 2, 'tokens flowed first');
      assert.doesNotMatch(raw.text, /\[DONE\]/);

      // The official client throws instead of returning a short answer.
      const client = stack.client();
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'another' }],
        max_tokens: 64,
        stream: true,
      });
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) void chunk;
        })(),
        (e: unknown) => e instanceof APIError,
      );

      // One pod, two broken streams: below --passive-failures (3), so the next call goes through.
      pod.setFaults({});
      assert.equal(stack.router.core.pool.get('pod-0')?.healthy, true);
      const ok = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('fine now'));
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await stack.close();
    }
  });

  test('three broken streams in a row eject the pod; calls go to the other one', async () => {
    const stack = await startStack({
      pods: 2,
      router: { routingLogic: 'roundrobin', healthCheckIntervalMs: 60_000, ejectionMs: 60_000 },
    });
    try {
      stack.pods[0]?.setFaults({ dropStreamAfterTokens: 3 });
      let broken = 0;
      for (let i = 0; i < 12 && broken < 3; i++) {
        const raw = await http('POST', `${stack.baseURL}/chat/completions`, {
          ...chatBody(`stream ${i}`, { max_tokens: 16 }),
          stream: true,
        });
        if (raw.headers.get('x-workflow-router-pod') === 'pod-0') {
          assert.match(raw.text, /event: error/);
          broken++;
        }
      }
      assert.equal(broken, 3);
      const pod0 = stack.router.core.pool.get('pod-0');
      assert.equal(pod0?.healthy, false);
      assert.equal(pod0?.downReason, 'ejected');
      for (let i = 0; i < 6; i++) {
        const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody(`after ${i}`));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-workflow-router-pod'), 'pod-1');
      }
    } finally {
      await stack.close();
    }
  });
});

describe('a hung pod', () => {
  test('times out (504), is ejected, and the workflow continues on another pod', async () => {
    const stack = await startStack({
      pods: 2,
      router: { upstreamFirstByteTimeoutMs: 800, ejectionMs: 60_000, healthCheckIntervalMs: 200 },
    });
    try {
      const client = stack.client();
      const { pod } = await chat(client, agentCall('hung-wf', 'a', 'first call'));
      const index = stack.podIndex(pod);
      stack.pods[index]?.setFaults({ hang: true });
      const started = Date.now();
      const res = await http('POST', `${stack.baseURL}/chat/completions`, agentCall('hung-wf', 'a', 'hangs'));
      assert.equal(res.status, 504, res.text);
      assert.ok(isOpenAIError(res.body), res.text);
      assert.ok(Date.now() - started < 10_000);
      const hung = stack.router.core.pool.get(pod);
      assert.equal(hung?.healthy, false, 'marked down');
      assert.equal(hung?.downReason, 'timeout');
      // Its probes still pass (only calls hang): the ejection holds across them.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(hung?.healthy, false, 'still out after passing probes');
      for (let i = 0; i < 5; i++) {
        const next = await chat(client, agentCall('hung-wf', 'a', `later call ${i}`));
        assert.notEqual(next.pod, pod);
        const other = await http('POST', `${stack.baseURL}/chat/completions`, chatBody(`other ${i}`));
        assert.equal(other.status, 200);
        assert.notEqual(other.headers.get('x-workflow-router-pod'), pod);
      }
      const stats = await http<{ pods: { id: string; healthy: boolean; down_reason: string | null }[] }>(
        'GET',
        `${stack.router.url}/v1/workflows/stats`,
      );
      const shown = stats.body.pods.find((p) => p.id === pod);
      assert.equal(shown?.healthy, false);
      assert.equal(shown?.down_reason, 'timeout');
      stack.pods[index]?.setFaults({});
    } finally {
      await stack.close();
    }
  });

  test('with every pod ejected the router still tries them rather than refusing every call', async () => {
    const stack = await startStack({
      pods: 1,
      router: { upstreamFirstByteTimeoutMs: 500, ejectionMs: 60_000 },
    });
    try {
      stack.pods[0]?.setFaults({ hang: true });
      const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('hangs'));
      assert.equal(res.status, 504);
      stack.pods[0]?.setFaults({});
      await waitFor(async () => (await http('GET', `${stack.router.url}/readyz`)).status === 200, 'ready');
      const ok = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('works'));
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await stack.close();
    }
  });
});
