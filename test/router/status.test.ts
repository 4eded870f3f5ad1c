// Workflow status and fleet statistics equal what was sent (calls per agent, prompt and cached
// tokens from the pods' usage, messages, migrations), and the workflow lifecycle: list, delete,
// --max-workflows eviction of the least recently active, --workflow-ttl expiry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestRecord } from '../../sim/stats.ts';
import {
  agentCall,
  chat,
  http,
  inferenceRecords,
  metric,
  scrapeRouter,
  startStack,
  status,
  waitFor,
  type StatusView,
} from '../helpers/router.ts';

const DOC = 'Shared brief: the team reviews the launch plan, the budget and the risks. '.repeat(6);

interface StatsView {
  workflows: { live: number; evicted: number; expired: number };
  calls: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cache_hit_rate: number;
  migrations: number;
  spills: number;
  messages: { sent: number; delivered: number; refused: number };
  pods: { id: string; healthy: boolean; pinned_workflows: number }[];
}

test('status and stats equal what was sent: calls per agent, tokens, hit rate, messages, migrations', async () => {
  const stack = await startStack({ pods: 2, router: { maxMessageQueueSize: 3 } });
  try {
    const client = stack.client();
    const wf = 'counted';
    const plan: Record<string, number> = { planner: 3, coder: 2, tester: 1 };
    const usage: Record<string, { calls: number; prompt: number; cached: number; completion: number }> = {};
    let pinned = '';
    for (const [agent, calls] of Object.entries(plan)) {
      for (let i = 0; i < calls; i++) {
        let u: { prompt_tokens: number; completion_tokens: number; cached: number };
        const params = agentCall(wf, agent, [
          { role: 'system', content: DOC },
          { role: 'user', content: `${agent} turn ${i}` },
        ]);
        if (i % 2 === 1) {
          // Every other call streams, with the usage chunk asked for.
          const stream = await client.chat.completions.create({
            ...params,
            stream: true,
            stream_options: { include_usage: true },
          });
          let last: typeof u | undefined;
          for await (const chunk of stream) {
            if (chunk.usage) {
              last = {
                prompt_tokens: chunk.usage.prompt_tokens,
                completion_tokens: chunk.usage.completion_tokens,
                cached: chunk.usage.prompt_tokens_details?.cached_tokens ?? 0,
              };
            }
          }
          assert.ok(last);
          u = last;
        } else {
          const { completion, pod } = await chat(client, params);
          pinned = pod;
          assert.ok(completion.usage);
          u = {
            prompt_tokens: completion.usage.prompt_tokens,
            completion_tokens: completion.usage.completion_tokens,
            cached: completion.usage.prompt_tokens_details?.cached_tokens ?? 0,
          };
        }
        const a = (usage[agent] ??= { calls: 0, prompt: 0, cached: 0, completion: 0 });
        a.calls++;
        a.prompt += u.prompt_tokens;
        a.cached += u.cached;
        a.completion += u.completion_tokens;
      }
    }

    // Messages: three sent, the fourth refused (inbox of 3), two of them read.
    const inbox = `${stack.router.url}/v1/workflows/${wf}/agents/coder/messages`;
    for (let i = 0; i < 4; i++) await http('POST', inbox, { from_agent: 'planner', payload: i });
    const read = await http<{ data: unknown[] }>('GET', `${inbox}?limit=2`);
    assert.equal(read.body.data.length, 2);

    // A migration: the pinned pod goes down, the next call moves the workflow.
    const victim = stack.pods[stack.podIndex(pinned)];
    assert.ok(victim);
    victim.setFaults({ unhealthy: true });
    await waitFor(() => stack.router.core.pool.get(pinned)?.healthy === false, 'pin marked down');
    const moved = await chat(
      client,
      agentCall(wf, 'tester', [
        { role: 'system', content: DOC },
        { role: 'user', content: 'tester after the move' },
      ]),
    );
    assert.notEqual(moved.pod, pinned);
    const t = usage.tester as { calls: number; prompt: number; cached: number; completion: number };
    t.calls++;
    t.prompt += moved.completion.usage?.prompt_tokens ?? 0;
    t.cached += moved.completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    t.completion += moved.completion.usage?.completion_tokens ?? 0;

    const st = (await status(stack, wf)).body;
    const sum = (f: 'calls' | 'prompt' | 'cached' | 'completion'): number =>
      Object.values(usage).reduce((s, a) => s + a[f], 0);
    assert.equal(st.calls, sum('calls'));
    assert.equal(st.calls, 7);
    assert.equal(st.errors, 0);
    assert.equal(st.prompt_tokens, sum('prompt'));
    assert.equal(st.cached_tokens, sum('cached'));
    assert.equal(st.completion_tokens, sum('completion'));
    assert.ok(st.cached_tokens > 0, 'the shared system prompt was cached');
    assert.equal(st.cache_hit_rate, Math.round((sum('cached') / sum('prompt')) * 10_000) / 10_000);
    for (const [agent, a] of Object.entries(usage)) {
      const s = st.agents[agent];
      assert.ok(s, agent);
      assert.equal(s.calls, a.calls, `${agent} calls`);
      assert.equal(s.prompt_tokens, a.prompt, `${agent} prompt tokens`);
      assert.equal(s.cached_tokens, a.cached, `${agent} cached tokens`);
      assert.equal(s.completion_tokens, a.completion);
      assert.equal(
        s.cache_hit_rate,
        a.prompt === 0 ? 0 : Math.round((a.cached / a.prompt) * 10_000) / 10_000,
      );
      assert.ok(s.last_seen_at && Date.parse(s.last_seen_at) <= Date.now());
    }
    assert.deepEqual(st.messages, { sent: 3, delivered: 2, refused: 1 });
    assert.equal(st.migrations, 1);
    assert.equal(st.pinned_pod, moved.pod);
    assert.equal(st.inflight, 0);
    assert.equal(st.phase, 'Active');

    // The pods' own records agree with the router.
    const recs: RequestRecord[] = inferenceRecords(stack.pods).map((r) => r.record);
    assert.equal(recs.length, 7);
    assert.equal(
      recs.reduce((s, r) => s + r.promptTokens, 0),
      st.prompt_tokens,
    );
    assert.equal(
      recs.reduce((s, r) => s + r.cachedTokens, 0),
      st.cached_tokens,
    );

    // Fleet stats: this was the only workflow, so the totals are the same numbers.
    const stats = (await http<StatsView>('GET', `${stack.router.url}/v1/workflows/stats`)).body;
    assert.deepEqual(stats.workflows, { live: 1, evicted: 0, expired: 0 });
    assert.equal(stats.calls, st.calls);
    assert.equal(stats.prompt_tokens, st.prompt_tokens);
    assert.equal(stats.cached_tokens, st.cached_tokens);
    assert.equal(stats.completion_tokens, st.completion_tokens);
    assert.equal(stats.cache_hit_rate, st.cache_hit_rate);
    assert.equal(stats.migrations, 1);
    assert.deepEqual(stats.messages, st.messages);
    assert.equal(stats.pods.length, 2);
    assert.equal(stats.pods.find((p) => p.id === moved.pod)?.pinned_workflows, 1);
    assert.equal(stats.pods.find((p) => p.id === pinned)?.healthy, false);

    const list = await http<{ data: StatusView[] }>('GET', `${stack.router.url}/v1/workflows`);
    assert.deepEqual(
      list.body.data.map((w) => w.workflow_id),
      [wf],
    );
    assert.equal(list.body.data[0]?.calls, 7);

    const del = await http('DELETE', `${stack.router.url}/v1/workflows/${wf}`);
    assert.equal(del.status, 200);
    assert.equal((await status(stack, wf)).status, 404);
    assert.deepEqual(
      (await http<{ data: unknown[] }>('GET', `${stack.router.url}/v1/workflows`)).body.data,
      [],
    );
  } finally {
    await stack.close();
  }
});

test('--max-workflows evicts the least recently active workflow, never one mid-call', async () => {
  const stack = await startStack({ pods: 1, router: { maxWorkflows: 3 } });
  try {
    const client = stack.client();
    for (const wf of ['ev-1', 'ev-2', 'ev-3']) await chat(client, agentCall(wf, 'a', `${wf} first`));
    await chat(client, agentCall('ev-1', 'a', 'ev-1 again')); // ev-2 is now the least recently active
    await chat(client, agentCall('ev-4', 'a', 'ev-4 first'));
    assert.equal((await status(stack, 'ev-2')).status, 404, 'the least recently active was evicted');
    for (const wf of ['ev-1', 'ev-3', 'ev-4']) assert.equal((await status(stack, wf)).status, 200, wf);
    let samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(samples, 'workflow_router_workflows_removed_total', { reason: 'evicted' }), 1);
    let stats = (await http<StatsView>('GET', `${stack.router.url}/v1/workflows/stats`)).body;
    assert.deepEqual(stats.workflows, { live: 3, evicted: 1, expired: 0 });

    // A workflow in the middle of a call is never the one evicted.
    const pod = stack.pods[0];
    assert.ok(pod);
    pod.setFaults({ hang: true });
    const busy = chat(client, agentCall('ev-3', 'a', 'ev-3 long call'));
    await waitFor(async () => (await status(stack, 'ev-3')).body.inflight === 1, 'ev-3 in flight');
    // ev-3 is the least recently active of those finished; touch the others.
    await http('POST', `${stack.router.url}/v1/workflows/ev-1/agents/x/messages`, {
      from_agent: 'y',
      payload: 1,
    });
    await http('POST', `${stack.router.url}/v1/workflows/ev-4/agents/x/messages`, {
      from_agent: 'y',
      payload: 1,
    });
    const newcomer = http('PUT', `${stack.router.url}/v1/workflows/ev-5`, { agents: [] });
    assert.equal((await newcomer).status, 201);
    assert.equal((await status(stack, 'ev-3')).status, 200, 'the busy workflow survives');
    assert.equal((await status(stack, 'ev-1')).status, 404, 'the least recently active idle one goes');
    pod.setFaults({});
    const done = await busy;
    assert.ok(done.completion.choices[0]?.message.content);
    assert.equal((await status(stack, 'ev-3')).body.calls, 2);
    samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(samples, 'workflow_router_workflows_removed_total', { reason: 'evicted' }), 2);
    stats = (await http<StatsView>('GET', `${stack.router.url}/v1/workflows/stats`)).body;
    assert.equal(stats.workflows.evicted, 2);
    assert.equal(stats.workflows.live, 3);
  } finally {
    await stack.close();
  }
});

test('--workflow-ttl expires an idle workflow', async () => {
  const stack = await startStack({ pods: 1, router: { workflowTtlSeconds: 1 } });
  try {
    const client = stack.client();
    await chat(client, agentCall('short-lived', 'a', 'hello'));
    const st = await status(stack, 'short-lived');
    assert.equal(st.status, 200);
    assert.equal(st.body.ttl_seconds, 1);
    const expiresAt = Date.parse(st.body.expires_at);
    await waitFor(
      async () => (await status(stack, 'short-lived')).status === 404,
      'the workflow expires',
      10_000,
    );
    assert.ok(Date.now() >= expiresAt, 'not before its expiry time');
    const samples = (await scrapeRouter(stack.router)).samples;
    assert.equal(metric(samples, 'workflow_router_workflows_removed_total', { reason: 'expired' }), 1);
    const stats = (await http<StatsView>('GET', `${stack.router.url}/v1/workflows/stats`)).body;
    assert.deepEqual(stats.workflows, { live: 0, evicted: 0, expired: 1 });
    // The id can be used again: a new workflow starts from zero.
    await chat(client, agentCall('short-lived', 'a', 'hello again'));
    assert.equal((await status(stack, 'short-lived')).body.calls, 1);
  } finally {
    await stack.close();
  }
});
