// Routing through real HTTP, real simulated pods and the official OpenAI client: the seed's
// request shape and the header form, pinning under every pinning strategy with balance
// across pods, spreading under `none`, and rotation under `roundrobin`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentCall,
  chat,
  inferenceRecords,
  MODEL,
  startStack,
  status,
  type ChatParams,
  type Stack,
} from '../helpers/router.ts';

describe('the seed request shape and the header form', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ pods: 2 });
  });
  after(() => stack.close());

  test('workflow_metadata in the body, verbatim, with context_sharing_strategy', async () => {
    const client = stack.client();
    // Exactly what the seed's clients send: an extra body field the OpenAI types do not know.
    const params = {
      model: MODEL,
      messages: [{ role: 'user', content: 'seed shape: summarise the report' }],
      max_tokens: 8,
      workflow_metadata: {
        workflow_id: 'seed-wf-1',
        agent_id: 'planner',
        workflow_priority: 70,
        context_sharing_strategy: 'auto',
      },
    } as ChatParams;
    const first = await chat(client, params);
    assert.equal(first.completion.object, 'chat.completion');
    assert.ok(first.completion.choices[0]?.message.content);
    assert.match(first.pod, /^pod-\d$/);
    assert.equal(first.headers.get('x-workflow-router-placement'), 'new');
    assert.ok(first.headers.get('x-request-id'));

    const second = await chat(
      client,
      agentCall('seed-wf-1', 'writer', 'seed shape: write it up', {
        workflow_priority: 70,
        context_sharing: 'auto',
      }),
    );
    assert.equal(second.pod, first.pod, 'a workflow stays on its pod');
    assert.equal(second.headers.get('x-workflow-router-placement'), 'pinned');

    const st = await status(stack, 'seed-wf-1');
    assert.equal(st.status, 200);
    assert.equal(st.body.strategy, 'auto');
    assert.equal(st.body.priority, 70);
    assert.equal(st.body.pinned_pod, first.pod);
    assert.equal(st.body.calls, 2);
    assert.deepEqual(Object.keys(st.body.agents).sort(), ['planner', 'writer']);

    const seen = inferenceRecords(stack.pods).filter((r) => r.record.promptText.includes('seed shape'));
    assert.equal(seen.length, 2);
    for (const { record } of seen) {
      assert.ok(!record.bodyKeys.includes('workflow_metadata'), `pod saw ${record.bodyKeys.join(',')}`);
      assert.ok(record.bodyKeys.includes('messages'));
    }
  });

  test('the header form through the client defaultHeaders', async () => {
    const client = stack.client({
      headers: {
        'X-Workflow-Id': 'hdr-wf-1',
        'X-Agent-Id': 'researcher',
        'X-Workflow-Priority': '85',
        'X-Context-Sharing': 'broadcast',
      },
    });
    const pods = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { pod } = await chat(client, {
        model: MODEL,
        messages: [{ role: 'user', content: `header form call ${i}` }],
        max_tokens: 8,
      });
      pods.add(pod);
    }
    assert.equal(pods.size, 1, 'header-identified workflow pinned to one pod');
    const st = await status(stack, 'hdr-wf-1');
    assert.equal(st.status, 200);
    assert.equal(st.body.strategy, 'broadcast');
    assert.equal(st.body.priority, 85);
    assert.equal(st.body.calls, 3);
    assert.equal(st.body.agents.researcher?.calls, 3);
    assert.equal(st.body.pinned_pod, [...pods][0]);
    const seen = inferenceRecords(stack.pods).filter((r) => r.record.promptText.includes('header form call'));
    assert.equal(seen.length, 3);
    for (const { record } of seen) assert.ok(!record.bodyKeys.includes('workflow_metadata'));
  });

  test('body wins over headers field by field', async () => {
    const client = stack.client({
      headers: { 'X-Workflow-Id': 'hdr-wf-2', 'X-Agent-Id': 'from-header', 'X-Workflow-Priority': '10' },
    });
    await chat(client, {
      model: MODEL,
      messages: [{ role: 'user', content: 'mixed form' }],
      max_tokens: 4,
      workflow_metadata: { workflow_id: 'hdr-wf-2', agent_id: 'from-body' },
    });
    const st = await status(stack, 'hdr-wf-2');
    assert.equal(st.body.priority, 10);
    assert.deepEqual(Object.keys(st.body.agents), ['from-body']);
  });
});

const WORKFLOWS = 40;
const AGENTS = ['a1', 'a2', 'a3', 'a4'];

/** 40 workflows at once, each running its 4 agents one after another (twice round). */
async function runWorkload(stack: Stack, strategy: string, tag: string): Promise<Map<string, string[]>> {
  const client = stack.client();
  const podsByWorkflow = new Map<string, string[]>();
  await Promise.all(
    Array.from({ length: WORKFLOWS }, async (_, w) => {
      const wf = `${tag}-wf-${w}`;
      const seen: string[] = [];
      podsByWorkflow.set(wf, seen);
      for (let round = 0; round < 2; round++) {
        for (const agent of AGENTS) {
          const content = `${agent} of ${wf} round ${round}: ${'work item '.repeat(8)}`;
          const { pod } = await chat(
            client,
            agentCall(wf, agent, [{ role: 'user', content }], { context_sharing: strategy }),
          );
          seen.push(pod);
        }
      }
    }),
  );
  return podsByWorkflow;
}

/** The pods that really served each workflow, from the simulators' own records. */
function podsFromSim(stack: Stack, tag: string): Map<string, Set<number>> {
  const byWorkflow = new Map<string, Set<number>>();
  for (const { pod, record } of inferenceRecords(stack.pods)) {
    const m = new RegExp(`(${tag}-wf-\\d+) round`).exec(record.promptText);
    if (!m?.[1]) continue;
    const set = byWorkflow.get(m[1]) ?? new Set<number>();
    set.add(pod);
    byWorkflow.set(m[1], set);
  }
  return byWorkflow;
}

for (const strategy of ['auto', 'broadcast', 'selective']) {
  test(`4 pods, 40 concurrent workflows of 4 agents under ${strategy}: one pod per workflow, balanced`, async () => {
    const stack = await startStack({ pods: 4 });
    try {
      const tag = `pin-${strategy}`;
      const byWorkflow = await runWorkload(stack, strategy, tag);
      const perPod = [0, 0, 0, 0];
      for (const [wf, pods] of byWorkflow) {
        assert.equal(pods.length, AGENTS.length * 2);
        assert.equal(new Set(pods).size, 1, `${wf} reached ${[...new Set(pods)].join(', ')}`);
        const index = stack.podIndex(pods[0]);
        perPod[index] = (perPod[index] ?? 0) + 1;
      }
      const fromSim = podsFromSim(stack, tag);
      assert.equal(fromSim.size, WORKFLOWS);
      for (const [wf, pods] of fromSim) {
        assert.equal(pods.size, 1, `${wf}: the simulators saw it on pods ${[...pods].join(', ')}`);
        assert.equal(stack.podIndex(byWorkflow.get(wf)?.[0]), [...pods][0]);
      }
      const mean = WORKFLOWS / 4;
      assert.ok(
        Math.max(...perPod) <= 1.5 * mean,
        `workflows per pod ${perPod.join(', ')}: more than 1.5x the mean ${mean}`,
      );
      for (const wf of ['0', '17', '39'].map((n) => `${tag}-wf-${n}`)) {
        const st = await status(stack, wf);
        assert.equal(st.body.pinned_pod, byWorkflow.get(wf)?.[0]);
        assert.equal(st.body.strategy, strategy);
        assert.equal(st.body.calls, AGENTS.length * 2);
      }
    } finally {
      await stack.close();
    }
  });
}

test('under none a workflow is not pinned and its calls spread over the pods', async () => {
  const stack = await startStack({ pods: 4 });
  try {
    const byWorkflow = await runWorkload(stack, 'none', 'spread');
    const spread = [...byWorkflow.values()].filter((pods) => new Set(pods).size > 1).length;
    assert.ok(spread >= WORKFLOWS / 2, `only ${spread} of ${WORKFLOWS} workflows touched more than one pod`);
    const allPods = new Set([...byWorkflow.values()].flat());
    assert.equal(allPods.size, 4);
    const fromSim = podsFromSim(stack, 'spread');
    assert.ok([...fromSim.values()].filter((s) => s.size > 1).length >= WORKFLOWS / 2);
    const st = await status(stack, 'spread-wf-3');
    assert.equal(st.status, 200, 'a none workflow is still tracked');
    assert.equal(st.body.pinned_pod, null);
    assert.equal(st.body.strategy, 'none');
    assert.equal(st.body.calls, AGENTS.length * 2);
  } finally {
    await stack.close();
  }
});

test('roundrobin rotates over the pods, workflow or not', async () => {
  const stack = await startStack({ pods: 4, router: { routingLogic: 'roundrobin' } });
  try {
    const client = stack.client();
    const sequence: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { pod } = await chat(client, agentCall('rr-wf', `agent-${i % 2}`, `roundrobin call ${i}`));
      sequence.push(stack.podIndex(pod));
    }
    for (let i = 0; i < 12; i++) {
      if (i >= 4) assert.equal(sequence[i], sequence[i - 4], `sequence ${sequence.join(',')}`);
      if (i < 4)
        assert.equal(new Set(sequence.slice(0, i + 1)).size, i + 1, `sequence ${sequence.join(',')}`);
    }
    for (const pod of stack.pods) {
      assert.equal(pod.stats().requests.filter((r) => r.promptText.includes('roundrobin call')).length, 3);
    }
  } finally {
    await stack.close();
  }
});
