// Limits and safe defaults (issue 10):
// - per-tenant limits (calls/s, calls in flight, live workflows, queued messages) hold
//   fleet-wide through Redis: two router replicas share one budget; over it, 429 with
//   Retry-After in OpenAI's shape;
// - request limits: header size and count (431), body size (413), headers and body read
//   timeouts (408), connections per replica (503), keep-alive; a stream may outlive the body
//   timeout (it covers receiving the request only);
// - keys: digests only, reloadable, a bad file keeps the keys in use, a bad flag exits 2;
// - safe defaults: no x-powered-by, no user-chosen upstream, bodies out of the logs unless
//   --log-bodies, a message counted delivered once however often it is read.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { makeConfig } from '../../router/config.ts';
import { parseCli } from '../../router/cli.ts';
import { startRouter, type RunningRouter } from '../../router/server.ts';
import { startSimPod, type SimPod } from '../../sim/server.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import {
  assertOpenAIError,
  chatBody,
  FAST_SIM,
  http,
  MODEL,
  sleep,
  startStack,
  status,
  waitFor,
  type Stack,
} from '../helpers/router.ts';
import { rawRequest, spawnRouter, spawnSims, writeKeysFile, sha256Hex } from './helpers.ts';

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('per-tenant limits, fleet-wide through Redis (two replicas)', () => {
  // One tenant per limit, so that one limit never hides another.
  const KEY = {
    rate: 'sk-rate-0123456789',
    conc: 'sk-conc-0123456789',
    acme: 'sk-acme-0123456789',
    other: 'sk-other-0123456789',
  };
  let redis: RedisServer;
  let pod: SimPod;
  let routers: RunningRouter[];
  let keys: { path: string; cleanup: () => void };

  before(async () => {
    redis = await startRedis();
    pod = await startSimPod({ ...FAST_SIM });
    keys = writeKeysFile(
      [
        { key: KEY.rate, tenant: 'rate', role: 'user' },
        { key: KEY.conc, tenant: 'conc', role: 'user' },
        { key: KEY.acme, tenant: 'acme', role: 'user' },
        { key: KEY.other, tenant: 'other', role: 'user' },
      ],
      {
        rate: { calls_per_second: 2 },
        conc: { max_concurrent_calls: 2 },
        acme: { max_workflows: 3, max_queued_messages: 3 },
      },
    );
    const config = makeConfig({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      statsFlushMs: 10,
      staticBackends: [{ id: 'pod-0', url: pod.url, models: [MODEL] }],
      redisUrl: redis.url,
      redisPrefix: 'wr:limits:',
      apiKeysFile: keys.path,
    });
    routers = [await startRouter(config), await startRouter(config)];
  });

  after(async () => {
    for (const r of routers ?? []) await r.close();
    await pod?.close();
    await redis?.stop();
    keys?.cleanup();
  });

  const url = (i: number, path: string): string => `${routers[i % 2]?.url ?? ''}${path}`;

  test('calls per second: one budget for the fleet; 429 with Retry-After', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        http('POST', url(i, '/v1/chat/completions'), chatBody(`rate ${i}`), bearer(KEY.rate)),
      ),
    );
    const elapsed = Date.now() - started;
    const ok = answers.filter((a) => a.status === 200).length;
    // A burst of one second's worth (2), plus one per 500 ms the burst took to arrive.
    assert.ok(
      ok >= 2 && ok <= 2 + Math.ceil(elapsed / 500),
      `${ok} calls admitted of 8 at 2/s in ${elapsed} ms`,
    );
    for (const a of answers.filter((x) => x.status !== 200)) {
      assertOpenAIError(a, 429, 'tenant_rate_limited');
      assert.ok(Number(a.headers.get('retry-after')) >= 1);
    }
    const other = await http(
      'POST',
      url(0, '/v1/chat/completions'),
      chatBody('other tenant'),
      bearer(KEY.other),
    );
    assert.equal(other.status, 200, 'another tenant has its own budget');
  });

  test('calls in flight: two at a time across both replicas; slots free when calls end', async () => {
    pod.setFaults({ extraLatencyMs: 700 });
    try {
      const first = [
        http('POST', url(0, '/v1/chat/completions'), chatBody('slow 0'), bearer(KEY.conc)),
        http('POST', url(1, '/v1/chat/completions'), chatBody('slow 1'), bearer(KEY.conc)),
      ];
      await sleep(300);
      const third = await http('POST', url(0, '/v1/chat/completions'), chatBody('slow 2'), bearer(KEY.conc));
      assertOpenAIError(third, 429, 'tenant_concurrency_limited');
      for (const a of await Promise.all(first)) assert.equal(a.status, 200, a.text);
    } finally {
      pod.setFaults({});
    }
    const after = await http('POST', url(1, '/v1/chat/completions'), chatBody('after'), bearer(KEY.conc));
    assert.equal(after.status, 200, after.text);
  });

  test('live workflows: a fourth is refused, existing ones go on, a delete makes room', async () => {
    const call = (wf: string, i: number) =>
      http(
        'POST',
        url(i, '/v1/chat/completions'),
        { ...chatBody(wf), workflow_metadata: { workflow_id: wf } },
        bearer(KEY.acme),
      );
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(`lim-${i}`, i)).status, 200);
    }
    assertOpenAIError(await call('lim-3', 1), 429, 'tenant_workflow_limit');
    assert.equal((await call('lim-0', 0)).status, 200, 'a known workflow still takes calls');
    assertOpenAIError(
      await http('GET', url(0, '/v1/workflows/lim-3/status'), undefined, bearer(KEY.acme)),
      404,
    );
    assert.equal(
      (await http('DELETE', url(1, '/v1/workflows/lim-1'), undefined, bearer(KEY.acme))).status,
      200,
    );
    await sleep(550);
    assert.equal((await call('lim-3', 0)).status, 200);
  });

  test('queued messages: the tenant total over all inboxes; a deleted workflow frees its share', async () => {
    const send = (i: number, to: string) =>
      http(
        'POST',
        url(i, `/v1/workflows/lim-0/agents/${to}/messages`),
        { from_agent: 'x', payload: i },
        bearer(KEY.acme),
      );
    assert.equal((await send(0, 'a')).status, 201);
    assert.equal((await send(1, 'b')).status, 201);
    assert.equal((await send(0, 'c')).status, 201);
    const refused = await send(1, 'd');
    assertOpenAIError(refused, 429, 'tenant_message_limit');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(
      (await http('DELETE', url(0, '/v1/workflows/lim-0'), undefined, bearer(KEY.acme))).status,
      200,
    );
    assert.equal((await send(1, 'a')).status, 201);
  });
});

describe('request limits', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      pods: 1,
      sim: { timeScale: 1, decodeMsPerToken: 100, batchSlowdown: 0 },
      router: {
        maxHeaderBytes: 2048,
        maxHeaders: 20,
        maxBodyBytes: 4096,
        headersTimeoutMs: 1000,
        bodyTimeoutMs: 1000,
        keepAliveTimeoutMs: 500,
        maxConnections: 30,
      },
    });
  });
  after(() => stack.close());

  const port = (): number => stack.router.port;
  const json = (raw: { body: string }): unknown => JSON.parse(raw.body);

  test('headers over --max-header-bytes and over --max-headers: 431 in OpenAI shape', async () => {
    const big = await rawRequest(
      port(),
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`,
    );
    assert.equal(big.status, 431);
    assert.equal((json(big) as { error: { code: string } }).error.code, 'headers_too_large');
    const many = Array.from({ length: 25 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const count = await rawRequest(
      port(),
      `GET /v1/models HTTP/1.1\r\nHost: x\r\n${many}Connection: close\r\n\r\n`,
    );
    assert.equal(count.status, 431);
    // Past Node's own count limit the parser refuses (headers_too_large); at 21, the router does.
    assert.equal((json(count) as { error: { code: string } }).error.code, 'headers_too_large');
    const one = Array.from({ length: 19 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const justOver = await rawRequest(
      port(),
      `GET /v1/models HTTP/1.1\r\nHost: x\r\n${one}Connection: close\r\n\r\n`,
    );
    assert.equal(justOver.status, 431);
    assert.equal((json(justOver) as { error: { code: string } }).error.code, 'too_many_headers');
  });

  test('a body over --max-body-bytes: 413', async () => {
    const res = await http('POST', `${stack.baseURL}/chat/completions`, chatBody('x'.repeat(5000)));
    assertOpenAIError(res, 413, 'body_too_large');
  });

  test('slow headers and a slow body: 408 at their timeouts', async () => {
    const slowHeaders = await rawRequest(port(), 'GET /v1/models HTTP/1.1\r\nHost: x\r\n', 5000);
    assert.equal(slowHeaders.status, 408);
    assert.equal((json(slowHeaders) as { error: { code: string } }).error.code, 'request_timeout');
    const started = Date.now();
    const slowBody = await rawRequest(
      port(),
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"',
      5000,
    );
    assert.ok([408, 0].includes(slowBody.status), `status ${slowBody.status}`);
    assert.ok(Date.now() - started < 4000);
  });

  test('a stream may last longer than --body-timeout: it covers receiving the request only', async () => {
    const started = Date.now();
    const res = await http('POST', `${stack.baseURL}/chat/completions`, {
      ...chatBody('long', { max_tokens: 25 }),
      stream: true,
    });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started > 1500, 'the stream outlived the 1 s body timeout');
    assert.match(res.text, /data: \[DONE\]/);
  });

  test('idle keep-alive connections close after --keep-alive-timeout; --max-connections answers 503', async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect({ host: '127.0.0.1', port: port() });
            s.on('error', () => undefined);
            s.once('connect', () => resolve(s));
          }),
      ),
    );
    try {
      const over = await rawRequest(port(), 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(over.status, 503);
      assert.equal((json(over) as { error: { code: string } }).error.code, 'too_many_connections');
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitFor(
      async () =>
        (await rawRequest(port(), 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status ===
        200,
      'room again',
    );
    // An idle keep-alive connection is closed by the router after 500 ms.
    const closedAfter = await new Promise<number>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: port() });
      let sentAt = 0;
      s.on('connect', () => {
        sentAt = Date.now();
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      s.on('data', () => undefined);
      s.on('close', () => resolve(Date.now() - sentAt));
    });
    assert.ok(closedAfter >= 400 && closedAfter < 5000, `closed after ${closedAfter} ms`);
  });

  test('no x-powered-by on any answer, and the upstream is never chosen by the request', async () => {
    for (const res of [
      await http('GET', `${stack.baseURL}/models`),
      await http('GET', `${stack.baseURL}/nope`),
      await http('POST', `${stack.baseURL}/chat/completions`, '{bad'),
    ]) {
      assert.equal(res.headers.get('x-powered-by'), null);
    }
    const before = stack.pods[0]?.stats().requests.length ?? 0;
    const body = JSON.stringify(chatBody('absolute form'));
    const absolute = await rawRequest(
      port(),
      `POST http://169.254.169.254/v1/chat/completions HTTP/1.1\r\nHost: 169.254.169.254\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(absolute.status, 200, absolute.body);
    assert.equal(absolute.headers['x-powered-by'], undefined);
    assert.equal(stack.pods[0]?.stats().requests.length, before + 1, 'it went to the pod, nowhere else');
  });
});

describe('keys, messages and logs', () => {
  test('keys: digests only; reload picks up a new file; a bad file keeps the keys in use; a bad flag exits 2', async () => {
    const keys = writeKeysFile([{ key: 'sk-admin-first-0123', tenant: 'ops', role: 'admin' }]);
    const stack = await startStack({ pods: 1, router: { apiKeysFile: keys.path } });
    try {
      const admin = bearer('sk-admin-first-0123');
      assert.equal((await http('GET', `${stack.baseURL}/models`, undefined, admin)).status, 200);
      const config = await http('GET', `${stack.baseURL}/admin/config`, undefined, admin);
      assert.ok(!config.text.includes('sk-admin-first-0123'));
      writeFileSync(
        keys.path,
        `keys:\n  - sha256: ${sha256Hex('sk-admin-first-0123')}\n    tenant: ops\n    role: admin\n  - sha256: sha256:${sha256Hex('sk-new-user-0123').toUpperCase()}\n    tenant: t2\n`,
      );
      assert.equal((await http('POST', `${stack.baseURL}/admin/keys/reload`, undefined, admin)).status, 200);
      const user = await http('GET', `${stack.baseURL}/workflows`, undefined, bearer('sk-new-user-0123'));
      assert.equal(user.status, 200, 'the new key, role user by default');
      assertOpenAIError(
        await http('GET', `${stack.baseURL}/admin/config`, undefined, bearer('sk-new-user-0123')),
        403,
        'admin_required',
      );
      writeFileSync(keys.path, 'keys: [{sha256: nothex, tenant: x}]\n');
      assertOpenAIError(
        await http('POST', `${stack.baseURL}/admin/keys/reload`, undefined, admin),
        422,
        'invalid_keys_file',
      );
      assert.equal(
        (await http('GET', `${stack.baseURL}/models`, undefined, bearer('sk-new-user-0123'))).status,
        200,
        'old keys stay',
      );
      const bad = parseCli([
        '--static-backends',
        'http://127.0.0.1:1',
        '--static-models',
        'm',
        '--api-keys-file',
        keys.path,
      ]);
      assert.equal(bad.kind, 'exit');
      if (bad.kind === 'exit') {
        assert.equal(bad.code, 2);
        assert.match(bad.output, /--api-keys-file/);
      }
    } finally {
      await stack.close();
      keys.cleanup();
    }
  });

  test('a message is counted delivered once, however often it is read', async () => {
    const stack = await startStack({ pods: 1 });
    try {
      const base = `${stack.router.url}/v1/workflows/once/agents/reader/messages`;
      for (let i = 0; i < 3; i++)
        assert.equal((await http('POST', base, { from_agent: 'w', payload: i })).status, 201);
      for (let i = 0; i < 3; i++)
        assert.equal((await http<{ data: unknown[] }>('GET', base)).body.data.length, 3);
      const st = await status(stack, 'once');
      assert.deepEqual(st.body.messages, { sent: 3, delivered: 3, refused: 0 });
    } finally {
      await stack.close();
    }
  });

  test('prompts and message bodies stay out of the logs, even at debug, unless --log-bodies', async () => {
    const SECRET = 'PROMPT-SECRET-5c1d';
    const sims = await spawnSims(1, ['--time-scale', '0']);
    try {
      for (const logBodies of [false, true]) {
        const router = await spawnRouter([
          '--static-backends',
          sims.urls.join(','),
          '--static-models',
          MODEL,
          '--log-level',
          'debug',
          ...(logBodies ? ['--log-bodies'] : []),
        ]);
        try {
          const v1 = `${router.url}/v1`;
          await http('POST', `${v1}/chat/completions`, chatBody(`${SECRET} in a prompt`));
          await http('POST', `${v1}/chat/completions`, { ...chatBody(SECRET), stream: true });
          await http('POST', `${v1}/chat/completions`, `{"model": "${SECRET}", bad json`);
          await http('POST', `${v1}/workflows/w/agents/a/messages`, { from_agent: 'b', payload: SECRET });
          await http('POST', `${v1}/chat/completions`, { ...chatBody(SECRET), max_tokens: 10 ** 9 });
          await sleep(200);
          if (logBodies)
            assert.ok(router.output().includes(SECRET), 'with --log-bodies the bodies are logged');
          else assert.ok(!router.output().includes(SECRET), `a body reached the logs:\n${router.output()}`);
        } finally {
          await router.kill();
        }
      }
    } finally {
      await sims.kill();
    }
  });
});
