import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientFor, podFor, promptOf, waitFor } from './helpers.ts';
import { countTokens } from '../../sim/tokenizer.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

test('chat streams parse in the openai client; the first chunk comes before the last token is generated', async (t) => {
  const pod = await podFor(t, { decodeMsPerToken: 5, timeScale: 1 });
  const client = clientFor(pod);
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Tell me a long story.' }],
    max_tokens: 40,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let runningAtFirstChunk = -1;
  let finish: string | null = null;
  let usage: { completion_tokens: number; prompt_tokens: number } | undefined;
  for await (const chunk of stream) {
    if (chunks === 0) {
      // Read in-process, synchronously: the pod is still generating this very request.
      const stats = pod.stats();
      runningAtFirstChunk = stats.running;
      assert.equal(stats.requests.length, 0, 'the request has not finished');
      assert.equal(chunk.choices[0]?.delta.role, 'assistant');
    }
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const choice = chunk.choices[0];
    if (choice) {
      text += choice.delta.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(runningAtFirstChunk, 1);
  assert.equal(finish, 'length');
  assert.equal(chunks, 41, 'one chunk per token and a usage chunk');
  assert.equal(countTokens(text), 40);
  assert.equal(usage?.completion_tokens, 40);
  const record = pod.stats().requests[0];
  assert.equal(record?.stream, true);
  assert.equal(record?.completionTokens, 40);
  assert.ok((record?.ttftMs ?? Infinity) < (record?.totalMs ?? 0));
});

test('raw SSE: OpenAI chunk format, a usage chunk only when asked, then data: [DONE]', async (t) => {
  const pod = await podFor(t);
  const post = async (body: object) => {
    const res = await fetch(`${pod.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        prompt: 'Once upon a time',
        max_tokens: 5,
        stream: true,
        ...body,
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(Number(res.headers.get('x-sim-queue-ms')) >= 0);
    const frames = (await res.text()).split('\n\n').filter((f) => f !== '');
    for (const f of frames) assert.match(f, /^data: /);
    return frames.map((f) => f.slice('data: '.length));
  };
  const plain = await post({});
  assert.equal(plain.length, 6);
  assert.equal(plain.at(-1), '[DONE]');
  const chunks = plain
    .slice(0, -1)
    .map((f) => JSON.parse(f) as { object: string; choices: { text: string }[] });
  assert.ok(chunks.every((c) => c.object === 'text_completion' && c.choices.length === 1));
  assert.ok(!plain.some((f) => f.includes('"usage"')));

  const withUsage = await post({ stream_options: { include_usage: true } });
  assert.equal(withUsage.length, 7);
  const usageChunk = JSON.parse(withUsage.at(-2) ?? '') as {
    choices: unknown[];
    usage: Record<string, unknown>;
  };
  assert.deepEqual(usageChunk.choices, []);
  assert.deepEqual(usageChunk.usage, {
    prompt_tokens: countTokens('Once upon a time'),
    total_tokens: countTokens('Once upon a time') + 5,
    completion_tokens: 5,
    prompt_tokens_details: { cached_tokens: 0 },
  });
});

test('a stop string ends a stream without leaking any part of it', async (t) => {
  const pod = await podFor(t);
  const client = clientFor(pod);
  const full = await client.completions.create({ model: MODEL, prompt: 'abc', max_tokens: 30 });
  const text = full.choices[0]?.text ?? '';
  const stop = text.slice(20, 27);
  const stream = await client.completions.create({
    model: MODEL,
    prompt: 'abc',
    max_tokens: 30,
    stream: true,
    stop,
  });
  let streamed = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    streamed += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(streamed, text.slice(0, text.indexOf(stop)));
  assert.equal(finish, 'stop');
});

test('the queue holds requests beyond --max-num-seqs, in FIFO order', async (t) => {
  const pod = await podFor(t, { maxNumSeqs: 2, decodeMsPerToken: 10, timeScale: 1 });
  const client = clientFor(pod);
  // Sent one after the other, so the pod sees them in this order.
  const sent = [];
  for (const i of [0, 1, 2, 3, 4]) {
    sent.push(
      client.completions
        .create(
          { model: MODEL, prompt: promptOf(20, i), max_tokens: 20 },
          { headers: { 'x-request-id': `q${i}` } },
        )
        .withResponse(),
    );
    await waitFor(() => pod.stats().running + pod.stats().waiting === i + 1);
  }
  const stats = pod.stats();
  assert.deepEqual([stats.running, stats.waiting], [2, 3]);
  const results = await Promise.all(sent);
  const queueMs = results.map((r) => Number(r.response.headers.get('x-sim-queue-ms')));
  const records = pod.stats().requests;
  const byId = (id: string) => records.find((r) => r.headers['x-request-id'] === id);
  // Requests 2..4 waited for earlier ones to finish 20 decode steps (>= 200 ms simulated).
  for (const i of [2, 3, 4]) assert.ok((queueMs[i] ?? 0) > 100, `queue ${queueMs.join(', ')}`);
  for (const i of [0, 1])
    assert.ok((queueMs[i] ?? Infinity) < (queueMs[2] ?? 0) / 2, `queue ${queueMs.join(', ')}`);
  // 2 and 3 start together when 0 and 1 finish; 4 waits for one of them in turn.
  assert.ok(
    (queueMs[4] ?? 0) > Math.max(queueMs[2] ?? 0, queueMs[3] ?? 0) + 50,
    `queue ${queueMs.join(', ')}`,
  );
  for (const [i, r] of results.entries()) {
    assert.equal(byId(`q${i}`)?.queuedMs, queueMs[i]);
    assert.equal(r.data.usage?.completion_tokens, 20);
  }
});

test('x-sim-time-ms is the pod time: queue + prefill + decode', async (t) => {
  const pod = await podFor(t, { decodeMsPerToken: 10, prefillMsPerToken: 0, timeScale: 1 });
  const { response } = await clientFor(pod)
    .completions.create({ model: MODEL, prompt: 'hello', max_tokens: 11 })
    .withResponse();
  const podMs = Number(response.headers.get('x-sim-time-ms'));
  // Ten decode steps of 10 ms after the first token.
  assert.ok(podMs >= 90, `x-sim-time-ms ${podMs}`);
  assert.equal(pod.stats().requests[0]?.totalMs, podMs);
});

test('a client that goes away aborts its request and frees its blocks', async (t) => {
  const pod = await podFor(t, { decodeMsPerToken: 20, timeScale: 1 });
  const client = clientFor(pod);
  const controller = new AbortController();
  const stream = await client.completions.create(
    { model: MODEL, prompt: promptOf(64, 1), max_tokens: 1000, stream: true },
    { signal: controller.signal },
  );
  let received = 0;
  try {
    for await (const _chunk of stream) {
      if (++received === 3) controller.abort();
    }
  } catch {
    // Depending on timing the client ends the iteration or throws an abort error.
  }
  assert.equal(received, 3);
  await waitFor(() => pod.stats().requests.length === 1);
  const stats = pod.stats();
  const record = stats.requests[0];
  assert.equal(record?.cancelled, true);
  assert.ok((record?.completionTokens ?? 0) < 1000);
  assert.equal(stats.running, 0);
  assert.equal(stats.usedBlocks, 0);
  assert.equal(stats.totals.cancelled, 1);
  assert.equal(stats.residentBlocks, 4, 'the computed prompt stays cached');

  // A non-streamed request is aborted the same way.
  const second = new AbortController();
  const pending = client.completions.create(
    { model: MODEL, prompt: promptOf(64, 2), max_tokens: 1000 },
    { signal: second.signal },
  );
  await waitFor(() => pod.stats().running === 1);
  second.abort();
  await assert.rejects(pending);
  await waitFor(() => pod.stats().requests.length === 2);
  assert.equal(pod.stats().requests[1]?.status, 499);
  assert.equal(pod.stats().running, 0);
});
