// The LangGraph example (examples/langgraph/supervisor.ts) in CI against simulated pods: a
// supervisor and three workers on one shared document, every agent's calls tagged with its
// agent id, results handed over through the router's message API. Every call of every agent
// must reach the workflow's pinned pod, and later calls must reuse the cached document.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENTS, WORKERS, runSupervisorWorkflow } from '../../examples/langgraph/supervisor.ts';
import { MODEL, startStack, type Stack } from '../helpers/router.ts';

describe('LangGraph supervisor example', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ pods: 3 });
  });
  after(() => stack.close());

  test('every agent calls through the router and lands on the workflow pod; results travel as messages', async () => {
    const result = await runSupervisorWorkflow({
      routerUrl: stack.router.url,
      model: MODEL,
      workflowId: 'langgraph-ci',
    });
    const { status } = result;
    assert.deepEqual(Object.keys(status.agents).sort(), [...AGENTS].sort());
    for (const agent of AGENTS) assert.ok(status.agents[agent]!.calls >= 1, `${agent} made no call`);
    // The supervisor runs once per worker and once more to finish.
    assert.equal(status.agents.supervisor!.calls, WORKERS.length + 1);
    assert.equal(status.calls, 2 * WORKERS.length + 1);
    assert.equal(status.errors, 0);
    assert.equal(status.declared, true);

    // Every call of the workflow reached its pinned pod, none another pod.
    const pinned = stack.podIndex(status.pinned_pod);
    const perPod = stack.pods.map((p) => p.stats().requests.filter((r) => r.status === 200).length);
    assert.equal(perPod[pinned], status.calls, `calls per pod ${JSON.stringify(perPod)}`);
    assert.equal(
      perPod.reduce((a, b) => a + b, 0),
      status.calls,
    );
    assert.equal(status.spills, 0);
    assert.equal(status.migrations, 0);

    // Each worker got a task and sent a section back: 3 tasks + 3 results, all read.
    assert.deepEqual(status.messages, {
      sent: 2 * WORKERS.length,
      delivered: 2 * WORKERS.length,
      refused: 0,
    });
    assert.deepEqual(Object.keys(result.sections).sort(), [...WORKERS].sort());
    for (const worker of WORKERS) assert.ok((result.sections[worker] ?? '').length > 0);

    // The shared document is a cached prefix for every call after the first.
    for (const worker of WORKERS) assert.ok(status.agents[worker]!.cache_hit_rate > 0.5, worker);
    assert.ok(status.cache_hit_rate > 0.5, `hit rate ${status.cache_hit_rate}`);
  });
});
