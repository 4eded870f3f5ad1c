// Agent messages (DESIGN section 7) through real HTTP: send, cursor reads, long-poll, SSE push,
// TTL expiry, overflow refused with 429 and nothing dropped, broadcast to every known agent,
// and 403 for an agent a declared workflow does not list.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import {
  agentCall,
  assertOpenAIError,
  chat,
  http,
  startStack,
  status,
  waitFor,
  type Stack,
} from '../helpers/router.ts';

interface MessageView {
  id: string;
  from_agent: string;
  to_agent: string;
  payload: unknown;
  created_at: string;
  expires_at: string;
}

interface ListView {
  object: 'list';
  data: MessageView[];
  next_cursor: string | null;
}

describe('agent messages', () => {
  let stack: Stack;
  let base: string;
  before(async () => {
    stack = await startStack({ pods: 1, router: { maxMessageQueueSize: 50 } });
    base = `${stack.router.url}/v1/workflows`;
  });
  after(() => stack.close());

  const send = (wf: string, to: string, body: Record<string, unknown>) =>
    http<{ id: string; to_agent: string }>('POST', `${base}/${wf}/agents/${to}/messages`, body);
  const read = (wf: string, agent: string, query = '') =>
    http<ListView>('GET', `${base}/${wf}/agents/${agent}/messages${query}`);

  test('send, then read by cursor in order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send('msg-1', 'coder', { from_agent: 'planner', payload: { step: i } });
      assert.equal(res.status, 201, res.text);
      assert.match(res.body.id, /^\d+-\d+$/);
      assert.equal(res.body.to_agent, 'coder');
      ids.push(res.body.id);
    }
    const all = await read('msg-1', 'coder');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.data.map((m) => m.payload),
      [0, 1, 2, 3, 4].map((step) => ({ step })),
    );
    assert.deepEqual(
      all.body.data.map((m) => m.id),
      ids,
    );
    assert.equal(all.body.data[0]?.from_agent, 'planner');
    assert.equal(all.body.next_cursor, ids[4]);

    const page1 = await read('msg-1', 'coder', '?limit=2');
    assert.deepEqual(
      page1.body.data.map((m) => m.id),
      ids.slice(0, 2),
    );
    const page2 = await read('msg-1', 'coder', `?after=${page1.body.next_cursor}&limit=2`);
    assert.deepEqual(
      page2.body.data.map((m) => m.id),
      ids.slice(2, 4),
    );
    const page3 = await read('msg-1', 'coder', `?after=${page2.body.next_cursor}&limit=2`);
    assert.deepEqual(
      page3.body.data.map((m) => m.id),
      ids.slice(4),
    );
    const empty = await read('msg-1', 'coder', `?after=${ids[4]}`);
    assert.deepEqual(empty.body.data, []);
    assert.equal(empty.body.next_cursor, ids[4], 'an empty read keeps the cursor');

    const st = await status(stack, 'msg-1');
    assert.equal(st.body.messages.sent, 5);
    assert.ok(st.body.messages.delivered >= 5);
    assert.equal(st.body.messages.refused, 0);
  });

  test('a long-poll wakes when a message arrives', async () => {
    const t0 = Date.now();
    const poll = read('msg-2', 'waiter', '?wait_ms=20000');
    await new Promise((r) => setTimeout(r, 150));
    const sent = await send('msg-2', 'waiter', { from_agent: 'sender', payload: 'wake up' });
    assert.equal(sent.status, 201);
    const res = await poll;
    const elapsed = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.data.map((m) => m.payload),
      ['wake up'],
    );
    assert.ok(elapsed < 10_000, `the long-poll returned after ${elapsed} ms, not on arrival`);
    // With nothing to wait for it answers empty once wait_ms passes.
    const idle = await read('msg-2', 'waiter', `?after=${res.body.next_cursor}&wait_ms=100`);
    assert.equal(idle.status, 200);
    assert.deepEqual(idle.body.data, []);
  });

  test('SSE push: each message an event with its id; Last-Event-ID resumes', async () => {
    const url = `${base}/msg-3/agents/listener/messages/stream`;
    const abort = new AbortController();
    const res = await fetch(url, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events: { id: string; event: string; data: MessageView }[] = [];
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const pump = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const raw = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = Object.fromEntries(
              raw
                .split('\n')
                .filter((l) => !l.startsWith(':'))
                .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
            ) as Record<string, string>;
            if (fields.data !== undefined) {
              events.push({
                id: fields.id ?? '',
                event: fields.event ?? 'message',
                data: JSON.parse(fields.data) as MessageView,
              });
            }
          }
        }
      } catch {
        // aborted at the end of the test
      }
    })();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await send('msg-3', 'listener', { from_agent: 'talker', payload: `push ${i}` });
      ids.push(sent.body.id);
    }
    await waitFor(() => events.length >= 3, 'three pushed events');
    abort.abort();
    await pump;
    assert.deepEqual(
      events.map((e) => e.id),
      ids,
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ['message', 'message', 'message'],
    );
    assert.deepEqual(
      events.map((e) => e.data.payload),
      ['push 0', 'push 1', 'push 2'],
    );

    // Reconnecting with Last-Event-ID replays only what came after.
    const resumed = new AbortController();
    const again = await fetch(url, {
      signal: resumed.signal,
      headers: { 'last-event-id': ids[0] as string },
    });
    const reader2 = (again.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!(text.includes(ids[2] as string) && text.split('event: message').length - 1 >= 2)) {
      const { value, done } = await reader2.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    resumed.abort();
    assert.ok(!text.includes(`id: ${ids[0]}\n`));
    assert.ok(text.includes(`id: ${ids[1]}\n`) && text.includes(`id: ${ids[2]}\n`));
  });

  test('expired messages are never returned', async () => {
    const short = await send('msg-4', 'slow', { from_agent: 'fast', payload: 'short-lived', ttl_seconds: 1 });
    const long = await send('msg-4', 'slow', { from_agent: 'fast', payload: 'long-lived' });
    assert.equal(short.status, 201);
    assert.equal(long.status, 201);
    const fresh = await read('msg-4', 'slow');
    assert.deepEqual(
      fresh.body.data.map((m) => m.payload),
      ['short-lived', 'long-lived'],
    );
    const expiresAt = Date.parse(fresh.body.data[0]?.expires_at ?? '');
    assert.ok(expiresAt - Date.parse(fresh.body.data[0]?.created_at ?? '') === 1000);
    await waitFor(
      async () => (await read('msg-4', 'slow')).body.data.length === 1,
      'the short-lived message expires',
      10_000,
    );
    assert.ok(Date.now() >= expiresAt);
    const left = await read('msg-4', 'slow');
    assert.deepEqual(
      left.body.data.map((m) => m.payload),
      ['long-lived'],
    );
    const longPoll = await read('msg-4', 'slow', `?after=${left.body.data[0]?.id}&wait_ms=50`);
    assert.deepEqual(longPoll.body.data, []);
  });

  test('a full inbox answers 429 with Retry-After; nothing is dropped', async () => {
    const wf = 'msg-5';
    const put = await http('PUT', `${base}/${wf}`, {
      max_message_queue_size: 3,
      agents: [{ name: 'busy' }, { name: 'boss' }],
    });
    assert.equal(put.status, 201, put.text);
    for (let i = 0; i < 3; i++) {
      const ok = await send(wf, 'busy', { from_agent: 'boss', payload: i });
      assert.equal(ok.status, 201);
    }
    const refused = await send(wf, 'busy', { from_agent: 'boss', payload: 3 });
    assertOpenAIError(refused, 429, 'inbox_full');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const inbox = await read(wf, 'busy');
    assert.deepEqual(
      inbox.body.data.map((m) => m.payload),
      [0, 1, 2],
      'the first three are all there, the refused one is not',
    );
    // Reading does not free room (messages leave by expiry): still refused, still nothing lost.
    assertOpenAIError(await send(wf, 'busy', { from_agent: 'boss', payload: 4 }), 429, 'inbox_full');
    const st = await status(stack, wf);
    assert.equal(st.body.messages.sent, 3);
    assert.equal(st.body.messages.refused, 2);
  });

  test('a batch is stored whole in order, or refused whole (429 naming the message) with nothing dropped', async () => {
    const wf = 'msg-batch';
    const put = await http('PUT', `${base}/${wf}`, { max_message_queue_size: 3 });
    assert.equal(put.status, 201, put.text);
    const batch = (messages: unknown[]) =>
      http<{ data: { id: string; to_agent: string }[] }>('POST', `${base}/${wf}/messages/batch`, {
        messages,
      });
    const item = (to: string, payload: unknown) => ({ to_agent: to, from_agent: 'boss', payload });
    const sent = await batch([item('a', 1), item('b', 2), item('a', 3)]);
    assert.equal(sent.status, 201, sent.text);
    assert.deepEqual(
      sent.body.data.map((m) => m.to_agent),
      ['a', 'b', 'a'],
    );
    assert.deepEqual(
      (await read(wf, 'a')).body.data.map((m) => [m.id, m.payload]),
      [
        [sent.body.data[0]?.id, 1],
        [sent.body.data[2]?.id, 3],
      ],
    );
    // a holds 2 of 3: the batch's second message to a (index 2) would overflow it.
    const refused = await batch([item('b', 4), item('a', 5), item('a', 6), item('b', 7)]);
    assert.equal(assertOpenAIError(refused, 429, 'inbox_full').param, 'messages.2');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.deepEqual(
      (await read(wf, 'b')).body.data.map((m) => m.payload),
      [2],
      'nothing of the refused batch stored',
    );
    assert.equal(assertOpenAIError(await batch([]), 400).param, 'messages');
    assertOpenAIError(
      await http('POST', `${base}/msg-batch-none/messages/batch`, { messages: [item('a', 1)] }),
      404,
    );
    const st = await status(stack, wf);
    assert.deepEqual([st.body.messages.sent, st.body.messages.refused], [3, 4]);
  });

  test('a workflow broadcast reaches every known agent except the sender', async () => {
    const wf = 'msg-6';
    // Agents become known by a declaration, by making calls, or by having an inbox.
    await http('PUT', `${base}/${wf}`, { agents: [{ name: 'lead' }, { name: 'dev' }, { name: 'qa' }] });
    const client = stack.client();
    await chat(client, agentCall(wf, 'dev', 'dev: hello'));
    const res = await http<{ ids: Record<string, string>; refused: string[] }>(
      'POST',
      `${base}/${wf}/messages`,
      {
        from_agent: 'lead',
        payload: { announce: 'release at noon' },
      },
    );
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body.ids).sort(), ['dev', 'qa']);
    assert.deepEqual(res.body.refused, []);
    for (const agent of ['dev', 'qa']) {
      const inbox = await read(wf, agent);
      assert.deepEqual(
        inbox.body.data.map((m) => [m.id, m.from_agent, m.payload]),
        [[res.body.ids[agent], 'lead', { announce: 'release at noon' }]],
      );
    }
    assert.deepEqual((await read(wf, 'lead')).body.data, [], 'the sender gets no copy');

    // An undeclared workflow: every agent seen so far (calls or inboxes) receives it.
    const open = 'msg-6b';
    await chat(client, agentCall(open, 'one', 'one: hi'));
    await chat(client, agentCall(open, 'two', 'two: hi'));
    await send(open, 'three', { from_agent: 'one', payload: 'direct' });
    const bc = await http<{ ids: Record<string, string> }>('POST', `${base}/${open}/messages`, {
      from_agent: 'one',
      payload: 'to all',
    });
    assert.equal(bc.status, 201);
    assert.deepEqual(Object.keys(bc.body.ids).sort(), ['three', 'two']);
    const st = await status(stack, open);
    assert.equal(st.body.messages.sent, 3);
  });

  test('403 for an agent a declared workflow does not list (snake_case declaration)', async () => {
    const wf = 'msg-7';
    const put = await http<{ declared: boolean; strategy: string; priority: number; ttl_seconds: number }>(
      'PUT',
      `${base}/${wf}`,
      {
        agents: [
          { name: 'planner', context_from: [] },
          { name: 'coder', context_from: ['planner'] },
        ],
        context_sharing: 'selective',
        ttl_seconds: 600,
        priority: 60,
        max_message_queue_size: 10,
      },
    );
    assert.equal(put.status, 201, put.text);
    assert.equal(put.body.declared, true);
    assert.equal(put.body.strategy, 'selective');
    assert.equal(put.body.priority, 60);
    assert.equal(put.body.ttl_seconds, 600);

    assert.equal((await send(wf, 'coder', { from_agent: 'planner', payload: 'go' })).status, 201);
    assertOpenAIError(
      await send(wf, 'intruder', { from_agent: 'planner', payload: 'psst' }),
      403,
      'agent_not_declared',
    );
    assertOpenAIError(await read(wf, 'intruder'), 403, 'agent_not_declared');
    const client = stack.client();
    await assert.rejects(chat(client, agentCall(wf, 'intruder', 'let me in')), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 403);
      return true;
    });
    // The declared agents still work, and a camelCase declaration updates it (200, not 201).
    assert.ok((await chat(client, agentCall(wf, 'planner', 'planner: plan'))).completion.id);
    const update = await http('PUT', `${base}/${wf}`, {
      agents: [{ name: 'planner' }, { name: 'coder', contextFrom: ['planner'] }, { name: 'intruder' }],
      contextSharing: 'selective',
      ttlSeconds: 600,
      maxMessageQueueSize: 10,
    });
    assert.equal(update.status, 200, update.text);
    assert.equal((await send(wf, 'intruder', { from_agent: 'planner', payload: 'now welcome' })).status, 201);
  });

  test('bad message requests are 400 in OpenAI shape', async () => {
    assertOpenAIError(await send('msg-8', 'a', { payload: 'no sender' }), 400);
    assertOpenAIError(await send('msg-8', 'a', { from_agent: 'b' }), 400);
    assertOpenAIError(await send('msg-8', 'a', { from_agent: 'b', payload: 1, ttl_seconds: 0 }), 400);
    assertOpenAIError(await send('msg-8', 'a', { from_agent: 'b', payload: 1, extra: true }), 400);
    assertOpenAIError(await send('msg-8', 'a', { from_agent: 'b/c', payload: 1 }), 400);
    assertOpenAIError(await read('msg-8', 'a', '?after=not-an-id'), 400);
    assertOpenAIError(await read('msg-8', 'a', '?wait_ms=-1'), 400);
    assert.equal((await send('msg-8', 'a', { from_agent: 'b', payload: null })).status, 201);
  });
});

test('a message payload over --max-message-bytes is 413', async () => {
  const stack = await startStack({ pods: 1, router: { maxMessageBytes: 100 } });
  try {
    const url = `${stack.router.url}/v1/workflows/big/agents/a/messages`;
    assertOpenAIError(await http('POST', url, { from_agent: 'b', payload: 'x'.repeat(200) }), 413);
    assert.equal((await http('POST', url, { from_agent: 'b', payload: 'small' })).status, 201);
  } finally {
    await stack.close();
  }
});
