import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import OpenAI from 'openai';
import { clientFor, podFor, postJson, waitFor } from './helpers.ts';
import { startSimPod } from '../../sim/server.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

async function setFaults(url: string, faults: unknown): Promise<{ status: number; body: unknown }> {
  return postJson(`${url}/sim/faults`, faults);
}

test('faults are set as a whole, read back, validated and cleared', async (t) => {
  const pod = await podFor(t);
  const set = await setFaults(pod.url, { failRate: 0.25, extraLatencyMs: 5 });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body, { failRate: 0.25, extraLatencyMs: 5 });
  assert.deepEqual(await (await fetch(`${pod.url}/sim/faults`)).json(), {
    failRate: 0.25,
    extraLatencyMs: 5,
  });
  const replaced = await setFaults(pod.url, { unhealthy: true });
  assert.deepEqual(replaced.body, { unhealthy: true }, 'a POST replaces every knob');

  for (const bad of [
    { failRate: 2 },
    { hang: 'yes' },
    { dropStreamAfterTokens: -1 },
    { refuseConnections: true },
    '[1]',
  ]) {
    const res = await setFaults(pod.url, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal((res.body as { error: { type: string } }).error.type, 'BadRequestError');
  }
  assert.deepEqual((await setFaults(pod.url, {})).body, {});
  await setFaults(pod.url, { hang: true });
  assert.deepEqual(await (await fetch(`${pod.url}/sim/faults`, { method: 'DELETE' })).json(), {});
  assert.deepEqual(pod.faults(), {});
  assert.throws(() => pod.setFaults({ failRate: -1 }));
});

test('unhealthy: /health answers 503 until cleared; completions still work', async (t) => {
  const pod = await podFor(t);
  await setFaults(pod.url, { unhealthy: true });
  assert.equal((await fetch(`${pod.url}/health`)).status, 503);
  const ok = await clientFor(pod).completions.create({ model: MODEL, prompt: 'hi', max_tokens: 1 });
  assert.equal(ok.usage?.completion_tokens, 1);
  await setFaults(pod.url, {});
  assert.equal((await fetch(`${pod.url}/health`)).status, 200);
});

test('failRate: that fraction of completions answers 500 in OpenAI shape, the same ones for the same seed', async (t) => {
  const pod = await podFor(t, { seed: 11 });
  const client = clientFor(pod);
  await setFaults(pod.url, { failRate: 1 });
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 500 && /failRate/.test(e.message),
  );

  const pattern = async (url: string): Promise<string> => {
    await setFaults(url, { failRate: 0.5 });
    let out = '';
    for (let i = 0; i < 40; i++) {
      const res = await postJson(`${url}/v1/completions`, { prompt: 'hi', max_tokens: 1 });
      out += res.status === 500 ? 'x' : '.';
      if (res.status === 500) assert.equal((res.body as { error: { code: number } }).error.code, 500);
    }
    return out;
  };
  const first = await pattern(pod.url);
  const failures = first.split('x').length - 1;
  assert.ok(failures >= 8 && failures <= 32, first);
  assert.equal(await pattern(pod.url), first, 'setting the faults again restarts the same sequence');
  const twin = await startSimPod({ seed: 11, timeScale: 0 });
  t.after(() => twin.close());
  assert.equal(await pattern(twin.url), first, 'another pod with the same seed fails the same requests');
  assert.equal(pod.stats().totals.failed, 1 + failures * 2);
});

test('extraLatencyMs delays the first token by at least that much', async (t) => {
  const pod = await podFor(t);
  await setFaults(pod.url, { extraLatencyMs: 150 });
  const start = performance.now();
  const stream = await clientFor(pod).completions.create({
    model: MODEL,
    prompt: 'hi',
    max_tokens: 2,
    stream: true,
  });
  let first: number | undefined;
  for await (const _chunk of stream) first ??= performance.now() - start;
  assert.ok((first ?? 0) >= 150, `first chunk after ${first} ms`);
  const record = pod.stats().requests[0];
  assert.ok((record?.ttftMs ?? 0) >= 150);
  assert.ok((record?.totalMs ?? 0) >= 150, 'x-sim-time-ms includes the injected latency');
});

test('hang: requests are accepted and never answered until the fault is cleared', async (t) => {
  const pod = await podFor(t);
  await setFaults(pod.url, { hang: true });
  let settled = false;
  const pending = clientFor(pod)
    .completions.create({ model: MODEL, prompt: 'hi', max_tokens: 2 })
    .finally(() => (settled = true));
  await waitFor(() => pod.stats().hanging === 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(pod.stats().running + pod.stats().waiting, 0, 'a hanging request is not in the engine');
  assert.equal(settled, false, 'a hanging request is not answered');
  assert.equal((await fetch(`${pod.url}/health`)).status, 200, 'the pod itself still answers');
  await setFaults(pod.url, {});
  const done = await pending;
  assert.equal(done.usage?.completion_tokens, 2);
});

test('hang: a client that gives up is recorded as cancelled', async (t) => {
  const pod = await podFor(t);
  pod.setFaults({ hang: true });
  const controller = new AbortController();
  const pending = clientFor(pod).completions.create(
    { model: MODEL, prompt: 'hi', stream: true },
    { signal: controller.signal },
  );
  await waitFor(() => pod.stats().hanging === 1);
  controller.abort();
  await assert.rejects(pending);
  await waitFor(() => pod.stats().hanging === 0);
  await waitFor(() => pod.stats().requests.length === 1);
  const record = pod.stats().requests[0];
  assert.equal(record?.cancelled, true);
  assert.equal(record?.status, 499);
});

test('dropStreamAfterTokens: the connection is destroyed after N tokens, with no [DONE]', async (t) => {
  const pod = await podFor(t);
  await setFaults(pod.url, { dropStreamAfterTokens: 3 });
  // Raw HTTP, to see exactly what arrived before the socket died.
  const raw = await new Promise<{ body: string; error: string }>((resolve) => {
    let body = '';
    const req = request(
      `${pod.url}/v1/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('error', (e) => resolve({ body, error: e.message }));
        res.on('end', () => resolve({ body, error: '' }));
      },
    );
    req.on('error', (e) => resolve({ body, error: e.message }));
    req.end(JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 10, stream: true }));
  });
  assert.notEqual(raw.error, '', 'the stream ends with a connection error');
  const frames = raw.body.split('\n\n').filter((f) => f.startsWith('data: '));
  assert.equal(frames.length, 3);
  assert.ok(!raw.body.includes('[DONE]'));

  // The openai client sees a broken stream, not a clean end.
  const stream = await clientFor(pod).completions.create({
    model: MODEL,
    prompt: 'hi',
    max_tokens: 10,
    stream: true,
  });
  let chunks = 0;
  await assert.rejects(async () => {
    for await (const _chunk of stream) chunks++;
  });
  assert.equal(chunks, 3);

  // A non-streamed request gets no response at all.
  await assert.rejects(clientFor(pod).completions.create({ model: MODEL, prompt: 'hi', max_tokens: 10 }));
  const records = pod.stats().requests;
  assert.equal(records.length, 3);
  assert.ok(records.every((r) => r.error?.includes('dropped') && !r.cancelled));
  assert.equal(pod.stats().running, 0);
  assert.equal(pod.stats().usedBlocks, 0);
});

test('close() ends open streams and hanging requests promptly', async (t) => {
  const pod = await startSimPod({ decodeMsPerToken: 1000, timeScale: 1 });
  const client = clientFor(pod);
  const stream = await client.completions.create({
    model: MODEL,
    prompt: 'hi',
    max_tokens: 100,
    stream: true,
  });
  const reading = (async () => {
    for await (const _chunk of stream) {
      // Drain until the pod goes away.
    }
  })().catch(() => 'broken');
  pod.setFaults({ hang: true });
  const hanging = client.completions.create({ model: MODEL, prompt: 'hi' }).catch(() => 'broken');
  await waitFor(() => pod.stats().running === 1 && pod.stats().hanging === 1);
  const start = performance.now();
  await pod.close();
  // One decode step lasts a second: close must not wait for it.
  assert.ok(performance.now() - start < 500, 'close does not wait for requests');
  await Promise.all([reading, hanging]);
  t.diagnostic(`closed in ${(performance.now() - start).toFixed(1)} ms`);
});
