import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { clientFor, podFor, postJson } from './helpers.ts';
import { renderChat } from '../../sim/chat-template.ts';
import { countTokens } from '../../sim/tokenizer.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

function assertOpenAiError(body: unknown, type: string, code: number): void {
  assert.equal(typeof body, 'object');
  const error = (body as { error?: Record<string, unknown> }).error;
  assert.ok(error, `no error object in ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof error.message, 'string');
  assert.equal(error.type, type);
  assert.equal(error.code, code);
}

test('bad requests get 400 and an unknown model 404, in OpenAI error shape', async (t) => {
  const pod = await podFor(t, { maxModelLen: 64 });
  const cases: [string, string, unknown, string | null][] = [
    ['completions', 'malformed JSON', '{"prompt": ', null],
    ['completions', 'array body', '[1,2]', null],
    ['completions', 'missing prompt', { model: MODEL }, 'prompt'],
    ['completions', 'prompt of the wrong type', { prompt: { text: 'x' } }, 'prompt'],
    ['completions', 'temperature above 2', { prompt: 'hi', temperature: 2.5 }, 'temperature'],
    ['completions', 'negative temperature', { prompt: 'hi', temperature: -1 }, 'temperature'],
    ['completions', 'max_tokens 0', { prompt: 'hi', max_tokens: 0 }, 'max_tokens'],
    ['completions', 'fractional max_tokens', { prompt: 'hi', max_tokens: 1.5 }, 'max_tokens'],
    ['completions', 'n > 1', { prompt: 'hi', n: 2 }, 'n'],
    ['completions', 'top_p 0', { prompt: 'hi', top_p: 0 }, 'top_p'],
    ['completions', 'stream not boolean', { prompt: 'hi', stream: 'yes' }, 'stream'],
    [
      'completions',
      'stream_options without stream',
      { prompt: 'hi', stream_options: { include_usage: true } },
      'stream_options',
    ],
    ['completions', 'a batch of two prompts', { prompt: ['a', 'b'] }, 'prompt'],
    ['completions', 'empty prompt', { prompt: '' }, 'prompt'],
    ['completions', 'prompt beyond the context', { prompt: 'word '.repeat(80) }, 'prompt'],
    ['completions', 'max_tokens beyond the context', { prompt: 'hi', max_tokens: 64 }, 'max_tokens'],
    ['completions', 'suffix', { prompt: 'hi', suffix: 'x' }, 'suffix'],
    ['chat/completions', 'no messages', { model: MODEL, messages: [] }, 'messages'],
    [
      'chat/completions',
      'unknown role',
      { messages: [{ role: 'wizard', content: 'x' }] },
      'messages[0].role',
    ],
    [
      'chat/completions',
      'image content',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
      'messages[0].content[0]',
    ],
    [
      'chat/completions',
      'max_completion_tokens 0',
      { messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 0 },
      'max_completion_tokens',
    ],
  ];
  for (const [path, name, body, param] of cases) {
    const res = await postJson(`${pod.url}/v1/${path}`, body);
    assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
    assertOpenAiError(res.body, 'BadRequestError', 400);
    assert.equal((res.body as { error: { param: string | null } }).error.param, param, name);
  }

  const missing = await postJson(`${pod.url}/v1/chat/completions`, {
    model: 'no-such-model',
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(missing.status, 404);
  assertOpenAiError(missing.body, 'NotFoundError', 404);
  assert.match((missing.body as { error: { message: string } }).error.message, /no-such-model/);

  const route = await fetch(`${pod.url}/v1/embeddings`, { method: 'POST', body: '{}' });
  assert.equal(route.status, 404);
  assertOpenAiError(await route.json(), 'NotFoundError', 404);

  const stats = pod.stats();
  assert.equal(stats.totals.failed, cases.length + 1);
  assert.ok(stats.requests.every((r) => r.status >= 400));
});

test('the openai client sees errors as typed API errors', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  await assert.rejects(
    client.completions.create({ model: 'nope', prompt: 'hi' }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && e.status === 404 && /nope/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      temperature: 9,
    }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400,
  );
});

test('unknown body fields are ignored and recorded as received', async (t) => {
  const pod = await podFor(t);
  const res = await postJson(
    `${pod.url}/v1/chat/completions`,
    {
      model: MODEL,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 3,
      workflow_metadata: { workflow_id: 'w1' },
      some_future_field: [1, 2, 3],
    },
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-request-id': 'req-42' },
  );
  assert.equal(res.status, 200);
  const [record] = pod.stats().requests;
  assert.ok(record);
  assert.deepEqual(record.bodyKeys, [
    'model',
    'messages',
    'max_tokens',
    'workflow_metadata',
    'some_future_field',
  ]);
  assert.deepEqual(record.headers, {
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'x-request-id': 'req-42',
  });
  assert.equal(record.endpoint, '/v1/chat/completions');
  assert.equal(record.promptText, '<|user|>\nhello<|end|>\n<|assistant|>\n');
});

test('chat responses have OpenAI shape, usage and the pod timing headers', async (t) => {
  const pod = await podFor(t);
  const messages = [
    { role: 'system' as const, content: 'You are terse.' },
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'Say ' },
        { type: 'text' as const, text: 'hi.' },
      ],
    },
  ];
  const { data, response } = await clientFor(pod)
    .chat.completions.create({ model: MODEL, messages, max_completion_tokens: 12 })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.match(data.id, /^chatcmpl-/);
  assert.equal(data.model, MODEL);
  const choice = data.choices[0];
  assert.ok(choice);
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.finish_reason, 'length');
  assert.equal(countTokens(choice.message.content ?? ''), 12);
  const prompt = renderChat([
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hi.' },
  ]);
  assert.deepEqual(data.usage, {
    prompt_tokens: countTokens(prompt),
    completion_tokens: 12,
    total_tokens: countTokens(prompt) + 12,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  assert.equal(pod.stats().requests[0]?.promptText, prompt);
  for (const header of ['x-sim-queue-ms', 'x-sim-time-ms']) {
    const value = Number(response.headers.get(header));
    assert.ok(Number.isFinite(value) && value >= 0, `${header}=${response.headers.get(header)}`);
  }
});

test('completions: default max_tokens 16, echo, stop strings, token-id prompts, seeds', async (t) => {
  const pod = await podFor(t, { seed: 3 });
  const client = clientFor(pod);
  const plain = await client.completions.create({ model: MODEL, prompt: 'The story so far' });
  assert.equal(plain.object, 'text_completion');
  assert.equal(plain.usage?.completion_tokens, 16);
  assert.equal(plain.choices[0]?.finish_reason, 'length');
  const text = plain.choices[0]?.text ?? '';

  const again = await client.completions.create({ model: MODEL, prompt: 'The story so far' });
  assert.equal(again.choices[0]?.text, text, 'same prompt, same seed, same text');
  const seeded = await client.completions.create({ model: MODEL, prompt: 'The story so far', seed: 99 });
  assert.notEqual(seeded.choices[0]?.text, text, 'a request seed changes the text');

  const echoed = await client.completions.create({ model: MODEL, prompt: 'The story so far', echo: true });
  assert.equal(echoed.choices[0]?.text, 'The story so far' + text);

  const stopAt = text.trim().split(' ')[2] ?? '';
  const stopped = await client.completions.create({
    model: MODEL,
    prompt: 'The story so far',
    stop: [stopAt],
  });
  const choice = stopped.choices[0];
  assert.equal(choice?.finish_reason, 'stop');
  assert.equal(choice?.text, text.slice(0, text.indexOf(stopAt)));
  assert.ok((stopped.usage?.completion_tokens ?? 0) < 16);

  const ids = await client.completions.create({ model: MODEL, prompt: [1, 2, 3, 4, 5], max_tokens: 2 });
  assert.equal(ids.usage?.prompt_tokens, 5);
  const single = await client.completions.create({ model: MODEL, prompt: ['one prompt'], max_tokens: 2 });
  assert.equal(single.usage?.prompt_tokens, countTokens('one prompt'));
});

test('several served models, /v1/models, /health and an explicit context limit', async (t) => {
  const pod = await podFor(t, { model: 'base-model, lora-a', maxModelLen: 4096 });
  const models = await clientFor(pod).models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['base-model', 'lora-a'],
  );
  const raw = (await (await fetch(`${pod.url}/v1/models`)).json()) as { data: { max_model_len: number }[] };
  assert.equal(raw.data[0]?.max_model_len, 4096);
  const health = await fetch(`${pod.url}/health`);
  assert.equal(health.status, 200);
  const res = await postJson(`${pod.url}/v1/completions`, { model: 'lora-a', prompt: 'hi', max_tokens: 1 });
  assert.equal(res.status, 200);
  const omitted = await postJson(`${pod.url}/v1/completions`, { prompt: 'hi', max_tokens: 1 });
  assert.equal((omitted.body as { model: string }).model, 'base-model', 'no model means the primary one');
});

test('the context is capped by what the KV cache can hold', async (t) => {
  const pod = await podFor(t, { kvBlocks: 4, blockSize: 16 });
  const long = await postJson(`${pod.url}/v1/completions`, { prompt: 'word '.repeat(70) });
  assert.equal(long.status, 400);
  const fits = await postJson(`${pod.url}/v1/chat/completions`, {
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(fits.status, 200, 'the default max_tokens shrinks to what fits');
  assert.equal((fits.body as { usage: { total_tokens: number } }).usage.total_tokens, 64);
});

test('with --time-scale 0 every simulated delay is zero', async (t) => {
  // Default timings: 300 decode steps of 7 ms would take over two seconds at scale 1.
  const pod = await podFor(t, { timeScale: 0 });
  const start = performance.now();
  const res = await clientFor(pod).completions.create({
    model: MODEL,
    prompt: 'word '.repeat(2000),
    max_tokens: 300,
  });
  assert.equal(res.usage?.completion_tokens, 300);
  assert.ok(performance.now() - start < 1500, `took ${performance.now() - start} ms`);
});

test('every response carries x-sim-queue-ms', async (t) => {
  const pod = await podFor(t);
  for (const path of ['/health', '/v1/models', '/metrics', '/sim/stats', '/sim/faults', '/nowhere']) {
    const res = await fetch(`${pod.url}${path}`);
    assert.equal(res.headers.get('x-sim-queue-ms'), '0', path);
  }
});
