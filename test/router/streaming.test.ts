// Streaming through the router: chunks pass through as the pod generates them (the client sees
// the first one long before the pod is done), usage is read on the way without leaking a chunk
// the client did not ask for, and a client that goes away cancels the pod's work.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentCall,
  chat,
  metric,
  records,
  scrapeRouter,
  startStack,
  status,
  waitFor,
  type Stack,
} from '../helpers/router.ts';

describe('streaming through the router', () => {
  let stack: Stack;
  before(async () => {
    // Real-time decode of 12 ms per token: a 120-token answer takes about 1.5 s to generate.
    stack = await startStack({
      pods: 1,
      sim: { timeScale: 1, decodeMsPerToken: 12, prefillMsPerToken: 0.01 },
    });
  });
  after(() => stack.close());

  test('chunks reach the client while the pod is still generating', async () => {
    const client = stack.client();
    const t0 = performance.now();
    const stream = await client.chat.completions.create({
      ...agentCall('stream-1', 'talker', 'stream test: talk for a while', {}, { max_tokens: 120 }),
      stream: true,
    });
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content ?? '';
      if (piece !== '') arrivals.push(performance.now() - t0);
      text += piece;
      assert.equal(chunk.usage ?? null, null, 'no usage chunk: the client did not ask for one');
    }
    assert.ok(text.length > 0);
    const rec = (await records(stack.pods[0]!)).find((r) => r.promptText.includes('stream test'));
    assert.ok(rec && rec.stream && rec.completionTokens === 120);
    const first = arrivals[0] ?? Infinity;
    const last = arrivals.at(-1) ?? 0;
    assert.ok(
      first < rec.totalMs / 2,
      `first chunk after ${first.toFixed(0)} ms, the pod took ${rec.totalMs} ms: the stream was buffered`,
    );
    assert.ok(
      last - first > rec.totalMs / 2,
      `chunks arrived within ${(last - first).toFixed(0)} ms of a ${rec.totalMs} ms generation`,
    );
    assert.ok(arrivals.length >= 60, `only ${arrivals.length} content chunks`);

    const st = await status(stack, 'stream-1');
    assert.equal(st.body.calls, 1);
    assert.equal(st.body.completion_tokens, 120, 'usage read from the stream the router asked for');
    assert.equal(st.body.prompt_tokens, rec.promptTokens);
  });

  test('a client that asks for usage gets the final usage chunk, with cached tokens', async () => {
    const client = stack.client();
    const content = 'usage test: a prompt long enough to cache '.repeat(10);
    for (let i = 0; i < 2; i++) {
      const stream = await client.chat.completions.create({
        ...agentCall('stream-2', 'counter', content, {}, { max_tokens: 5 }),
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
      for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
      assert.ok(usage, 'the usage chunk reached the client');
      assert.ok(usage.prompt_tokens > 0);
      if (i === 1) assert.ok((usage.prompt_tokens_details?.cached_tokens ?? 0) > 0);
    }
    const st = await status(stack, 'stream-2');
    assert.equal(st.body.calls, 2);
    assert.ok(st.body.cached_tokens > 0);
  });

  test('a client that disconnects mid-stream cancels the upstream request', async () => {
    const client = stack.client();
    const stream = await client.chat.completions.create({
      ...agentCall('stream-3', 'quitter', 'cancel test: a very long answer please', {}, { max_tokens: 400 }),
      stream: true,
    });
    let chunks = 0;
    for await (const _chunk of stream) {
      if (++chunks === 3) break; // leaving the loop aborts the HTTP request
    }
    await waitFor(async () => {
      const rec = (await records(stack.pods[0]!)).find((r) => r.promptText.includes('cancel test'));
      return rec?.cancelled === true;
    }, 'the pod records the request as cancelled');
    const rec = (await records(stack.pods[0]!)).find((r) => r.promptText.includes('cancel test'));
    assert.ok(rec && rec.completionTokens < 400, `the pod generated ${rec?.completionTokens} tokens`);
    await waitFor(async () => {
      const samples = (await scrapeRouter(stack.router)).samples;
      return metric(samples, 'workflow_router_requests_total', { outcome: 'client_closed' }) === 1;
    }, 'the router counts a client_closed outcome');
    await waitFor(
      async () => (await status(stack, 'stream-3')).body.inflight === 0,
      'no call left in flight',
    );
  });

  test('a client that aborts a non-streaming call cancels the upstream request', async () => {
    const client = stack.client();
    const abort = new AbortController();
    const call = client.chat.completions.create(
      agentCall('stream-4', 'impatient', 'abort test: a long answer', {}, { max_tokens: 400 }),
      { signal: abort.signal },
    );
    await waitFor(() => stack.pods[0]!.stats().running > 0, 'the pod is generating');
    abort.abort();
    await assert.rejects(call);
    await waitFor(async () => {
      const rec = (await records(stack.pods[0]!)).find((r) => r.promptText.includes('abort test'));
      return rec?.cancelled === true;
    }, 'the pod records the request as cancelled');
    // The pod is free again and the next call works.
    const ok = await chat(
      client,
      agentCall('stream-4', 'impatient', 'abort test follow-up', {}, { max_tokens: 3 }),
    );
    assert.ok(ok.completion.choices[0]?.message.content);
  });
});
