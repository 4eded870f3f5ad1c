// Context sharing as the pod sees it: under broadcast the second agent's upstream prompt holds
// the first agent's output in one system message right before its own last message (a leading
// system message for a one-message call) and the pod serves that prefix from its KV cache;
// selective shares only from context_from; auto and none leave prompts alone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { renderChat } from '../../sim/chat-template.ts';
import { countTokens } from '../../sim/tokenizer.ts';
import type { RequestRecord } from '../../sim/stats.ts';
import {
  agentCall,
  chat,
  http,
  inferenceRecords,
  MODEL,
  startStack,
  status,
  type Stack,
} from '../helpers/router.ts';

const SYSTEM = 'You are one agent of a research team. Answer briefly and cite the document.';
const DOCUMENT = `Document: ${'the quarterly report covers revenue growth margins and regional sales '.repeat(12)}`;

function messages(task: string): OpenAI.Chat.ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: DOCUMENT },
    { role: 'user', content: task },
  ];
}

/** The one record of the call whose prompt ends with `task`. */
function recordOf(stack: Stack, task: string): RequestRecord {
  const found = inferenceRecords(stack.pods).filter((r) =>
    r.record.promptText.endsWith(`${task}<|end|>\n<|assistant|>\n`),
  );
  assert.equal(found.length, 1, `records for "${task}": ${found.length}`);
  return (found[0] as { record: RequestRecord }).record;
}

/** The system message holding shared context that the router put in a prompt, if any. */
function sharedBlock(promptText: string): string | undefined {
  const m = /<\|system\|>\n(\[shared by agent [\s\S]*?)<\|end\|>\n/.exec(promptText);
  return m?.[1];
}

describe('broadcast', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ pods: 3 });
  });
  after(() => stack.close());

  test("the second agent's prompt holds the first agent's output right before its last message, cached", async () => {
    const client = stack.client();
    const wf = 'bc-1';
    const meta = { context_sharing: 'broadcast' };
    const a = await chat(
      client,
      agentCall(wf, 'analyst', messages('analyst: find the key numbers'), meta, { max_tokens: 24 }),
    );
    const outputA = a.completion.choices[0]?.message.content ?? '';
    assert.ok(outputA.length > 0);

    const taskB = 'reviewer: check the analysis';
    const b = await chat(client, agentCall(wf, 'reviewer', messages(taskB), meta, { max_tokens: 24 }));
    assert.equal(b.pod, a.pod);
    const outputB = b.completion.choices[0]?.message.content ?? '';
    const recB = recordOf(stack, taskB);
    const before = renderChat(
      [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: DOCUMENT },
      ],
      false,
    );
    assert.ok(recB.promptText.startsWith(before), 'the agents common prefix stays in front');
    const rest = recB.promptText.slice(before.length);
    assert.match(rest, /^<\|system\|>\n\[shared by agent analyst\]\n/);
    const ctxEnd = rest.indexOf('<|end|>\n<|user|>\n');
    assert.ok(ctxEnd > 0);
    assert.ok(rest.slice(0, ctxEnd).includes(outputA), "the analyst's output is in the shared context");
    assert.equal(rest.slice(ctxEnd), `<|end|>\n${renderChat([{ role: 'user', content: taskB }])}`);
    assert.equal(sharedBlock(recB.promptText)?.includes(outputA), true);
    // The instructions and the document were computed by the analyst's call on the same pod.
    assert.ok(recB.cachedTokens >= countTokens(before) - 16, `cached ${recB.cachedTokens}`);

    // A third agent: the shared context (analyst, then reviewer) now extends the same prefix, and
    // the part the reviewer's call already computed comes from the cache.
    const taskC = 'writer: draft the summary';
    await chat(client, agentCall(wf, 'writer', messages(taskC), meta));
    const recC = recordOf(stack, taskC);
    const ctxC = sharedBlock(recC.promptText) ?? '';
    assert.ok(ctxC.indexOf(outputA) >= 0 && ctxC.indexOf(outputB) > ctxC.indexOf(outputA), 'append order');
    const intoContext = before.length + `<|system|>\n[shared by agent analyst]\n${outputA}`.length;
    assert.ok(
      recC.cachedTokens > countTokens(recC.promptText.slice(0, intoContext)) - 16,
      `the shared context itself was served from the cache: cached ${recC.cachedTokens} of ${recC.promptTokens}`,
    );

    const st = await status(stack, wf);
    assert.equal(st.body.shared_context.entries, 3);
    assert.ok(st.body.shared_context.tokens > 0);
    assert.ok(st.body.cached_tokens >= recB.cachedTokens + recC.cachedTokens);
  });

  test('a one-message call gets the shared context as a leading system message', async () => {
    const client = stack.client();
    const wf = 'bc-2';
    const meta = { context_sharing: 'broadcast' };
    const a = await chat(
      client,
      agentCall(wf, 'first', 'first: name three colours', meta, { max_tokens: 16 }),
    );
    const outputA = a.completion.choices[0]?.message.content ?? '';
    const task = 'second: pick one of them';
    await chat(client, agentCall(wf, 'second', task, meta));
    const rec = recordOf(stack, task);
    assert.ok(
      rec.promptText.startsWith('<|system|>\n[shared by agent first]\n'),
      rec.promptText.slice(0, 80),
    );
    assert.ok((sharedBlock(rec.promptText) ?? '').includes(outputA));
    assert.ok(rec.promptText.endsWith(renderChat([{ role: 'user', content: task }]).slice(0)));
    assert.equal(rec.promptText.match(/<\|system\|>/g)?.length, 1, 'exactly one system message added');
  });

  test('a streamed output is shared too, and the first call of a workflow is left alone', async () => {
    const client = stack.client();
    const wf = 'bc-3';
    const meta = { context_sharing: 'broadcast' };
    const first = 'streamer: list the risks';
    const stream = await client.chat.completions.create({
      ...agentCall(wf, 'streamer', messages(first), meta, { max_tokens: 16 }),
      stream: true,
    });
    let output = '';
    for await (const chunk of stream) output += chunk.choices[0]?.delta.content ?? '';
    assert.ok(output.length > 0);
    assert.equal(
      recordOf(stack, first).promptText,
      renderChat(messages(first) as { role: string; content: string }[]),
    );
    const next = 'checker: verify the risks';
    await chat(client, agentCall(wf, 'checker', messages(next), meta));
    assert.ok((sharedBlock(recordOf(stack, next).promptText) ?? '').includes(output));
  });

  test('completions: the shared context is a prompt prefix', async () => {
    const wf = 'bc-4';
    const first = await http<{ choices: { text: string }[] }>('POST', `${stack.baseURL}/completions`, {
      model: MODEL,
      prompt: 'completion agent one: say something',
      max_tokens: 12,
      workflow_metadata: { workflow_id: wf, agent_id: 'one', context_sharing: 'broadcast' },
    });
    assert.equal(first.status, 200, first.text);
    const output = first.body.choices[0]?.text ?? '';
    const prompt = 'completion agent two: answer it';
    const second = await http('POST', `${stack.baseURL}/completions`, {
      model: MODEL,
      prompt,
      max_tokens: 4,
      workflow_metadata: { workflow_id: wf, agent_id: 'two', context_sharing: 'broadcast' },
    });
    assert.equal(second.status, 200, second.text);
    const rec = inferenceRecords(stack.pods).find((r) => r.record.promptText.endsWith(prompt))?.record;
    assert.ok(rec);
    assert.ok(rec.promptText.startsWith('[shared by agent one]\n'));
    assert.ok(rec.promptText.includes(output));
    assert.ok(!rec.bodyKeys.includes('workflow_metadata'));
  });
});

describe('selective', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ pods: 2 });
  });
  after(() => stack.close());

  test('an agent receives only the outputs of the agents in its context_from', async () => {
    const client = stack.client();
    const wf = 'sel-1';
    const meta = { context_sharing: 'selective' };
    const a = await chat(client, agentCall(wf, 'alpha', 'alpha: propose a plan', meta, { max_tokens: 16 }));
    const b = await chat(
      client,
      agentCall(wf, 'beta', 'beta: propose another plan', meta, { max_tokens: 16 }),
    );
    const outA = a.completion.choices[0]?.message.content ?? '';
    const outB = b.completion.choices[0]?.message.content ?? '';
    assert.notEqual(outA, outB);
    const task = 'gamma: judge the plans';
    await chat(client, agentCall(wf, 'gamma', task, { ...meta, context_from: ['alpha'] }));
    const ctx = sharedBlock(recordOf(stack, task).promptText) ?? '';
    assert.ok(ctx.includes('[shared by agent alpha]') && ctx.includes(outA), 'gets alpha');
    assert.ok(!ctx.includes('[shared by agent beta]') && !ctx.includes(outB), 'not beta');

    // Without context_from, a selective agent receives nothing.
    const alone = 'delta: work alone';
    await chat(client, agentCall(wf, 'delta', alone, meta));
    assert.equal(sharedBlock(recordOf(stack, alone).promptText), undefined);
  });

  test('context_from from the declaration (PUT /v1/workflows/{id}) applies when the call has none', async () => {
    const wf = 'sel-2';
    const put = await http('PUT', `${stack.router.url}/v1/workflows/${wf}`, {
      context_sharing: 'selective',
      agents: [
        { name: 'writer', context_from: [] },
        { name: 'critic', context_from: [] },
        { name: 'editor', context_from: ['critic'] },
      ],
    });
    assert.equal(put.status, 201, put.text);
    const client = stack.client();
    const w = await chat(
      client,
      agentCall(wf, 'writer', 'writer: write a paragraph', {}, { max_tokens: 16 }),
    );
    const c = await chat(client, agentCall(wf, 'critic', 'critic: criticise it', {}, { max_tokens: 16 }));
    const task = 'editor: apply the critique';
    await chat(client, agentCall(wf, 'editor', task));
    const ctx = sharedBlock(recordOf(stack, task).promptText) ?? '';
    assert.ok(ctx.includes(c.completion.choices[0]?.message.content ?? '<none>'));
    assert.ok(!ctx.includes('[shared by agent writer]'));
    assert.ok(!ctx.includes(w.completion.choices[0]?.message.content ?? '<none>'));
  });
});

test('auto and none forward the prompt unchanged', async () => {
  const stack = await startStack({ pods: 2 });
  try {
    const client = stack.client();
    for (const strategy of ['auto', 'none']) {
      const wf = `plain-${strategy}`;
      await chat(client, agentCall(wf, 'a', messages(`${strategy} a: first`), { context_sharing: strategy }));
      const task = `${strategy} b: second`;
      await chat(client, agentCall(wf, 'b', messages(task), { context_sharing: strategy }));
      const rec = recordOf(stack, task);
      assert.equal(rec.promptText, renderChat(messages(task) as { role: string; content: string }[]));
      const st = await status(stack, wf);
      assert.equal(st.body.shared_context.entries, 0);
    }
  } finally {
    await stack.close();
  }
});

test('--context-budget-tokens caps the shared context and the status says so', async () => {
  const stack = await startStack({ pods: 1, router: { contextBudgetTokens: 20 } });
  try {
    const client = stack.client();
    const wf = 'budget';
    const meta = { context_sharing: 'broadcast' };
    for (let i = 0; i < 4; i++) {
      await chat(client, agentCall(wf, `agent-${i}`, `agent ${i}: talk at length`, meta, { max_tokens: 24 }));
    }
    const st = await status(stack, wf);
    assert.equal(st.body.shared_context.budget_tokens, 20);
    assert.equal(st.body.shared_context.budget_reached, true);
    assert.ok(st.body.shared_context.tokens <= 20, `context ${st.body.shared_context.tokens} tokens`);
    assert.ok(st.body.shared_context.entries < 4);
  } finally {
    await stack.close();
  }
});
