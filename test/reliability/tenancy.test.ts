// Tenancy (issue 10): a table of every route, tried with another tenant's key, no key, a wrong
// key and a user key on admin routes. Tenant alpha first builds up state (calls of named
// agents, a declaration, messages with secret payloads); then tenant beta, anonymous and
// wrong-key callers go through the table. Nothing of alpha's may appear in any answer they get
// (ids, agent names, payloads, prompts, counters), alpha's state must be exactly as before,
// every refusal is in OpenAI's error shape, and another tenant's workflow is a 404, never a 403.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertOpenAIError,
  chatBody,
  http,
  MODEL,
  startStack,
  type HttpAnswer,
  type Stack,
} from '../helpers/router.ts';
import { isOpenAIError, rawRequest, writeKeysFile } from './helpers.ts';

const KEYS = {
  alpha: 'sk-alpha-user-0123456789',
  beta: 'sk-beta-user-0123456789',
  ops: 'sk-ops-admin-0123456789',
  wrong: 'sk-nobody-0123456789',
};

/** Strings only tenant alpha ever sent: none may reach another caller. */
const SECRETS = [
  'wf-alpha-only',
  'alpha-agent-planner',
  'alpha-agent-writer',
  'ALPHA-PAYLOAD-7f3a',
  'ALPHA-PROMPT-91c2',
];
const WF = 'wf-alpha-only';

interface Route {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  /** Admin keys only: a user key is 403. */
  admin?: boolean;
  /** What another tenant's user key gets on alpha's id. */
  otherTenant: number | 'admin-only';
  /** Open by design (probes, metrics): no key needed. */
  open?: boolean;
}

/**
 * Every route. The order matters for another tenant's key: first the probes of alpha's ids
 * (beta has nothing yet, so a workflow of that id cannot exist for beta), then the writes,
 * which land in beta's own namespace (a call creates beta's workflow of the same id).
 */
const ROUTES: Route[] = [
  { name: 'models', method: 'GET', path: '/v1/models', otherTenant: 200 },
  { name: 'list workflows', method: 'GET', path: '/v1/workflows', otherTenant: 200 },
  {
    name: "list another tenant's workflows",
    method: 'GET',
    path: '/v1/workflows?tenant=alpha',
    otherTenant: 403,
  },
  { name: 'stats', method: 'GET', path: '/v1/workflows/stats', otherTenant: 200 },
  {
    name: "another tenant's stats",
    method: 'GET',
    path: '/v1/workflows/stats?tenant=alpha',
    otherTenant: 403,
  },
  { name: 'status', method: 'GET', path: `/v1/workflows/${WF}/status`, otherTenant: 404 },
  {
    name: 'status naming the tenant',
    method: 'GET',
    path: `/v1/workflows/${WF}/status?tenant=alpha`,
    otherTenant: 403,
  },
  { name: 'delete', method: 'DELETE', path: `/v1/workflows/${WF}`, otherTenant: 404 },
  {
    name: 'delete naming the tenant',
    method: 'DELETE',
    path: `/v1/workflows/${WF}?tenant=alpha`,
    otherTenant: 403,
  },
  // A batch never creates a workflow: to beta, alpha's does not exist.
  {
    name: 'batch send',
    method: 'POST',
    path: `/v1/workflows/${WF}/messages/batch`,
    body: { messages: [{ to_agent: 'alpha-agent-writer', from_agent: 'beta-agent', payload: 'beta batch' }] },
    otherTenant: 404,
  },
  { name: 'runtime config', method: 'GET', path: '/v1/admin/config', admin: true, otherTenant: 'admin-only' },
  {
    name: 'change runtime config',
    method: 'PATCH',
    path: '/v1/admin/config',
    body: { log_level: 'error' },
    admin: true,
    otherTenant: 'admin-only',
  },
  {
    name: 'reload keys',
    method: 'POST',
    path: '/v1/admin/keys/reload',
    admin: true,
    otherTenant: 'admin-only',
  },
  { name: 'dashboard', method: 'GET', path: '/dashboard', admin: true, otherTenant: 'admin-only' },
  {
    name: 'dashboard snapshot',
    method: 'GET',
    path: '/dashboard/snapshot',
    admin: true,
    otherTenant: 'admin-only',
  },
  { name: 'metrics', method: 'GET', path: '/metrics', open: true, otherTenant: 200 },
  { name: 'healthz', method: 'GET', path: '/healthz', open: true, otherTenant: 200 },
  { name: 'readyz', method: 'GET', path: '/readyz', open: true, otherTenant: 200 },
  // Writes: into beta's own workflow of the same id.
  {
    name: 'chat completion',
    method: 'POST',
    path: '/v1/chat/completions',
    body: { ...chatBody('beta asks'), workflow_metadata: { workflow_id: WF, agent_id: 'beta-agent' } },
    otherTenant: 200,
  },
  {
    name: 'completion',
    method: 'POST',
    path: '/v1/completions',
    body: { model: MODEL, prompt: 'beta asks', max_tokens: 4, workflow_metadata: { workflow_id: WF } },
    otherTenant: 200,
  },
  {
    name: 'declare',
    method: 'PUT',
    path: `/v1/workflows/${WF}`,
    body: { agents: [{ name: 'beta-agent' }] },
    otherTenant: 200,
  },
  // Beta's declaration lists only beta-agent: alpha's agent names are not agents of beta's workflow.
  {
    name: 'send to an agent',
    method: 'POST',
    path: `/v1/workflows/${WF}/agents/alpha-agent-writer/messages`,
    body: { from_agent: 'beta-agent', payload: 'beta says hi' },
    otherTenant: 403,
  },
  {
    name: 'broadcast',
    method: 'POST',
    path: `/v1/workflows/${WF}/messages`,
    body: { from_agent: 'beta-agent', payload: 'beta to all' },
    otherTenant: 404,
  },
  {
    name: 'read an inbox',
    method: 'GET',
    path: `/v1/workflows/${WF}/agents/alpha-agent-writer/messages`,
    otherTenant: 403,
  },
  {
    name: 'inbox stream',
    method: 'GET',
    path: `/v1/workflows/${WF}/agents/alpha-agent-writer/messages/stream`,
    otherTenant: 403,
  },
];

function auth(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { authorization: `Bearer ${key}` };
}

/** None of alpha's strings in an answer, except what the caller itself sent (an error may echo it). */
function assertNoSecrets(label: string, route: Route, answer: { text: string }): void {
  const asked = `${route.path} ${JSON.stringify(route.body ?? '')}`;
  for (const secret of SECRETS) {
    if (asked.includes(secret)) continue;
    assert.ok(!answer.text.includes(secret), `${label}: "${secret}" leaked in ${answer.text.slice(0, 400)}`);
  }
}

describe('tenancy: every route against another tenant, no key, a wrong key, a user key on admin routes', () => {
  let stack: Stack;
  let keys: { path: string; cleanup: () => void };
  let alphaBefore: string;

  const call = (route: Route, key: string | undefined): Promise<HttpAnswer> => {
    if (route.path.endsWith('/stream')) return streamOnce(route.path, key);
    return http(route.method, `${stack.router.url}${route.path}`, route.body, auth(key));
  };

  /** An inbox stream: its first bytes (or its refusal), then hang up. */
  const streamOnce = async (path: string, key: string | undefined): Promise<HttpAnswer> => {
    const res = await rawRequest(
      stack.router.port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}Connection: close\r\n\r\n`,
      1500,
    ).catch(() => ({ status: 200, headers: {}, body: '', cut: true }));
    let body: unknown = res.body;
    try {
      body = JSON.parse(res.body) as unknown;
    } catch {
      // An event stream, not JSON.
    }
    return { status: res.status, headers: new Headers(res.headers), body, text: res.body };
  };

  const alphaState = async (): Promise<string> => {
    const status = await http(
      'GET',
      `${stack.router.url}/v1/workflows/${WF}/status`,
      undefined,
      auth(KEYS.alpha),
    );
    const inbox = await http(
      'GET',
      `${stack.router.url}/v1/workflows/${WF}/agents/alpha-agent-writer/messages`,
      undefined,
      auth(KEYS.alpha),
    );
    const s = status.body as Record<string, unknown>;
    // Activity times move with alpha's own reads; everything else must stay put.
    delete s.last_active_at;
    delete s.expires_at;
    delete s.phase;
    for (const agent of Object.values((s.agents ?? {}) as Record<string, Record<string, unknown>>))
      delete agent.last_seen_at;
    return JSON.stringify({ status: s, inbox: (inbox.body as { data: unknown }).data });
  };

  before(async () => {
    keys = writeKeysFile([
      { key: KEYS.alpha, tenant: 'alpha', role: 'user' },
      { key: KEYS.beta, tenant: 'beta', role: 'user' },
      { key: KEYS.ops, tenant: 'ops', role: 'admin' },
    ]);
    stack = await startStack({ pods: 2, router: { apiKeysFile: keys.path, metricsTopWorkflows: 20 } });
    const a = auth(KEYS.alpha);
    const url = stack.router.url;
    const put = await http(
      'PUT',
      `${url}/v1/workflows/${WF}`,
      { agents: [{ name: 'alpha-agent-planner' }, { name: 'alpha-agent-writer' }] },
      a,
    );
    assert.equal(put.status, 201, put.text);
    for (const agent of ['alpha-agent-planner', 'alpha-agent-writer']) {
      const res = await http(
        'POST',
        `${url}/v1/chat/completions`,
        {
          ...chatBody(`ALPHA-PROMPT-91c2 from ${agent}`),
          workflow_metadata: { workflow_id: WF, agent_id: agent },
        },
        a,
      );
      assert.equal(res.status, 200, res.text);
    }
    for (let i = 0; i < 3; i++) {
      const res = await http(
        'POST',
        `${url}/v1/workflows/${WF}/agents/alpha-agent-writer/messages`,
        {
          from_agent: 'alpha-agent-planner',
          payload: { note: `ALPHA-PAYLOAD-7f3a ${i}` },
        },
        a,
      );
      assert.equal(res.status, 201, res.text);
    }
    // Reading the inbox counts its messages delivered once: read it, then take the snapshot.
    await alphaState();
    alphaBefore = await alphaState();
    assert.match(alphaBefore, /ALPHA-PAYLOAD-7f3a/);
  });

  after(async () => {
    await stack?.close();
    keys?.cleanup();
  });

  test('no key: 401 on every /v1 and dashboard route, in OpenAI shape', async () => {
    for (const route of ROUTES) {
      const res = await call(route, undefined);
      if (route.open) {
        assert.equal(res.status, 200, route.name);
      } else {
        assertOpenAIError(res, 401, 'missing_api_key');
      }
      assertNoSecrets(`${route.name} (no key)`, route, res);
    }
  });

  test('a wrong key: 401 on every /v1 and dashboard route', async () => {
    for (const route of ROUTES) {
      const res = await call(route, KEYS.wrong);
      if (route.open) assert.equal(res.status, 200, route.name);
      else assertOpenAIError(res, 401, 'invalid_api_key');
      assertNoSecrets(`${route.name} (wrong key)`, route, res);
    }
  });

  test("another tenant's key: alpha's workflows do not exist for beta, admin routes are 403", async () => {
    for (const route of ROUTES) {
      const res = await call(route, KEYS.beta);
      const expected = route.otherTenant === 'admin-only' ? 403 : route.otherTenant;
      assert.equal(res.status, expected, `${route.name}: ${res.text.slice(0, 300)}`);
      if (expected >= 400) {
        assert.ok(isOpenAIError(res.body), `${route.name}: ${res.text}`);
        if (expected === 403) {
          assert.ok(
            ['admin_required', 'agent_not_declared'].includes(
              (res.body as { error: { code: string } }).error.code,
            ),
            `${route.name}: ${res.text}`,
          );
        }
      }
      assertNoSecrets(`${route.name} (beta)`, route, res);
    }
    // Beta's own calls and declaration made a workflow of the same id in beta's namespace.
    const own = await http<{ data: { workflow_id: string; agents: Record<string, unknown> }[] }>(
      'GET',
      `${stack.router.url}/v1/workflows`,
      undefined,
      auth(KEYS.beta),
    );
    assert.deepEqual(
      own.body.data.map((w) => w.workflow_id),
      [WF],
    );
    assert.deepEqual(Object.keys(own.body.data[0]?.agents ?? {}), ['beta-agent']);
    const stats = await http<Record<string, unknown>>(
      'GET',
      `${stack.router.url}/v1/workflows/stats`,
      undefined,
      auth(KEYS.beta),
    );
    assert.equal(stats.body.scope, 'tenant');
    assert.equal(stats.body.pods, undefined, 'pod addresses are for admins');
    assert.equal(stats.body.calls, 2, "beta's own two calls only");
  });

  test("alpha's state is exactly as before beta's attempts", async () => {
    assert.equal(await alphaState(), alphaBefore);
  });

  test('the per-workflow metrics name workflows to admin keys only', async () => {
    const anonymous = await http('GET', `${stack.router.url}/metrics`);
    const user = await http('GET', `${stack.router.url}/metrics`, undefined, auth(KEYS.beta));
    const admin = await http('GET', `${stack.router.url}/metrics`, undefined, auth(KEYS.ops));
    assert.ok(!anonymous.text.includes(WF) && !user.text.includes(WF));
    assert.match(anonymous.text, /workflow_router_requests_total/);
    assert.ok(admin.text.includes(`workflow="${WF}"`), 'admins see the per-workflow series');
  });

  test("an admin key may list, read and delete another tenant's workflow; a user key may not", async () => {
    const ops = auth(KEYS.ops);
    const url = stack.router.url;
    const list = await http<{ data: { workflow_id: string }[] }>(
      'GET',
      `${url}/v1/workflows?tenant=alpha`,
      undefined,
      ops,
    );
    assert.deepEqual(
      list.body.data.map((w) => w.workflow_id),
      [WF],
    );
    const fleet = await http<Record<string, unknown>>('GET', `${url}/v1/workflows/stats`, undefined, ops);
    assert.equal(fleet.body.scope, 'fleet');
    assert.ok(Array.isArray(fleet.body.pods));
    assertOpenAIError(
      await http('DELETE', `${url}/v1/workflows/${WF}?tenant=alpha`, undefined, auth(KEYS.beta)),
      403,
      'admin_required',
    );
    const config = await http<Record<string, unknown>>('GET', `${url}/v1/admin/config`, undefined, ops);
    assert.equal(config.status, 200);
    assert.ok(
      !config.text.includes(KEYS.ops) && !config.text.includes(KEYS.alpha),
      'no key in the config view',
    );
    const del = await http('DELETE', `${url}/v1/workflows/${WF}?tenant=alpha`, undefined, ops);
    assert.equal(del.status, 200, del.text);
    assertOpenAIError(
      await http('GET', `${url}/v1/workflows/${WF}/status`, undefined, auth(KEYS.alpha)),
      404,
    );
    // Beta's workflow of the same id is untouched.
    assert.equal(
      (await http('GET', `${url}/v1/workflows/${WF}/status`, undefined, auth(KEYS.beta))).status,
      200,
    );
  });
});
