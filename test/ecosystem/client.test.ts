// The typed client (`workflow-router/client`) against a real router and simulated pods:
// metadata on an openai client, on one call, in the body; declarations, status, stats; agent
// messages by cursor, long poll, broadcast, errors; the SSE iterator, including reconnecting
// through a connection that is cut mid-stream; and the SSE parser on awkward chunking.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import {
  SseParser,
  WorkflowRouterClient,
  WorkflowRouterError,
  withWorkflow,
  withWorkflowMetadata,
  workflowHeaders,
  workflowMetadataBody,
  type AgentMessage,
} from 'workflow-router/client';
import { readWorkflowMetadata } from '../../core/metadata.ts';
import { MODEL, startStack, type Stack } from '../helpers/router.ts';

const KEY = 'client-test-key-0001';

describe('workflow metadata helpers', () => {
  test('the body form and the headers read back as the same metadata', () => {
    const meta = {
      workflowId: 'fin-1',
      agentId: 'analyst',
      priority: 70,
      contextSharing: 'selective' as const,
      contextFrom: ['researcher', 'critic'],
    };
    const fromBody = readWorkflowMetadata({ workflow_metadata: workflowMetadataBody(meta) }, {});
    const fromHeaders = readWorkflowMetadata({}, workflowHeaders(meta));
    assert.ok(fromBody.ok && fromHeaders.ok);
    assert.deepEqual(fromBody.metadata, fromHeaders.metadata);
    assert.deepEqual(fromBody.metadata, {
      workflowId: 'fin-1',
      agentId: 'analyst',
      priority: 70,
      strategy: 'selective',
      contextFrom: ['researcher', 'critic'],
      parentRequestId: undefined,
    });
    const body = withWorkflowMetadata({ model: MODEL, messages: [] }, { workflowId: 'w' });
    assert.deepEqual(body.workflow_metadata, { workflow_id: 'w' });
  });

  test('bad ids and priorities fail before any request', () => {
    assert.throws(() => workflowHeaders({ workflowId: 'has space' }), TypeError);
    assert.throws(() => workflowMetadataBody({ workflowId: 'ok', agentId: '-bad' }), TypeError);
    assert.throws(() => workflowHeaders({ workflowId: 'ok', priority: 101 }), RangeError);
  });
});

describe('withWorkflow on the openai client', () => {
  test('adds the workflow headers, keeps the default headers, lets a call override, leaves the original alone', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const server = createHttpServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: 'x',
            object: 'chat.completion',
            created: 0,
            model: MODEL,
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const original = new OpenAI({
        baseURL: `http://127.0.0.1:${port}/v1`,
        apiKey: 'k',
        maxRetries: 0,
        defaultHeaders: { 'x-team': 'blue' },
      });
      const tagged = withWorkflow(original, { workflowId: 'wf', agentId: 'analyst', priority: 5 });
      const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'hi' }] };
      await tagged.chat.completions.create(ask);
      await tagged.chat.completions.create(ask, { headers: { 'x-agent-id': 'critic' } });
      await original.chat.completions.create(ask);
      const [first, second, third] = seen;
      assert.equal(first?.['x-workflow-id'], 'wf');
      assert.equal(first?.['x-agent-id'], 'analyst');
      assert.equal(first?.['x-workflow-priority'], '5');
      assert.equal(first?.['x-team'], 'blue');
      assert.equal(first?.authorization, 'Bearer k');
      assert.equal(second?.['x-agent-id'], 'critic');
      assert.equal(second?.['x-workflow-id'], 'wf');
      assert.equal(third?.['x-workflow-id'], undefined);
      assert.equal(third?.['x-team'], 'blue');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('SSE parser', () => {
  test('events split anywhere, CRLF across chunks, comments, multi-line data, ids that persist', () => {
    const stream =
      'retry: 1500\r\n: comment\r\n\r\nid: 1-0\r\nevent: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: plain\r\n\r\n';
    for (const size of [1, 2, 3, 7, stream.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
      assert.deepEqual(
        events,
        [
          { event: 'message', data: '{"a":\n1}', lastEventId: '1-0' },
          { event: 'message', data: 'plain', lastEventId: '1-0' },
        ],
        `chunk size ${size}`,
      );
      assert.equal(parser.reconnectMs, 1500);
    }
  });
});

/** A TCP relay in front of the router whose connections the test can cut. */
async function startCutter(target: number): Promise<{
  port: number;
  cutAll: () => void;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((client) => {
    count += 1;
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutAll: () => {
      for (const s of sockets) s.destroy();
    },
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('message stream protocol', () => {
  test('a replica that shuts down is followed with Last-Event-ID; a deleted workflow ends the stream', async () => {
    const lastIds: (string | undefined)[] = [];
    const message = (id: string, payload: unknown): string =>
      `id: ${id}\nevent: message\ndata: ${JSON.stringify({
        id,
        from_agent: 'a',
        to_agent: 'b',
        payload,
        created_at: '2026-01-01T00:00:00.000Z',
        expires_at: '2026-01-01T01:00:00.000Z',
      })}\n\n`;
    const server = createHttpServer((req, res) => {
      const lastId = req.headers['last-event-id'];
      lastIds.push(typeof lastId === 'string' ? lastId : undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (lastIds.length === 1) {
        res.end(
          `retry: 10\n\n${message('1-0', 'one')}event: end\ndata: {"reason":"router shutting down; reconnect"}\n\n`,
        );
      } else {
        res.end(`${message('2-0', 'two')}event: end\ndata: {"reason":"workflow deleted"}\n\n`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = new WorkflowRouterClient({ baseURL: `http://127.0.0.1:${port}` });
      const got: unknown[] = [];
      for await (const m of client.streamMessages('w', 'b', { reconnectDelayMs: 10_000 }))
        got.push(m.payload);
      assert.deepEqual(got, ['one', 'two']);
      assert.deepEqual(lastIds, [undefined, '1-0']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('typed client against a router', () => {
  let stack: Stack;
  let router: WorkflowRouterClient;
  let openai: OpenAI;
  before(async () => {
    stack = await startStack({ pods: 2, router: { apiKeys: [KEY] } });
    router = new WorkflowRouterClient({ baseURL: `${stack.router.url}/v1`, apiKey: KEY });
    openai = new OpenAI({ baseURL: router.openAIBaseURL, apiKey: KEY, maxRetries: 0 });
  });
  after(() => stack.close());

  const ask = { model: MODEL, max_tokens: 4, messages: [{ role: 'user' as const, content: 'hello' }] };

  test('every way of tagging a call reaches the workflow status, per agent', async () => {
    const analyst = withWorkflow(openai, { workflowId: 'c-tag', agentId: 'analyst' });
    await analyst.chat.completions.create(ask);
    await analyst.chat.completions.create(ask, { headers: { 'x-agent-id': 'critic' } });
    await openai.chat.completions.create(
      withWorkflowMetadata(ask, { workflowId: 'c-tag', agentId: 'writer' }),
    );
    await openai.chat.completions.create(ask, {
      headers: workflowHeaders({ workflowId: 'c-tag', agentId: 'editor' }),
    });
    await openai.chat.completions.create(ask);
    const status = await router.status('c-tag');
    assert.equal(status.calls, 4);
    assert.deepEqual(Object.keys(status.agents).sort(), ['analyst', 'critic', 'editor', 'writer']);
    assert.equal(stack.pods.flatMap((p) => p.stats().requests).length, 5);
  });

  test('declare, status, list, stats and delete', async () => {
    const declared = await router.declareWorkflow('c-decl', {
      contextSharing: 'broadcast',
      priority: 80,
      agents: [{ name: 'a' }, { name: 'b', contextFrom: ['a'] }],
    });
    assert.equal(declared.declared, true);
    assert.equal(declared.strategy, 'broadcast');
    assert.equal(declared.priority, 80);
    const a = withWorkflow(openai, { workflowId: 'c-decl', agentId: 'a' });
    await a.chat.completions.create(ask);
    const status = await router.status('c-decl');
    assert.equal(status.calls, 1);
    assert.ok(status.pinned_pod);
    const list = await router.listWorkflows();
    assert.ok(list.some((w) => w.workflow_id === 'c-decl'));
    const stats = await router.stats();
    assert.equal(stats.pods.length, 2);
    assert.ok(stats.calls >= 1);
    assert.equal(await router.deleteWorkflow('c-decl'), true);
    assert.equal(await router.deleteWorkflow('c-decl'), false);
    await assert.rejects(router.status('c-decl'), (e: unknown) => {
      assert.ok(e instanceof WorkflowRouterError);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'workflow_not_found');
      return true;
    });
  });

  test('messages: send, cursor reads, long poll, broadcast, full inbox and undeclared agents', async () => {
    await router.declareWorkflow('c-msg', { maxMessageQueueSize: 5 });
    const sent = [];
    for (let i = 0; i < 3; i++) {
      sent.push(await router.sendMessage('c-msg', 'writer', { fromAgent: 'planner', payload: { step: i } }));
    }
    const first = await router.readMessages('c-msg', 'writer', { limit: 2 });
    assert.deepEqual(
      first.data.map((m) => m.payload),
      [{ step: 0 }, { step: 1 }],
    );
    assert.equal(first.next_cursor, sent[1]?.id);
    const rest = await router.readMessages('c-msg', 'writer', { after: first.next_cursor });
    assert.deepEqual(
      rest.data.map((m) => m.id),
      [sent[2]?.id],
    );
    // A long poll returns as soon as a message lands.
    const waiting = router.readMessages('c-msg', 'writer', { after: rest.next_cursor, waitMs: 30_000 });
    await router.sendMessage('c-msg', 'writer', { fromAgent: 'planner', payload: 'late' });
    assert.deepEqual(
      (await waiting).data.map((m) => m.payload),
      ['late'],
    );
    const broadcast = await router.broadcast('c-msg', { fromAgent: 'planner', payload: 'all' });
    assert.deepEqual(Object.keys(broadcast.ids), ['writer']);
    // The inbox holds 5 (the declared maxMessageQueueSize): the sixth is refused with 429.
    await assert.rejects(
      router.sendMessage('c-msg', 'writer', { fromAgent: 'planner', payload: 'overflow' }),
      (e: unknown) => e instanceof WorkflowRouterError && e.status === 429 && e.code === 'inbox_full',
    );
    await router.declareWorkflow('c-msg-decl', { agents: [{ name: 'only' }] });
    await assert.rejects(
      router.sendMessage('c-msg-decl', 'stranger', { fromAgent: 'only', payload: 1 }),
      (e: unknown) => e instanceof WorkflowRouterError && e.status === 403,
    );
    const anonymous = new WorkflowRouterClient({ baseURL: stack.router.url });
    await assert.rejects(
      anonymous.stats(),
      (e: unknown) => e instanceof WorkflowRouterError && e.status === 401,
    );
  });

  test('sendMessages: a batch stored whole in order, or refused whole with the message named', async () => {
    await router.declareWorkflow('c-batch', { maxMessageQueueSize: 2 });
    const receipts = await router.sendMessages('c-batch', [
      { toAgent: 'a', fromAgent: 'lead', payload: 1 },
      { toAgent: 'b', fromAgent: 'lead', payload: 2, ttlSeconds: 30 },
      { toAgent: 'a', fromAgent: 'lead', payload: 3 },
    ]);
    assert.deepEqual(
      receipts.map((r) => [r.object, r.workflow_id, r.to_agent, r.from_agent]),
      [
        ['workflow.message', 'c-batch', 'a', 'lead'],
        ['workflow.message', 'c-batch', 'b', 'lead'],
        ['workflow.message', 'c-batch', 'a', 'lead'],
      ],
    );
    assert.deepEqual(
      (await router.readMessages('c-batch', 'a')).data.map((m) => [m.id, m.payload]),
      [
        [receipts[0]?.id, 1],
        [receipts[2]?.id, 3],
      ],
    );
    await assert.rejects(
      router.sendMessages('c-batch', [
        { toAgent: 'b', fromAgent: 'lead', payload: 4 },
        { toAgent: 'a', fromAgent: 'lead', payload: 5 },
      ]),
      (e: unknown) =>
        e instanceof WorkflowRouterError &&
        e.status === 429 &&
        e.code === 'inbox_full' &&
        e.param === 'messages.1',
    );
    assert.equal((await router.readMessages('c-batch', 'b')).data.length, 1, 'nothing of it stored');
    await assert.rejects(
      router.sendMessages('c-batch-unknown', [{ toAgent: 'a', fromAgent: 'lead', payload: 1 }]),
      (e: unknown) => e instanceof WorkflowRouterError && e.status === 404,
    );
  });

  test('the message stream yields in order, resumes after a cut connection, and ends on delete', async () => {
    const cutter = await startCutter(stack.router.port);
    const stop = new AbortController();
    try {
      const viaCutter = new WorkflowRouterClient({
        baseURL: `http://127.0.0.1:${cutter.port}`,
        apiKey: KEY,
      });
      const before = await router.sendMessage('c-sse', 'reader', { fromAgent: 'w', payload: 0 });
      const received: AgentMessage[] = [];
      const stream = viaCutter.streamMessages('c-sse', 'reader', {
        after: before.id,
        reconnectDelayMs: 50,
        signal: stop.signal,
      });
      const reading = (async () => {
        for await (const message of stream) {
          received.push(message);
          if (received.length === 2) {
            // Cut mid-stream: the iterator must reconnect with Last-Event-ID and skip nothing.
            cutter.cutAll();
            for (let i = 3; i <= 5; i++) {
              await router.sendMessage('c-sse', 'reader', { fromAgent: 'w', payload: i });
            }
          }
        }
      })();
      for (let i = 1; i <= 2; i++)
        await router.sendMessage('c-sse', 'reader', { fromAgent: 'w', payload: i });
      const until = Date.now() + 20_000;
      while (received.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        received.map((m) => m.payload),
        [1, 2, 3, 4, 5],
      );
      assert.ok(cutter.connections() >= 2, 'the iterator reconnected');
      // Deleting the workflow ends the stream: the loop above finishes by itself.
      await router.deleteWorkflow('c-sse');
      await reading;
    } finally {
      stop.abort();
      await cutter.close();
    }
  });

  test('aborting the signal ends the iteration quietly', async () => {
    const abort = new AbortController();
    const got: unknown[] = [];
    const reading = (async () => {
      for await (const m of router.streamMessages('c-abort', 'x', { signal: abort.signal }))
        got.push(m.payload);
    })();
    await router.sendMessage('c-abort', 'x', { fromAgent: 'y', payload: 'one' });
    const until = Date.now() + 10_000;
    while (got.length < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await reading;
    assert.deepEqual(got, ['one']);
  });
});
