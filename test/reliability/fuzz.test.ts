// Property-based fuzzing of every route (issue 10): 20,000 generated requests per run (bodies,
// headers, ids, query strings, methods, chunked and truncated bodies, raw malformed HTTP) against
// a router process with API keys and tenant limits on. Properties: no 5xx, the router never
// crashes, every error is in OpenAI's shape with no stack trace or internal address, and a good
// call still works afterwards. The seed is printed; FUZZ_SEED=<seed> replays a run, and
// fast-check shrinks a failing batch to the request that breaks the property.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { MODEL } from '../helpers/router.ts';
import { fuzzCase, type Auth, type FuzzCase } from './fuzz-requests.ts';
import {
  isOpenAIError,
  rawRequest,
  spawnRouter,
  spawnSims,
  writeKeysFile,
  type RouterProc,
  type SimProc,
} from './helpers.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const BATCH = 50;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

const KEYS: Record<Exclude<Auth, 'none' | 'malformed'>, string> = {
  user: 'sk-fuzz-user-0123456789',
  admin: 'sk-fuzz-admin-0123456789',
  wrong: 'sk-fuzz-wrong-0123456789',
};

interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The connection closed without a (whole) response. */
  cut: boolean;
}

function authHeader(auth: Auth): string | undefined {
  if (auth === 'none') return undefined;
  if (auth === 'malformed') return 'Bearer';
  return `Bearer ${KEYS[auth]}`;
}

/** Endless streams (inbox push, dashboard feed): read a little, then hang up. */
const ENDLESS = /\/messages\/stream|\/dashboard\/feed/;

function sendHttp(agent: http.Agent, port: number, c: Extract<FuzzCase, { kind: 'http' }>): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...c.headers };
    const authorization = authHeader(c.auth);
    if (authorization !== undefined) headers.authorization = authorization;
    // node:http frames a GET or DELETE body only with an explicit length (else the body would
    // reach the server as the next request).
    if (c.body !== undefined) headers['content-length'] = String(Buffer.byteLength(c.body));
    let req: http.ClientRequest;
    try {
      req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent });
    } catch (error) {
      // node:http refused to send it (an invalid header or path): not a request the router saw.
      resolve({ status: -1, contentType: '', text: String(error), cut: false });
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ status: -2, contentType: '', text: 'no answer in 15 s', cut: true });
    }, 15_000);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const contentType = String(res.headers['content-type'] ?? '');
      const endless = ENDLESS.test(c.path) && contentType.startsWith('text/event-stream');
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (endless) res.destroy();
      });
      const done = (cut: boolean): void => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          contentType,
          text: Buffer.concat(chunks).toString('utf8'),
          cut,
        });
      };
      res.on('end', () => done(false));
      res.on('close', () => done(!res.complete && !endless));
      if (endless) setTimeout(() => res.destroy(), 300);
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 0, contentType: '', text: String(error), cut: true });
    });
    req.end(c.body);
  });
}

async function sendRaw(port: number, c: Extract<FuzzCase, { kind: 'raw' }>): Promise<Answer> {
  const authorization = authHeader(c.auth);
  const bytes =
    authorization === undefined || !c.bytes.includes('\r\n')
      ? c.bytes
      : c.bytes.replace('\r\n', `\r\nAuthorization: ${authorization}\r\n`);
  try {
    const answer = await rawRequest(port, bytes, 10_000, { halfClose: c.halfClose });
    return {
      status: answer.status,
      contentType: answer.headers['content-type'] ?? '',
      text: answer.body,
      cut: answer.cut,
    };
  } catch (error) {
    return { status: -2, contentType: '', text: String(error), cut: true };
  }
}

describe(`fuzzing every route: ${REQUESTS} generated requests (seed ${SEED})`, () => {
  let sims: SimProc;
  let router: RouterProc;
  let keys: { path: string; cleanup: () => void };
  const counts = new Map<string, number>();

  before(async () => {
    console.log(
      `fuzz seed ${SEED}; replay with FUZZ_SEED=${SEED} node scripts/run-tests.ts test reliability/fuzz`,
    );
    keys = writeKeysFile(
      [
        { key: KEYS.user, tenant: 'fuzz', role: 'user' },
        { key: KEYS.admin, tenant: 'ops', role: 'admin' },
      ],
      {
        fuzz: {
          calls_per_second: 100_000,
          max_concurrent_calls: 10_000,
          max_workflows: 100_000,
          max_queued_messages: 100_000,
        },
      },
    );
    sims = await spawnSims(2, ['--time-scale', '0', '--max-num-seqs', '1024']);
    router = await spawnRouter([
      '--static-backends',
      sims.urls.join(','),
      '--static-models',
      MODEL,
      '--api-keys-file',
      keys.path,
      '--max-body-bytes',
      '65536',
      '--headers-timeout',
      '2',
      '--body-timeout',
      '2',
      '--max-message-queue-size',
      '50',
      '--log-level',
      'error',
    ]);
  });

  after(async () => {
    await router?.kill();
    await sims?.kill();
    keys?.cleanup();
  });

  test('no 5xx, no crash, every error in OpenAI shape, nothing internal in any answer', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
    const internal = [...sims.urls, ...sims.urls.map((u) => u.replace('http://', ''))];
    let sent = 0;
    const started = Date.now();
    const check = (c: FuzzCase, a: Answer): void => {
      const label = c.kind === 'http' ? `${c.method} ${c.path}` : `raw ${c.shape}`;
      counts.set(String(a.status), (counts.get(String(a.status)) ?? 0) + 1);
      if (a.status === -1) return;
      assert.notEqual(a.status, -2, `${label}: ${a.text}`);
      assert.ok(router.child.exitCode === null, `the router exited after ${label}:\n${router.output()}`);
      assert.ok(a.status < 500, `${label} answered ${a.status}: ${a.text.slice(0, 300)}`);
      if (a.status === 0) {
        // Only a request the client itself cut short may go unanswered.
        assert.ok(c.kind === 'raw' && c.halfClose, `${label}: no answer (${a.text.slice(0, 200)})`);
        return;
      }
      assert.doesNotMatch(
        a.text,
        /\n\s+at .+:\d+:\d+|node:internal|\/work\/|\.ts:\d+/,
        `${label}: a stack trace`,
      );
      const admin =
        c.auth === 'admin' &&
        /\/v1\/(workflows\/stats|admin\/config)|\/dashboard/.test(c.kind === 'http' ? c.path : c.bytes);
      if (!admin)
        for (const address of internal) assert.ok(!a.text.includes(address), `${label}: internal address`);
      const head = c.kind === 'http' && c.method === 'HEAD';
      if (a.status >= 400 && !head) {
        let body: unknown;
        try {
          body = JSON.parse(a.text) as unknown;
        } catch {
          assert.fail(`${label} answered ${a.status} without JSON: ${a.text.slice(0, 200)}`);
        }
        assert.ok(
          isOpenAIError(body),
          `${label} answered ${a.status} outside OpenAI's shape: ${a.text.slice(0, 300)}`,
        );
      }
    };
    let failing: { c: FuzzCase; error: unknown } | undefined;
    const result = await fc.check(
      fc.asyncProperty(fc.array(fuzzCase, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const answers = await Promise.all(
          batch.map((c) => (c.kind === 'http' ? sendHttp(agent, router.port, c) : sendRaw(router.port, c))),
        );
        sent += batch.length;
        batch.forEach((c, i) => {
          try {
            check(c, answers[i] as Answer);
          } catch (error) {
            failing ??= { c, error };
            throw error;
          }
        });
      }),
      { numRuns: REQUESTS / BATCH, seed: SEED, endOnFailure: true },
    );
    if (result.failed) {
      // The one request that broke the property, not the whole batch (bodies can be 70 KB).
      const shown = JSON.stringify(failing?.c, (_k, v: unknown) =>
        typeof v === 'string' && v.length > 500 ? `${v.slice(0, 500)}... (${v.length} chars)` : v,
      );
      assert.fail(
        `fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), run ${result.numRuns}, path ${result.counterexamplePath ?? ''}:\n` +
          `${String(failing?.error ?? result.errorInstance)}\nrequest: ${shown}`,
      );
    }
    agent.destroy();
    const seconds = (Date.now() - started) / 1000;
    const statuses = [...counts]
      .sort()
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    console.log(
      `fuzz: ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), statuses ${statuses}`,
    );
    assert.ok(sent >= REQUESTS);
    assert.equal(router.child.exitCode, null, 'the router is still running');
  });

  test('a good call still works afterwards, streamed and not', async () => {
    const url = `${router.url}/v1/chat/completions`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEYS.user}` };
    const body = { model: MODEL, messages: [{ role: 'user', content: 'still there?' }], max_tokens: 4 };
    const plain = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    assert.equal(plain.status, 200, await plain.clone().text());
    const json = (await plain.json()) as { choices: { message: { content: string } }[] };
    assert.ok(json.choices[0]?.message.content);
    const streamed = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...body, stream: true }),
    });
    assert.equal(streamed.status, 200);
    assert.match(await streamed.text(), /data: \[DONE\]/);
    const ready = await fetch(`${router.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});
