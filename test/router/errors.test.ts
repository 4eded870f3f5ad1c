// Bad input of every kind, each answered in OpenAI's error shape with the status that fits,
// and each followed by a good request that still works: the router never wedges on garbage.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import {
  agentCall,
  assertOpenAIError,
  chat,
  chatBody,
  http,
  MODEL,
  startStack,
  waitFor,
  type HttpAnswer,
  type Stack,
} from '../helpers/router.ts';

describe('bad input', () => {
  let stack: Stack;
  let chatUrl: string;
  let goodCalls = 0;
  before(async () => {
    stack = await startStack({ pods: 2, router: { maxBodyBytes: 8 * 1024 } });
    chatUrl = `${stack.baseURL}/chat/completions`;
  });
  after(() => stack.close());

  /** A good call through the official client right after a bad one. */
  async function stillWorks(): Promise<void> {
    goodCalls++;
    const { completion } = await chat(
      stack.client(),
      agentCall('good-wf', 'good-agent', `good call ${goodCalls}`),
    );
    assert.ok(completion.choices[0]?.message.content, 'the good request after a bad one works');
  }

  const post = (body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
    http('POST', chatUrl, body, headers);

  test('malformed JSON is 400', async () => {
    const res = await post('{"model": "x", "messages": [', { 'content-type': 'application/json' });
    assertOpenAIError(res, 400, 'invalid_json');
    await stillWorks();
  });

  test('a body that is not what its Content-Encoding says is 400, on every route that reads a body', async () => {
    for (const encoding of ['gzip', 'deflate', 'br', 'Br', 'GZIP']) {
      const headers = { 'content-type': 'application/json', 'content-encoding': encoding };
      const body = '{"model": "x", "messages": []}';
      assertOpenAIError(await post(body, headers), 400, 'invalid_encoding');
      assertOpenAIError(
        await http('POST', `${stack.baseURL}/completions`, body, headers),
        400,
        'invalid_encoding',
      );
      assertOpenAIError(
        await http('POST', `${stack.baseURL}/workflows/enc-wf/agents/a/messages`, body, headers),
        400,
        'invalid_encoding',
      );
    }
    await stillWorks();
  });

  test('a body that is not a JSON object is 400', async () => {
    for (const body of ['[1,2,3]', '"text"', '42', 'null']) {
      assertOpenAIError(await post(body, { 'content-type': 'application/json' }), 400);
    }
    assertOpenAIError(await post('model=x', { 'content-type': 'text/plain' }), 400);
    await stillWorks();
  });

  test('wrong types are 400 naming the param', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['model a number', { model: 7, messages: [{ role: 'user', content: 'x' }] }, 'model'],
      ['no model', { messages: [{ role: 'user', content: 'x' }] }, 'model'],
      ['messages a string', { model: MODEL, messages: 'hello' }, 'messages'],
      ['messages empty', { model: MODEL, messages: [] }, 'messages'],
      ['stream a string', chatBody('x', { stream: 'yes' }), 'stream'],
      ['workflow_metadata a string', chatBody('x', { workflow_metadata: 'wf-1' }), 'workflow_metadata'],
      [
        'priority a string',
        chatBody('x', { workflow_metadata: { workflow_id: 'w', workflow_priority: 'high' } }),
        'workflow_metadata.workflow_priority',
      ],
      [
        'priority above 100',
        chatBody('x', { workflow_metadata: { workflow_id: 'w', workflow_priority: 101 } }),
        'workflow_metadata.workflow_priority',
      ],
      [
        'unknown strategy',
        chatBody('x', { workflow_metadata: { workflow_id: 'w', context_sharing: 'everything' } }),
        'workflow_metadata.context_sharing',
      ],
      [
        'context_from not a list',
        chatBody('x', { workflow_metadata: { workflow_id: 'w', context_from: 'a' } }),
        'workflow_metadata.context_from',
      ],
      [
        'unknown metadata field',
        chatBody('x', { workflow_metadata: { workflow_id: 'w', workflow_colour: 'red' } }),
        'workflow_metadata',
      ],
      [
        'agent without workflow',
        chatBody('x', { workflow_metadata: { agent_id: 'a' } }),
        'workflow_metadata.workflow_id',
      ],
    ];
    for (const [name, body, param] of cases) {
      const error = assertOpenAIError(await post(body), 400);
      assert.equal(error.type, 'invalid_request_error', name);
      assert.ok(error.param?.startsWith(param), `${name}: param ${error.param} is not ${param}`);
    }
    const completions = await http('POST', `${stack.baseURL}/completions`, { model: MODEL, prompt: 5 });
    assert.equal(assertOpenAIError(completions, 400).param, 'prompt');
    await stillWorks();
  });

  test('bad workflow and agent ids are 400: too long, control characters, path separators', async () => {
    const bad = [
      'x'.repeat(129),
      'wf\u0001one',
      'wf\none',
      'wf\u0000',
      'a/b',
      '../etc',
      'a\\b',
      '-leading',
      'sp ace',
      '',
    ];
    for (const id of bad) {
      for (const field of ['workflow_id', 'agent_id']) {
        const meta = field === 'workflow_id' ? { workflow_id: id } : { workflow_id: 'ok-wf', agent_id: id };
        const res = await post(chatBody('x', { workflow_metadata: meta }));
        const error = assertOpenAIError(res, 400, 'invalid_workflow_metadata');
        assert.equal(error.param, `workflow_metadata.${field}`, JSON.stringify(id));
      }
    }
    // The same ids in headers (tab is the one control character HTTP clients let through).
    for (const id of ['x'.repeat(129), 'wf\tone', 'a/b', '../etc']) {
      const res = await post(chatBody('x'), { 'x-workflow-id': id });
      assertOpenAIError(res, 400, 'invalid_workflow_metadata');
      const agent = await post(chatBody('x'), { 'x-workflow-id': 'ok-wf', 'x-agent-id': id });
      assertOpenAIError(agent, 400, 'invalid_workflow_metadata');
    }
    assertOpenAIError(
      await post(chatBody('x'), { 'x-workflow-id': 'ok', 'x-workflow-priority': 'urgent' }),
      400,
    );
    assertOpenAIError(await post(chatBody('x'), { 'x-workflow-id': 'ok', 'x-context-sharing': 'all' }), 400);
    // And in paths.
    const wf = `${stack.router.url}/v1/workflows`;
    for (const path of ['a%2Fb', '..%2F..%2Fetc', 'x'.repeat(129), 'wf%01one', 'wf%00']) {
      assertOpenAIError(await http('GET', `${wf}/${path}/status`), 400);
      assertOpenAIError(
        await http('POST', `${wf}/${path}/agents/a/messages`, { from_agent: 'b', payload: 1 }),
        400,
      );
      assertOpenAIError(await http('GET', `${wf}/ok/agents/${path}/messages`), 400);
    }
    assertOpenAIError(await http('GET', `${wf}/%E0%A4%A/status`), 400);
    await stillWorks();
  });

  test("an unknown model is 404 listing the served models, in the client's NotFoundError too", async () => {
    const res = await post({ ...chatBody('x'), model: 'gpt-5-imaginary' });
    const error = assertOpenAIError(res, 404, 'model_not_found');
    assert.ok(error.message.includes('gpt-5-imaginary'));
    assert.ok(error.message.includes(MODEL), `served models not listed: ${error.message}`);
    await assert.rejects(
      stack.client().chat.completions.create({ ...agentCall('w', 'a', 'x'), model: 'nope' }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.status === 404,
    );
    const models = await stack.client().models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );
    await stillWorks();
  });

  test('a body over --max-body-bytes is 413', async () => {
    const res = await post(chatBody('y'.repeat(16 * 1024)));
    const error = assertOpenAIError(res, 413, 'body_too_large');
    assert.match(error.message, /8192/);
    await stillWorks();
  });

  test('a wrong method is 405 with Allow; an unknown route is 404', async () => {
    const res = await http('GET', chatUrl);
    assertOpenAIError(res, 405, 'method_not_allowed');
    assert.equal(res.headers.get('allow'), 'POST');
    assertOpenAIError(await http('DELETE', `${stack.baseURL}/models`), 405);
    assertOpenAIError(await http('PUT', `${stack.router.url}/v1/workflows/wf/status`), 405);
    assertOpenAIError(
      await http('POST', `${stack.baseURL}/embeddings`, { model: MODEL, input: 'x' }),
      404,
      'unknown_route',
    );
    assertOpenAIError(await http('GET', `${stack.router.url}/nothing/here`), 404, 'unknown_route');
    assertOpenAIError(
      await http('GET', `${stack.router.url}/v1/workflows/nope/status`),
      404,
      'workflow_not_found',
    );
    assertOpenAIError(
      await http('DELETE', `${stack.router.url}/v1/workflows/nope`),
      404,
      'workflow_not_found',
    );
    await stillWorks();
  });
});

describe('API keys', () => {
  let stack: Stack;
  const key = 'sk-test-key-0123456789';
  before(async () => {
    stack = await startStack({ pods: 1, router: { apiKeys: [key, 'sk-second-key-abcdef'] } });
  });
  after(() => stack.close());

  test('a missing or wrong key is 401; the right key works', async () => {
    const url = `${stack.baseURL}/chat/completions`;
    assertOpenAIError(await http('POST', url, chatBody('x')), 401, 'missing_api_key');
    assertOpenAIError(
      await http('POST', url, chatBody('x'), { authorization: 'Bearer wrong-key-123' }),
      401,
      'invalid_api_key',
    );
    assertOpenAIError(await http('POST', url, chatBody('x'), { authorization: `Basic ${key}` }), 401);
    assertOpenAIError(await http('GET', `${stack.router.url}/v1/workflows`), 401);
    assertOpenAIError(await http('GET', `${stack.baseURL}/models`), 401);
    await assert.rejects(
      chat(stack.client({ apiKey: 'sk-not-a-real-key' }), agentCall('k', 'a', 'x')),
      (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401,
    );
    const ok = await chat(stack.client({ apiKey: key }), agentCall('k', 'a', 'with the key'));
    assert.ok(ok.completion.choices[0]?.message.content);
    const second = await chat(
      stack.client({ apiKey: 'sk-second-key-abcdef' }),
      agentCall('k', 'a', 'second key'),
    );
    assert.ok(second.completion.id);
    // Probes and metrics stay open for Kubernetes and Prometheus.
    assert.equal((await http('GET', `${stack.router.url}/healthz`)).status, 200);
    assert.equal((await http('GET', `${stack.router.url}/metrics`)).status, 200);
  });
});

test('all pods down is 503 with Retry-After; service resumes when they return', async () => {
  const stack = await startStack({ pods: 2, router: { healthCheckIntervalMs: 100 } });
  try {
    for (const pod of stack.pods) pod.setFaults({ unhealthy: true });
    await waitFor(() => stack.router.core.pool.all().every((p) => !p.healthy), 'every pod marked down');
    const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('x'));
    assertOpenAIError(res, 503, 'no_healthy_pods');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    await assert.rejects(chat(stack.client(), agentCall('down', 'a', 'x')), (e: unknown) => {
      return e instanceof APIError && e.status === 503;
    });
    assert.equal((await http('GET', `${stack.router.url}/readyz`)).status, 503);
    for (const pod of stack.pods) pod.setFaults({});
    await waitFor(() => stack.router.core.pool.all().every((p) => p.healthy), 'pods back');
    const ok = await chat(stack.client(), agentCall('down', 'a', 'back again'));
    assert.ok(ok.completion.choices[0]?.message.content);
    assert.equal((await http('GET', `${stack.router.url}/readyz`)).status, 200);
  } finally {
    await stack.close();
  }
});
