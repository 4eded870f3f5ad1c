// Pods failing under the router: an unhealthy pod and a killed pod stop receiving calls within
// two health intervals and their workflows migrate (counted in status); a refused connection is
// retried once on another pod; a pod dying mid-stream gives the client an error, never a clean
// end; a pod's own errors reach the client in OpenAI's shape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import {
  agentCall,
  chat,
  freePort,
  http,
  metric,
  MODEL,
  records,
  scrapeRouter,
  spawnSimProcess,
  startStack,
  status,
  waitFor,
  type Stack,
} from '../helpers/router.ts';

/** Starts `n` workflows (one call each) and returns the pod each was pinned to. */
async function pinWorkflows(stack: Stack, tag: string, n: number): Promise<Map<string, string>> {
  const client = stack.client();
  const pins = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const wf = `${tag}-${i}`;
    const { pod } = await chat(client, agentCall(wf, 'first', `${wf} opening call`));
    pins.set(wf, pod);
  }
  return pins;
}

function mostLoaded(pins: Map<string, string>): { pod: string; workflows: string[] } {
  const byPod = new Map<string, string[]>();
  for (const [wf, pod] of pins) byPod.set(pod, [...(byPod.get(pod) ?? []), wf]);
  const [pod, workflows] = [...byPod.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? ['', []];
  return { pod, workflows };
}

test('an unhealthy pod stops receiving calls within two health intervals; its workflows migrate', async () => {
  const interval = 500;
  const stack = await startStack({ pods: 3, router: { healthCheckIntervalMs: interval } });
  try {
    const client = stack.client();
    const pins = await pinWorkflows(stack, 'sick', 12);
    const victim = mostLoaded(pins);
    assert.ok(victim.workflows.length >= 1);
    const victimPod = stack.pods[stack.podIndex(victim.pod)];
    assert.ok(victimPod);

    const t0 = Date.now();
    victimPod.setFaults({ unhealthy: true });
    // Keep the victim's workflows busy, one call at a time, for four intervals.
    const served: { startedAt: number; pod: string; wf: string }[] = [];
    let round = 0;
    while (Date.now() < t0 + 4 * interval || round < 2) {
      for (const wf of victim.workflows) {
        const startedAt = Date.now();
        const { pod } = await chat(client, agentCall(wf, 'next', `${wf} call in round ${round}`));
        served.push({ startedAt, pod, wf });
      }
      round++;
    }
    const cutoff = t0 + 2 * interval;
    const late = served.filter((s) => s.startedAt > cutoff && s.pod === victim.pod);
    assert.deepEqual(late, [], 'calls sent to the unhealthy pod after two health intervals');
    // The pod stamps arrival, a few milliseconds after the router decided: allow for the transit.
    const lateOnPod = victimPod.stats().requests.filter((r) => r.startedAt > cutoff + 100);
    assert.deepEqual(
      lateOnPod.map((r) => r.promptText.slice(-60)),
      [],
      'the unhealthy pod received calls after two health intervals',
    );

    for (const wf of victim.workflows) {
      const st = await status(stack, wf);
      assert.equal(st.body.migrations, 1, `${wf} migrations`);
      assert.notEqual(st.body.pinned_pod, victim.pod);
      const after = served.filter((s) => s.wf === wf && s.startedAt > cutoff).map((s) => s.pod);
      assert.ok(after.length >= 1);
      assert.equal(new Set(after).size, 1, `${wf} after migrating: ${after.join(',')}`);
      assert.equal(after[0], st.body.pinned_pod);
    }
    for (const [wf, pod] of pins) {
      if (pod === victim.pod) continue;
      const st = await status(stack, wf);
      assert.equal(st.body.migrations, 0, `${wf} was on a healthy pod`);
      assert.equal(st.body.pinned_pod, pod);
    }
    const samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(samples, 'workflow_router_migrations_total'), victim.workflows.length);
    assert.equal(metric(samples, 'workflow_router_pod_healthy', { pod: victim.pod }), 0);

    // Back to health: the pod takes calls again, and migrated workflows stay where they went.
    victimPod.setFaults({});
    const stats = `${stack.router.url}/v1/workflows/stats`;
    await waitFor(async () => {
      const res = await http<{ pods: { id: string; healthy: boolean }[] }>('GET', stats);
      return res.body.pods.find((p) => p.id === victim.pod)?.healthy === true;
    }, 'the pod back in service');
    const wf = victim.workflows[0] as string;
    const { pod } = await chat(client, agentCall(wf, 'next', `${wf} after recovery`));
    assert.notEqual(pod, victim.pod, 'a recovered pod does not pull its old workflows back');
  } finally {
    await stack.close();
  }
});

test('a killed pod process stops receiving calls within two health intervals; its workflows migrate', async () => {
  const interval = 500;
  const proc = await spawnSimProcess();
  const stack = await startStack({
    pods: 2,
    extraBackends: [proc.url],
    router: { healthCheckIntervalMs: interval },
  });
  try {
    const client = stack.client();
    const pins = await pinWorkflows(stack, 'killed', 12);
    const onProc = [...pins].filter(([, pod]) => pod === 'pod-0').map(([wf]) => wf);
    assert.ok(onProc.length >= 1, `no workflow pinned to the process: ${[...pins.values()].join(',')}`);
    const procRecords = await records(proc.url);
    assert.equal(procRecords.filter((r) => r.status === 200).length, onProc.length);

    const t0 = Date.now();
    await proc.kill();
    const statsUrl = `${stack.router.url}/v1/workflows/stats`;
    // Without any call to reveal it, the probes alone take it out.
    await waitFor(async () => {
      const res = await http<{ pods: { id: string; healthy: boolean }[] }>('GET', statsUrl);
      return res.body.pods.find((p) => p.id === 'pod-0')?.healthy === false;
    }, 'the killed pod marked down');
    const detected = Date.now() - t0;
    assert.ok(detected <= 2 * interval + 1000, `took ${detected} ms to notice a killed pod`);

    for (const wf of onProc) {
      const first = await chat(client, agentCall(wf, 'next', `${wf} after the kill`));
      assert.notEqual(first.pod, 'pod-0');
      assert.equal(first.headers.get('x-workflow-router-placement'), 'migration');
      const second = await chat(client, agentCall(wf, 'next', `${wf} later`));
      assert.equal(second.pod, first.pod);
      assert.equal(second.headers.get('x-workflow-router-placement'), 'pinned');
      const st = await status(stack, wf);
      assert.equal(st.body.migrations, 1);
      assert.equal(st.body.pinned_pod, first.pod);
      assert.equal(st.body.errors, 0, 'the client never saw the dead pod');
    }
  } finally {
    await stack.close();
    await proc.kill();
  }
});

test('a refused connection is retried once on another pod: a closed port plus a live pod', async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const stack = await startStack({
    pods: 1,
    extraBackends: [closed],
    router: { routingLogic: 'roundrobin', healthCheckIntervalMs: 60_000 },
  });
  try {
    const dead = stack.router.core.pool.get('pod-0');
    assert.ok(dead);
    assert.equal(dead.healthy, false, 'the start-up probe found the closed port');
    const client = stack.client();
    for (let i = 0; i < 4; i++) {
      // Pretend the last probe passed, so the router does send to the closed port.
      dead.markUp();
      const { pod, completion } = await chat(client, agentCall(`retry-${i}`, 'a', `retry call ${i}`));
      assert.equal(pod, 'pod-1');
      assert.ok(completion.choices[0]?.message.content);
    }
    assert.equal(dead.healthy, false, 'the refused pod is marked down');
    const samples = (await scrapeRouter(stack.router)).samples;
    const retries = metric(samples, 'workflow_router_upstream_retries_total');
    assert.ok(retries >= 2 && retries <= 4, `retries ${retries}`);
    assert.equal(metric(samples, 'workflow_router_requests_total', { outcome: 'ok' }), 4);
    assert.equal(stack.pods[0]?.stats().requests.length, 4, 'each call served exactly once');
  } finally {
    await stack.close();
  }
});

test('a pinned workflow whose pod was killed between probes is retried on another pod', async () => {
  const proc = await spawnSimProcess();
  const stack = await startStack({
    pods: 1,
    extraBackends: [proc.url],
    router: { healthCheckIntervalMs: 60_000 },
  });
  try {
    const client = stack.client();
    const pins = await pinWorkflows(stack, 'between', 6);
    const wf = [...pins].find(([, pod]) => pod === 'pod-0')?.[0];
    assert.ok(wf, `nothing pinned to the process: ${[...pins.values()].join(',')}`);
    await proc.kill();
    const { pod, headers } = await chat(client, agentCall(wf, 'next', `${wf} after the kill`));
    assert.equal(pod, 'pod-1');
    assert.equal(headers.get('x-workflow-router-placement'), 'migration');
    const st = await status(stack, wf);
    assert.equal(st.body.migrations, 1);
    assert.equal(st.body.errors, 0);
    const samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(samples, 'workflow_router_upstream_retries_total'), 1);
  } finally {
    await stack.close();
    await proc.kill();
  }
});

test('a pod dying mid-stream: the client stream throws, never ends cleanly', async () => {
  const stack = await startStack({ pods: 2 });
  try {
    for (const pod of stack.pods) pod.setFaults({ dropStreamAfterTokens: 5 });
    const client = stack.client();
    const stream = await client.chat.completions.create({
      ...agentCall('dying', 'streamer', 'tell me a long story'),
      stream: true,
      max_tokens: 64,
    });
    let text = '';
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          chunks++;
          text += chunk.choices[0]?.delta.content ?? '';
        }
      })(),
      (error: unknown) => {
        assert.ok(error instanceof APIError, String(error));
        return true;
      },
    );
    assert.ok(chunks >= 1 && text.length > 0, 'tokens flowed before the pod died');

    // The same through raw HTTP: an SSE error event, and no [DONE].
    const raw = await http('POST', `${stack.baseURL}/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'another long story' }],
      max_tokens: 64,
      stream: true,
    });
    assert.equal(raw.status, 200);
    assert.match(raw.text, /event: error\ndata: \{"error":/);
    assert.doesNotMatch(raw.text, /\[DONE\]/);

    for (const pod of stack.pods) pod.setFaults({});
    const st = await status(stack, 'dying');
    assert.equal(st.body.errors, 1);
    assert.equal(st.body.calls, 0);
    await waitFor(
      () => stack.router.core.pool.all().every((p) => p.healthy),
      'pods back after the next probe',
    );
    const ok = await chat(client, agentCall('dying', 'streamer', 'a short one now'));
    assert.ok(ok.completion.choices[0]?.message.content);
  } finally {
    await stack.close();
  }
});

test("a pod's own 500 reaches the client in OpenAI's shape, and the next call works", async () => {
  const stack = await startStack({ pods: 1 });
  try {
    const pod = stack.pods[0];
    assert.ok(pod);
    pod.setFaults({ failRate: 1 });
    const client = stack.client();
    await assert.rejects(chat(client, agentCall('failing', 'a', 'this fails')), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 500);
      return true;
    });
    pod.setFaults({});
    const ok = await chat(client, agentCall('failing', 'a', 'this works'));
    assert.ok(ok.completion.choices[0]?.message.content);
    const st = await status(stack, 'failing');
    assert.equal(st.body.errors, 1);
    assert.equal(st.body.calls, 1);
  } finally {
    await stack.close();
  }
});

test('a hung pod past --upstream-timeout answers 504 in OpenAI shape', async () => {
  const stack = await startStack({ pods: 1, router: { upstreamTimeoutMs: 500 } });
  try {
    const pod = stack.pods[0];
    assert.ok(pod);
    pod.setFaults({ hang: true });
    const res = await http('POST', `${stack.baseURL}/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'hang here' }],
      max_tokens: 4,
    });
    assert.equal(res.status, 504, res.text);
    pod.setFaults({});
    await waitFor(() => stack.router.core.pool.all().every((p) => p.healthy), 'pod healthy');
    const ok = await http('POST', `${stack.baseURL}/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'no hang' }],
      max_tokens: 4,
    });
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await stack.close();
  }
});
