// The batch send endpoint (POST /v1/workflows/{wid}/messages/batch) through real HTTP on two
// router processes sharing one Redis, with API keys (tenants): a batch sent through replica A
// is read through replica B by cursor and by SSE (resumed with Last-Event-ID), in order;
// everything refused is refused whole, in OpenAI's error shape, with nothing stored and nothing
// counted: bad input (400, 413), an overflowing inbox mid-batch (429 inbox_full naming the
// message), the tenant's queued-messages limit (429), an undeclared recipient (403), an unknown
// workflow or another tenant's (404: a batch never creates a workflow); and while Redis is away
// a batch answers 503 and an open SSE stream ends with an error event, both recovering after.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { assertOpenAIError, http, type StatusView } from '../helpers/router.ts';
import { eventually, openSse, startFleet, type Fleet, type RouterProcess } from '../helpers/fleet.ts';
import { writeKeysFile } from '../reliability/helpers.ts';

const KEYS = { alpha: 'sk-alpha-batch-0001', beta: 'sk-beta-batch-0002', gamma: 'sk-gamma-batch-0003' };
const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

interface MessageView {
  id: string;
  from_agent: string;
  to_agent: string;
  payload: unknown;
}

interface BatchView {
  object: 'list';
  data: {
    object: 'workflow.message';
    id: string;
    workflow_id: string;
    to_agent: string;
    from_agent: string;
  }[];
}

describe('fleet: batch send', () => {
  let redis: RedisServer;
  let fleet: Fleet;
  let cleanup: () => void = () => undefined;

  before(async () => {
    redis = await startRedis();
    const keys = writeKeysFile(
      [
        { key: KEYS.alpha, tenant: 'alpha', role: 'user' },
        { key: KEYS.beta, tenant: 'beta', role: 'user' },
        { key: KEYS.gamma, tenant: 'gamma', role: 'user' },
      ],
      { gamma: { max_queued_messages: 5 } },
    );
    cleanup = keys.cleanup;
    fleet = await startFleet({
      redis: { url: redis.url },
      prefix: 'wr:batch:',
      replicas: 2,
      pods: 1,
      args: ['--api-keys-file', keys.path],
    });
  });

  after(async () => {
    await fleet?.close();
    await redis?.stop();
    cleanup();
  });

  const base = (r: RouterProcess, wf: string): string => `${r.url}/v1/workflows/${wf}`;
  const batch = (r: RouterProcess, wf: string, body: unknown, key = KEYS.alpha) =>
    http<BatchView>('POST', `${base(r, wf)}/messages/batch`, body, auth(key));
  const read = (r: RouterProcess, wf: string, agent: string, key = KEYS.alpha) =>
    http<{ data: MessageView[] }>('GET', `${base(r, wf)}/agents/${agent}/messages`, undefined, auth(key));
  const status = (r: RouterProcess, wf: string, key = KEYS.alpha) =>
    http<StatusView>('GET', `${base(r, wf)}/status`, undefined, auth(key));
  /** A workflow of `key`'s tenant, created by one message to `agent`. */
  const create = async (r: RouterProcess, wf: string, agent: string, key = KEYS.alpha): Promise<void> => {
    const res = await http(
      'POST',
      `${base(r, wf)}/agents/${agent}/messages`,
      { from_agent: 'seed', payload: 0 },
      auth(key),
    );
    assert.equal(res.status, 201, res.text);
  };
  const item = (to: string, payload: unknown, extra: Record<string, unknown> = {}) => ({
    to_agent: to,
    from_agent: 'planner',
    payload,
    ...extra,
  });

  test('a batch sent through replica A is read through replica B by cursor and SSE, in order', async () => {
    const [a, b] = [fleet.router(0), fleet.router(1)];
    await create(a, 'relay', 'coder');
    const sse = await openSse(`${base(b, 'relay')}/agents/coder/messages/stream`, auth(KEYS.alpha));
    assert.equal(sse.status, 200);
    const messages = [
      item('coder', { step: 1 }),
      item('reviewer', 'look', { ttl_seconds: 30 }),
      item('coder', { step: 2 }),
      item('coder', [3]),
    ];
    const sent = await batch(a, 'relay', { messages });
    assert.equal(sent.status, 201, sent.text);
    assert.equal(sent.body.object, 'list');
    assert.deepEqual(
      sent.body.data.map((m) => [m.object, m.workflow_id, m.to_agent, m.from_agent]),
      messages.map((m) => ['workflow.message', 'relay', m.to_agent, 'planner']),
    );
    const ids = sent.body.data.map((m) => m.id);
    for (const id of ids) assert.match(id, /^\d+-\d+$/);

    const coder = await read(b, 'relay', 'coder');
    assert.deepEqual(
      coder.body.data.map((m) => [m.id, m.payload]),
      [
        [coder.body.data[0]?.id, 0],
        [ids[0], { step: 1 }],
        [ids[2], { step: 2 }],
        [ids[3], [3]],
      ],
    );
    const reviewer = await read(b, 'relay', 'reviewer');
    assert.deepEqual(
      reviewer.body.data.map((m) => [m.id, m.from_agent, m.payload]),
      [[ids[1], 'planner', 'look']],
    );

    // The stream on replica B pushes the seed and the batch's three, in order, once each.
    await eventually('the batch on the SSE stream of replica B', () =>
      sse.events.filter((e) => e.event === 'message').length >= 4 ? true : undefined,
    );
    sse.stop();
    const pushed = sse.events.filter((e) => e.event === 'message');
    assert.deepEqual(
      pushed.map((e) => e.id),
      coder.body.data.map((m) => m.id),
    );
    // Resuming after the batch's first message pushes the rest, and nothing before it.
    const resumed = await openSse(`${base(b, 'relay')}/agents/coder/messages/stream`, {
      ...auth(KEYS.alpha),
      'last-event-id': ids[0] ?? '',
    });
    await eventually('the resumed stream', () =>
      resumed.events.filter((e) => e.event === 'message').length >= 2 ? true : undefined,
    );
    resumed.stop();
    assert.deepEqual(
      resumed.events.filter((e) => e.event === 'message').map((e) => e.id),
      [ids[2], ids[3]],
    );

    const counted = await eventually('the batch counted sent and delivered', async () => {
      const st = await status(a, 'relay');
      return st.body.messages.sent === 5 && st.body.messages.delivered >= 5 ? st.body : undefined;
    });
    assert.equal(counted.messages.refused, 0);
  });

  test('bad input is 400 or 413 in OpenAI shape, naming the message; nothing is stored', async () => {
    const a = fleet.router(0);
    await create(a, 'strict', 'x');
    // Read once first: reading counts the seed delivered, which is not what is compared here.
    assert.equal((await read(a, 'strict', 'x')).body.data.length, 1);
    const before = await status(a, 'strict');
    const cases: [unknown, number, string | undefined][] = [
      [{ messages: [] }, 400, 'messages'],
      [{}, 400, 'messages'],
      [[item('x', 1)], 400, undefined],
      [{ messages: [item('x', 1)], extra: true }, 400, undefined],
      [{ messages: [item('x', 1), { from_agent: 'planner', payload: 2 }] }, 400, 'messages.1.to_agent'],
      [{ messages: [item('x', 1), item('x', 2, { ttl_seconds: 0 })] }, 400, 'messages.1.ttl_seconds'],
      [{ messages: [item('x', 1), { to_agent: 'x', from_agent: 'planner' }] }, 400, 'messages.1.payload'],
      [{ messages: [item('x', 1), item('x/y', 2)] }, 400, 'messages.1.to_agent'],
      [{ messages: [item('x', 1, { color: 'red' })] }, 400, undefined],
      [{ messages: Array.from({ length: 1001 }, (_, i) => item('x', i)) }, 400, 'messages'],
      [{ messages: [item('x', 1), item('x', 'y'.repeat(300 * 1024))] }, 413, 'messages.1.payload'],
    ];
    for (const [body, code, param] of cases) {
      const error = assertOpenAIError(await batch(a, 'strict', body), code);
      if (param !== undefined) assert.equal(error.param, param, JSON.stringify(error));
    }
    assert.equal((await read(a, 'strict', 'x')).body.data.length, 1, 'only the seed');
    const after = await status(a, 'strict');
    assert.deepEqual(after.body.messages, before.body.messages);
  });

  test('an inbox that would overflow mid-batch refuses the whole batch (429), nothing dropped', async () => {
    const [a, b] = [fleet.router(0), fleet.router(1)];
    const put = await http(
      'PUT',
      base(a, 'tight'),
      { agents: [{ name: 'r' }, { name: 's' }, { name: 'planner' }], max_message_queue_size: 3 },
      auth(KEYS.alpha),
    );
    assert.equal(put.status, 201, put.text);
    const first = await batch(a, 'tight', { messages: [item('r', 'old-1'), item('r', 'old-2')] });
    assert.equal(first.status, 201, first.text);
    // r holds 2 of 3: the batch's first message to r fits, its second (index 3) would not.
    const refused = await batch(b, 'tight', {
      messages: [item('s', 1), item('r', 2), item('s', 3), item('r', 4), item('s', 5)],
    });
    const error = assertOpenAIError(refused, 429, 'inbox_full');
    assert.equal(error.param, 'messages.3');
    assert.match(error.message, /"r"/);
    assert.ok(refused.headers.get('retry-after'));
    assert.deepEqual(
      (await read(b, 'tight', 'r')).body.data.map((m) => m.payload),
      ['old-1', 'old-2'],
    );
    assert.deepEqual((await read(b, 'tight', 's')).body.data, [], 'nothing of the batch stored');
    const st = await eventually('the refusal counted', async () => {
      const res = await status(a, 'tight');
      return res.body.messages.refused === 5 ? res.body : undefined;
    });
    assert.equal(st.messages.sent, 2);
    // Without its overflowing message the batch fits.
    const fits = await batch(b, 'tight', { messages: [item('s', 1), item('r', 2), item('s', 3)] });
    assert.equal(fits.status, 201, fits.text);
    // A recipient the declaration does not list: 403 naming it, nothing stored.
    const undeclared = assertOpenAIError(
      await batch(a, 'tight', { messages: [item('s', 'ok'), item('stranger', 'no')] }),
      403,
      'agent_not_declared',
    );
    assert.equal(undeclared.param, 'messages.1.to_agent');
    assert.equal((await read(a, 'tight', 's')).body.data.length, 2);
  });

  test('the tenant queued-messages limit refuses a batch it has no room for whole (429)', async () => {
    const a = fleet.router(0);
    await create(a, 'quota', 'r', KEYS.gamma);
    // gamma may queue 5: the seed is 1, so a batch of 5 is refused and one of 4 fits.
    assertOpenAIError(
      await batch(a, 'quota', { messages: [1, 2, 3, 4, 5].map((n) => item('r', n)) }, KEYS.gamma),
      429,
      'tenant_message_limit',
    );
    assert.equal((await read(a, 'quota', 'r', KEYS.gamma)).body.data.length, 1);
    const fits = await batch(a, 'quota', { messages: [1, 2, 3, 4].map((n) => item('r', n)) }, KEYS.gamma);
    assert.equal(fits.status, 201, fits.text);
    assertOpenAIError(
      await batch(a, 'quota', { messages: [item('r', 5)] }, KEYS.gamma),
      429,
      'tenant_message_limit',
    );
  });

  test("an unknown workflow, or another tenant's, is 404 and is not created", async () => {
    const [a, b] = [fleet.router(0), fleet.router(1)];
    assertOpenAIError(await batch(a, 'never-made', { messages: [item('r', 1)] }), 404, 'workflow_not_found');
    assertOpenAIError(await status(b, 'never-made'), 404);
    await create(a, 'alphas', 'r');
    assertOpenAIError(
      await batch(b, 'alphas', { messages: [item('r', 'from beta')] }, KEYS.beta),
      404,
      'workflow_not_found',
    );
    assertOpenAIError(await status(b, 'alphas', KEYS.beta), 404);
    assert.deepEqual(
      (await read(a, 'alphas', 'r')).body.data.map((m) => m.payload),
      [0],
      "nothing reached alpha's inbox",
    );
  });

  // Last: it stops Redis.
  test('while Redis is away a batch is 503 and a stream ends with an error; both work once it is back', async () => {
    const [a, b] = [fleet.router(0), fleet.router(1)];
    await create(a, 'outage', 'r');
    const sse = await openSse(`${base(b, 'outage')}/agents/r/messages/stream`, auth(KEYS.alpha));
    await eventually('the seed on the stream', () =>
      sse.events.some((e) => e.event === 'message') ? true : undefined,
    );
    await redis.kill();
    const refused = await eventually('a batch refused with 503', async () => {
      const res = await batch(a, 'outage', { messages: [item('r', 'lost?')] });
      return res.status === 503 ? res : undefined;
    });
    assertOpenAIError(refused, 503, 'store_unavailable');
    await sse.closed;
    const error = sse.events.at(-1);
    assert.equal(error?.event, 'error');
    assert.equal((JSON.parse(error.data) as { error: { code: string } }).error.code, 'store_unavailable');
    await redis.restart();
    // The Redis of this test keeps nothing across the kill: the workflow is made again.
    const sent = await eventually('a batch accepted after the recovery', async () => {
      if ((await status(a, 'outage')).status === 404) await create(a, 'outage', 'r').catch(() => undefined);
      const res = await batch(a, 'outage', { messages: [item('r', 'after')] });
      return res.status === 201 ? res : undefined;
    });
    const again = await openSse(`${base(b, 'outage')}/agents/r/messages/stream`, {
      ...auth(KEYS.alpha),
      'last-event-id': '0-0',
    });
    const pushed = await eventually('the batch pushed after the recovery', () =>
      again.events.find((e) => e.id === sent.body.data[0]?.id),
    );
    again.stop();
    assert.deepEqual((JSON.parse(pushed.data) as MessageView).payload, 'after');
  });
});
