// The dashboard's server side: the admin key (HTTP Basic for browsers, bearer for scripts),
// the snapshot (pods, workflows with agents, pin, calls, hit rate and queued messages, latest
// decisions; one tenant's only), the SSE feed (sends only what changed), and the bounded
// per-workflow Prometheus series (--metrics-top-workflows).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { SseParser, WorkflowRouterClient, withWorkflowMetadata } from 'workflow-router/client';
import { DashboardFeeds } from '../../router/dashboard/feed.ts';
import type { DashboardSnapshot } from '../../router/dashboard/snapshot.ts';
import { MODEL, http, metric, parsePrometheus, startStack, waitFor, type Stack } from '../helpers/router.ts';

const ADMIN = 'dashboard-admin-key-1';
const OTHER_ADMIN = 'dashboard-admin-key-2';
const USER = 'dashboard-user-key-01';
const sha = (key: string): string => createHash('sha256').update(key).digest('hex');
const basic = (password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`,
});
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

const document = 'A long shared document that every agent of the workflow reads first. '.repeat(10);

async function agentCall(stack: Stack, key: string, workflowId: string, agentId: string): Promise<void> {
  await stack
    .client({ apiKey: key })
    .chat.completions.create(
      withWorkflowMetadata(
        { model: MODEL, max_tokens: 4, messages: [{ role: 'user' as const, content: document }] },
        { workflowId, agentId },
      ),
    );
}

describe('dashboard behind the admin key', () => {
  let stack: Stack;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wr-dashboard-'));
    const keysFile = join(dir, 'keys.yaml');
    writeFileSync(
      keysFile,
      [
        'keys:',
        `  - { sha256: ${sha(ADMIN)}, tenant: acme, role: admin }`,
        `  - { sha256: ${sha(OTHER_ADMIN)}, tenant: globex, role: admin }`,
        `  - { sha256: ${sha(USER)}, tenant: acme, role: user }`,
        '',
      ].join('\n'),
    );
    stack = await startStack({ pods: 2, router: { apiKeysFile: keysFile } });
  });
  after(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no key: 401 with a Basic challenge; a user key: 403; an admin key by Basic or bearer: the page', async () => {
    const page = `${stack.router.url}/dashboard`;
    const anonymous = await http('GET', page);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await http('GET', page, undefined, basic('wrong-key-00000'))).status, 401);
    const user = await http<{ error: { code: string } }>('GET', page, undefined, basic(USER));
    assert.equal(user.status, 403);
    assert.equal(user.body.error.code, 'admin_required');
    for (const headers of [basic(ADMIN), bearer(ADMIN)]) {
      const ok = await http('GET', page, undefined, headers);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(ok.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.match(ok.text, /<script src="\/dashboard\/dashboard.js" defer><\/script>/);
    }
    for (const asset of ['dashboard.js', 'dashboard.css']) {
      assert.equal((await http('GET', `${page}/${asset}`, undefined, basic(ADMIN))).status, 200);
      assert.equal((await http('GET', `${page}/${asset}`)).status, 401);
    }
    assert.equal((await http('POST', page, {}, bearer(ADMIN))).status, 405);
  });

  test('the snapshot: pods, the tenant’s workflows with agents, pin, calls, hit rate and queued messages, decisions', async () => {
    await agentCall(stack, ADMIN, 'dash-wf', 'reader');
    await agentCall(stack, ADMIN, 'dash-wf', 'critic');
    await agentCall(stack, OTHER_ADMIN, 'globex-wf', 'spy');
    const acme = new WorkflowRouterClient({ baseURL: stack.router.url, apiKey: ADMIN });
    await acme.sendMessage('dash-wf', 'critic', { fromAgent: 'reader', payload: 'over to you' });
    await acme.sendMessage('dash-wf', 'critic', { fromAgent: 'reader', payload: 'and this' });

    const res = await http<DashboardSnapshot>(
      'GET',
      `${stack.router.url}/dashboard/snapshot`,
      undefined,
      bearer(ADMIN),
    );
    assert.equal(res.status, 200);
    const snap = res.body;
    assert.equal(snap.routing_logic, 'workflow_aware');
    assert.equal(snap.pods.length, 2);
    for (const pod of snap.pods) {
      assert.equal(pod.healthy, true);
      assert.equal(typeof pod.kv_usage, 'number');
      assert.equal(typeof pod.inflight, 'number');
    }
    assert.deepEqual(
      snap.workflows.map((w) => w.workflow_id),
      ['dash-wf'],
      'only the caller’s tenant',
    );
    const wf = snap.workflows[0]!;
    assert.equal(wf.calls, 2);
    assert.deepEqual(
      wf.agents.map((a) => [a.name, a.calls]),
      [
        ['critic', 1],
        ['reader', 1],
      ],
    );
    assert.ok(wf.pinned_pod);
    // Pins per pod are the fleet's (every tenant's), like /v1/workflows/stats.
    assert.ok((snap.pods.find((p) => p.id === wf.pinned_pod)?.pinned_workflows ?? 0) >= 1);
    assert.ok(wf.cache_hit_rate > 0);
    assert.equal(wf.queued_messages, 2);
    assert.equal(snap.totals?.calls, 2);
    assert.deepEqual(
      snap.decisions.map((d) => [d.workflow_id, d.agent_id, d.placement, d.outcome]),
      [
        ['dash-wf', 'critic', 'pinned', 'ok'],
        ['dash-wf', 'reader', 'new', 'ok'],
      ],
    );
    assert.equal(snap.decisions[0]?.pod, wf.pinned_pod);
    assert.ok((snap.decisions[0]?.cached_tokens ?? 0) > 0);
  });

  test('the feed streams snapshots as server-sent events and a call shows up in the next one', async () => {
    const abort = new AbortController();
    const res = await fetch(`${stack.router.url}/dashboard/feed`, {
      headers: basic(ADMIN),
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const next = async (): Promise<DashboardSnapshot> => {
      for (;;) {
        const { value, done } = await reader.read();
        assert.ok(!done, 'the feed ended');
        const [event] = parser.push(decoder.decode(value, { stream: true }));
        if (event?.event === 'snapshot') return JSON.parse(event.data) as DashboardSnapshot;
      }
    };
    try {
      const first = await next();
      const calls = first.workflows.find((w) => w.workflow_id === 'dash-wf')?.calls ?? 0;
      await agentCall(stack, ADMIN, 'dash-wf', 'writer');
      let snap = await next();
      while ((snap.workflows.find((w) => w.workflow_id === 'dash-wf')?.calls ?? 0) === calls)
        snap = await next();
      const wf = snap.workflows.find((w) => w.workflow_id === 'dash-wf')!;
      assert.equal(wf.calls, calls + 1);
      assert.ok(wf.agents.some((a) => a.name === 'writer'));
      assert.equal(parser.reconnectMs, 2000);
    } finally {
      abort.abort();
    }
  });
});

describe('dashboard feed', () => {
  test('builds once per interval for every open page and sends a snapshot only when it changed', async () => {
    let builds = 0;
    let version = 1;
    const draining = new AbortController();
    const feeds = new DashboardFeeds(
      (tenant) => {
        builds += 1;
        return Promise.resolve({ tenant, version } as unknown as DashboardSnapshot);
      },
      draining.signal,
      20,
    );
    const app = express();
    app.get('/feed', (req, res) => feeds.subscribe('t', req, res));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;
    const open = async (): Promise<{ events: string[]; done: Promise<void> }> => {
      const res = await fetch(url);
      const events: string[] = [];
      const parser = new SseParser();
      const decoder = new TextDecoder();
      const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
      const done = (async () => {
        for (;;) {
          const { value, done: ended } = await reader.read();
          if (ended) return;
          for (const e of parser.push(decoder.decode(value, { stream: true }))) events.push(e.data);
        }
      })();
      return { events, done };
    };
    try {
      const a = await open();
      const b = await open();
      const until = async (check: () => boolean): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (!check()) {
          assert.ok(Date.now() < deadline, 'timed out');
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(() => a.events.length === 1 && b.events.length === 1);
      const seen = builds;
      await until(() => builds >= seen + 5);
      assert.equal(a.events.length, 1, 'unchanged snapshots are not resent');
      assert.equal(feeds.subscribers, 2);
      version = 2;
      await until(() => a.events.length === 2 && b.events.length === 2);
      assert.deepEqual(JSON.parse(a.events[1]!), { tenant: 't', version: 2 });
      // Draining ends every stream.
      draining.abort();
      await Promise.all([a.done, b.done]);
      assert.equal(feeds.subscribers, 0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('per-workflow metrics are bounded', () => {
  test('--metrics-top-workflows N keeps N series per family, the most recently active; 0 turns them off', async () => {
    for (const top of [2, 0]) {
      const stack = await startStack({ pods: 1, router: { metricsTopWorkflows: top } });
      try {
        for (const id of ['m-1', 'm-2', 'm-3', 'm-4']) {
          await stack
            .client()
            .chat.completions.create(
              withWorkflowMetadata(
                { model: MODEL, max_tokens: 2, messages: [{ role: 'user' as const, content: 'hi' }] },
                { workflowId: id, agentId: 'a' },
              ),
            );
          await new Promise((r) => setTimeout(r, 5)); // distinct last-activity times
        }
        // Statistics reach the store in batches: scrape until the last call is counted.
        const scrape = async () => parsePrometheus((await http('GET', `${stack.router.url}/metrics`)).text);
        let { samples, types } = await scrape();
        if (top > 0) {
          await waitFor(async () => {
            ({ samples, types } = await scrape());
            return metric(samples, 'workflow_router_workflow_calls', { workflow: 'm-4' }) === 1;
          }, 'm-4 counted');
        }
        for (const family of [
          'workflow_router_workflow_cache_hit_ratio',
          'workflow_router_workflow_calls',
          'workflow_router_workflow_queued_messages',
        ]) {
          const series = samples.filter((s) => s.name === family);
          if (top === 0) {
            assert.equal(types.has(family), false, family);
            continue;
          }
          assert.deepEqual(series.map((s) => s.labels.workflow).sort(), ['m-3', 'm-4'], family);
        }
      } finally {
        await stack.close();
      }
    }
  });
});
