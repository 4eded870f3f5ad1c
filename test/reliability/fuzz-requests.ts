// The request generators of the fuzz suite: every route of the router, with ids, query
// strings, headers, methods and bodies from the plausible to the broken, plus raw HTTP that no
// client library would send (malformed request lines, chunked and truncated bodies, oversized
// or too many headers).

import fc from 'fast-check';
import { MODEL } from '../helpers/router.ts';

export type Auth = 'user' | 'admin' | 'wrong' | 'malformed' | 'none';

export interface HttpCase {
  kind: 'http';
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  auth: Auth;
}

export interface RawCase {
  kind: 'raw';
  /** What the bytes are, for the report. */
  shape: string;
  bytes: string;
  /** The client ends its side after the bytes (a truncated body then cannot be answered). */
  halfClose: boolean;
  auth: Auth;
}

export type FuzzCase = HttpCase | RawCase;

const validId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,15}$/);
/** A small id space, so generated calls, messages and deletes meet the same workflows. */
const knownId = fc.constantFrom('wf-1', 'wf-2', 'wf-3', 'agent-a', 'agent-b');
const oddId = fc.constantFrom(
  '..',
  '.',
  '%2e%2e',
  '%2F',
  'a%2Fb',
  '%00',
  '%E0%A4%A',
  'a'.repeat(200),
  '-x',
  '%7Bwf%7D',
  '{x}',
  'w%20f',
  '%C3%A9',
);
const anyId = fc.oneof(
  { weight: 4, arbitrary: knownId },
  { weight: 3, arbitrary: validId },
  { weight: 1, arbitrary: fc.string({ maxLength: 16 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: oddId },
);
/** Ids as JSON values in bodies: not only strings. */
const idValue = fc.oneof(
  { weight: 5, arbitrary: knownId },
  { weight: 2, arbitrary: validId },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(''), fc.boolean()) },
);

const path = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/v1/chat/completions') },
  { weight: 3, arbitrary: fc.constant('/v1/completions') },
  { weight: 1, arbitrary: fc.constantFrom('/v1/models', '/v1/workflows', '/v1/workflows/stats') },
  { weight: 2, arbitrary: anyId.map((id) => `/v1/workflows/${id}`) },
  { weight: 2, arbitrary: anyId.map((id) => `/v1/workflows/${id}/status`) },
  { weight: 2, arbitrary: anyId.map((id) => `/v1/workflows/${id}/messages`) },
  { weight: 1, arbitrary: anyId.map((id) => `/v1/workflows/${id}/messages/batch`) },
  { weight: 5, arbitrary: fc.tuple(anyId, anyId).map(([w, a]) => `/v1/workflows/${w}/agents/${a}/messages`) },
  {
    weight: 1,
    arbitrary: fc.tuple(anyId, anyId).map(([w, a]) => `/v1/workflows/${w}/agents/${a}/messages/stream`),
  },
  { weight: 1, arbitrary: fc.constantFrom('/v1/admin/config', '/v1/admin/keys/reload') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/healthz',
      '/readyz',
      '/metrics',
      '/dashboard',
      '/dashboard/snapshot',
      '/dashboard/feed',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/V1/CHAT/COMPLETIONS',
      '/v1/chat/completions/',
      '//v1/models',
      '/v1/../v1/models',
      '/v1/workflows//status',
      '/v1/',
      '/',
      '/favicon.ico',
      '/v1/embeddings',
      '/v1/chat/completions%00',
    ),
  },
  { weight: 1, arbitrary: fc.webPath() },
);

const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '5',
    '20',
    '-1',
    '1e9',
    'abc',
    '',
    '1000',
    '1001',
    '60001',
    '1-0',
    '99999999999999-0',
    'alpha',
    'beta',
    'true',
  ),
  fc.string({ maxLength: 10 }),
);
const query = fc.option(
  fc
    .dictionary(
      fc.constantFrom('after', 'limit', 'wait_ms', 'tenant', 'stream', 'x', 'after[]', 'limit[]'),
      queryValue,
      {
        maxKeys: 3,
      },
    )
    .map(
      (q) =>
        `?${Object.entries(q)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&')}`,
    ),
  { freq: 2 },
);

/** Mostly valid (a plain text message), sometimes not. */
const message = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      role: fc.constantFrom('user', 'system', 'assistant'),
      content: fc.string({ maxLength: 40 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'x'),
        content: fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constant(''),
          fc.array(
            fc.record({ type: fc.constantFrom('text', 'image_url'), text: fc.string({ maxLength: 10 }) }),
          ),
          fc.constant(null),
          fc.integer(),
        ),
      },
      { requiredKeys: [] },
    ),
  },
);

/** A valid value mostly (weight 5), an invalid one sometimes. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: invalid });

const metadata = fc.record(
  {
    workflow_id: idValue,
    agent_id: idValue,
    workflow_priority: mostly(
      fc.integer({ min: 0, max: 100 }),
      fc.oneof(fc.integer({ min: -10, max: 200 }), fc.double(), fc.string({ maxLength: 4 })),
    ),
    context_sharing: mostly(fc.constantFrom('auto', 'broadcast', 'selective', 'none'), fc.constant('bogus')),
    context_from: mostly(
      fc.array(knownId, { maxLength: 3 }),
      fc.oneof(fc.array(idValue, { maxLength: 3 }), fc.string({ maxLength: 5 })),
    ),
  },
  { requiredKeys: [] },
);

const maxTokens = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1e9, 0.5, '4', null) },
);

/** Mostly valid chat bodies with a field or two off. */
const chatBody = fc.record(
  {
    model: fc.oneof(
      { weight: 8, arbitrary: fc.constant(MODEL) },
      { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()) },
    ),
    messages: fc.oneof(
      { weight: 8, arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }) },
      { weight: 1, arbitrary: fc.oneof(fc.constant([]), fc.string(), fc.constant(null)) },
    ),
    max_tokens: maxTokens,
    stream: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constant('yes') }),
    stream_options: mostly(
      fc.record({ include_usage: fc.boolean() }),
      fc.oneof(fc.constant(null), fc.string()),
    ),
    temperature: mostly(fc.double({ min: 0, max: 2, noNaN: true }), fc.string({ maxLength: 3 })),
    n: mostly(fc.constant(1), fc.constantFrom(2, 0, -1)),
    workflow_metadata: mostly(metadata, fc.oneof(fc.constant(null), fc.string({ maxLength: 5 }))),
    stop: fc.oneof(fc.string({ maxLength: 3 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 })),
  },
  { requiredKeys: ['model', 'messages', 'max_tokens'] },
);

const completionBody = fc.record(
  {
    model: fc.oneof(
      { weight: 8, arbitrary: fc.constant(MODEL) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    ),
    prompt: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      fc.array(fc.integer({ min: -5, max: 100 }), { maxLength: 5 }),
      fc.constant(null),
    ),
    max_tokens: maxTokens,
    stream: fc.boolean(),
    echo: fc.boolean(),
    workflow_metadata: fc.oneof(metadata, fc.constant(null)),
  },
  { requiredKeys: ['model', 'prompt', 'max_tokens'] },
);

const messageBody = fc.record(
  {
    from_agent: idValue,
    payload: fc.jsonValue({ maxDepth: 3 }),
    ttl_seconds: fc.oneof(fc.integer({ min: -5, max: 700_000 }), fc.string({ maxLength: 3 })),
    extra: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: ['from_agent', 'payload'] },
);

/** A batch: mostly valid-looking messages with a recipient, sometimes not even a list. */
const batchBody = fc.record(
  {
    messages: fc.oneof(
      fc.array(
        fc.tuple(messageBody, idValue).map(([m, to]) => ({ ...m, to_agent: to })),
        { maxLength: 5 },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    extra: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: ['messages'] },
);

const specBody = fc.record(
  {
    agents: fc.array(
      fc.record({ name: idValue, contextFrom: fc.array(idValue, { maxLength: 2 }) }, { requiredKeys: [] }),
      {
        maxLength: 3,
      },
    ),
    contextSharing: fc.constantFrom('auto', 'broadcast', 'selective', 'none', 'x'),
    context_sharing: fc.constantFrom('auto', 'none'),
    ttlSeconds: fc.oneof(fc.integer({ min: -1, max: 100_000 }), fc.string({ maxLength: 3 })),
    priority: fc.oneof(fc.integer({ min: -1, max: 101 }), fc.double()),
    maxMessageQueueSize: fc.integer({ min: -1, max: 10_000 }),
  },
  { requiredKeys: [] },
);

const adminBody = fc.record(
  {
    log_level: fc.constantFrom('error', 'warn', 'verbose'),
    log_bodies: fc.oneof(fc.boolean(), fc.string({ maxLength: 3 })),
  },
  { requiredKeys: [] },
);

const jsonBody = fc.oneof(
  { weight: 5, arbitrary: chatBody },
  { weight: 2, arbitrary: completionBody },
  { weight: 3, arbitrary: messageBody },
  { weight: 1, arbitrary: batchBody },
  { weight: 1, arbitrary: specBody },
  { weight: 1, arbitrary: adminBody },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** The body as sent: JSON mostly; sometimes cut, not JSON at all, empty, or over --max-body-bytes. */
const body = fc.oneof(
  { weight: 12, arbitrary: jsonBody.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.tuple(jsonBody, fc.nat()).map(([v, n]) => JSON.stringify(v).slice(0, n % 40)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'null', '[]', '{}', '"x"', '{"model":', '\u0000', '{"a":1}{"b":2}'),
  },
  {
    weight: 1,
    arbitrary: fc.constant(
      `{"model":"${MODEL}","messages":[{"role":"user","content":"${'x'.repeat(70_000)}"}]}`,
    ),
  },
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      'APPLICATION/JSON',
      '*/*',
    ),
  },
);

const headerToken = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim());

const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'x-workflow-id',
      'x-agent-id',
      'x-workflow-priority',
      'x-context-sharing',
      'x-context-from',
      'x-request-id',
      'x-user-id',
      'accept',
      'accept-encoding',
      'content-encoding',
      'last-event-id',
      'x-forwarded-for',
      'origin',
    ),
    headerToken,
  ),
  headerValue,
  { maxKeys: 4 },
);

const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Auth>('user') },
  { weight: 2, arbitrary: fc.constant<Auth>('admin') },
  { weight: 1, arbitrary: fc.constantFrom<Auth>('wrong', 'malformed', 'none') },
);

const method = fc.oneof(
  { weight: 10, arbitrary: fc.constant('POST') },
  { weight: 5, arbitrary: fc.constant('GET') },
  { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH') },
  { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'CONNECT') },
);

/** A route with the method and body it expects, so most requests get past validation. */
const route: fc.Arbitrary<{ method: string; path: string; body: fc.Arbitrary<unknown> | undefined }> =
  fc.oneof(
    { weight: 10, arbitrary: fc.constant({ method: 'POST', path: '/v1/chat/completions', body: chatBody }) },
    { weight: 4, arbitrary: fc.constant({ method: 'POST', path: '/v1/completions', body: completionBody }) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('/v1/models', '/v1/workflows', '/v1/workflows/stats', '/v1/admin/config')
        .map((p) => ({ method: 'GET', path: p, body: undefined })),
    },
    { weight: 1, arbitrary: fc.constant({ method: 'PATCH', path: '/v1/admin/config', body: adminBody }) },
    { weight: 1, arbitrary: fc.constant({ method: 'POST', path: '/v1/admin/keys/reload', body: undefined }) },
    {
      weight: 2,
      arbitrary: anyId.map((id) => ({ method: 'PUT', path: `/v1/workflows/${id}`, body: specBody })),
    },
    {
      weight: 1,
      arbitrary: anyId.map((id) => ({ method: 'DELETE', path: `/v1/workflows/${id}`, body: undefined })),
    },
    {
      weight: 2,
      arbitrary: anyId.map((id) => ({ method: 'GET', path: `/v1/workflows/${id}/status`, body: undefined })),
    },
    {
      weight: 2,
      arbitrary: anyId.map((id) => ({
        method: 'POST',
        path: `/v1/workflows/${id}/messages`,
        body: messageBody,
      })),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(anyId, anyId).map(([w, a]) => ({
        method: 'POST',
        path: `/v1/workflows/${w}/agents/${a}/messages`,
        body: messageBody,
      })),
    },
    {
      weight: 2,
      arbitrary: anyId.map((id) => ({
        method: 'POST',
        path: `/v1/workflows/${id}/messages/batch`,
        body: batchBody,
      })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(anyId, anyId).map(([w, a]) => ({
        method: 'GET',
        path: `/v1/workflows/${w}/agents/${a}/messages`,
        body: undefined,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(anyId, anyId).map(([w, a]) => ({
        method: 'GET',
        path: `/v1/workflows/${w}/agents/${a}/messages/stream`,
        body: undefined,
      })),
    },
    { weight: 3, arbitrary: path.map((p) => ({ method: 'GET', path: p, body: undefined })) },
  );

const httpCase: fc.Arbitrary<HttpCase> = fc
  .record({
    route,
    // Mostly the route's own method and body; sometimes any other.
    otherMethod: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: method }),
    otherBody: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: body }),
    query,
    headers: extraHeaders,
    contentType,
    auth,
  })
  .chain((c) =>
    (c.route.body ?? fc.constant(undefined)).map((routeBody) => {
      const headers: Record<string, string> = { ...c.headers };
      const method = c.otherMethod ?? c.route.method;
      const text = c.otherBody ?? (routeBody === undefined ? undefined : JSON.stringify(routeBody));
      if (text !== undefined) headers['content-type'] = c.contentType;
      // CONNECT takes an authority, not a path: node:http would open a tunnel.
      return {
        kind: 'http' as const,
        method: method === 'CONNECT' ? 'GET' : method,
        path: `${c.route.path}${c.query ?? ''}`,
        headers,
        body: text,
        auth: c.auth,
      };
    }),
  );

const rawPath = fc.oneof(
  path,
  fc.constantFrom('/v1/ chat', '/v1/\u00e9', '*', 'http://evil.example/v1/models', '/v1/workflows/%'),
);

/** A valid chat body split into chunks at random places. */
const chunked = fc
  .tuple(chatBody, fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 6 }))
  .map(([b, cuts]) => {
    const text = JSON.stringify(b);
    const parts: string[] = [];
    let at = 0;
    for (const cut of cuts) {
      if (at >= text.length) break;
      parts.push(text.slice(at, at + cut));
      at += cut;
    }
    if (at < text.length) parts.push(text.slice(at));
    const encoded = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('');
    return `${encoded}0\r\n\r\n`;
  });

const rawCase: fc.Arbitrary<RawCase> = fc.oneof(
  fc.tuple(fc.string({ maxLength: 40 }), auth).map(([line, a]) => ({
    kind: 'raw' as const,
    shape: 'garbage',
    bytes: `${line}\r\n\r\n`,
    halfClose: false,
    auth: a,
  })),
  fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'G E T', 'BREW', 'get', ''),
      rawPath,
      fc.constantFrom('1.1', '1.0', '2.0', '9.9', '1.1 extra'),
      auth,
    )
    .map(([m, p, v, a]) => ({
      kind: 'raw' as const,
      shape: 'request line',
      bytes: `${m} ${p} HTTP/${v}\r\nHost: x\r\nConnection: close\r\n\r\n`,
      halfClose: false,
      auth: a,
    })),
  fc.tuple(chunked, auth).map(([b, a]) => ({
    kind: 'raw' as const,
    shape: 'chunked',
    bytes: `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${b}`,
    halfClose: false,
    auth: a,
  })),
  fc
    .tuple(
      fc.constantFrom(
        'zz\r\nabc\r\n0\r\n\r\n',
        '5\r\nabc\r\n0\r\n\r\n',
        '3\r\nabcdef',
        '-1\r\n\r\n',
        '3;x=y\r\nabc\r\n0\r\n\r\n',
      ),
      auth,
    )
    .map(([b, a]) => ({
      kind: 'raw' as const,
      shape: 'bad chunks',
      bytes: `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${b}`,
      halfClose: true,
      auth: a,
    })),
  fc.tuple(jsonBody, fc.nat(), auth).map(([b, n, a]) => {
    const text = JSON.stringify(b);
    const sent = text.slice(0, n % Math.max(1, text.length));
    return {
      kind: 'raw' as const,
      shape: 'truncated body',
      bytes: `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${sent}`,
      halfClose: true,
      auth: a,
    };
  }),
  fc
    .tuple(
      fc.constantFrom(
        `X-Big: ${'a'.repeat(20_000)}\r\n`,
        Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join(''),
        'X-\u0001: y\r\n',
        'Content-Length: 5\r\nContent-Length: 7\r\n',
        'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n',
        'Content-Length: -1\r\n',
        'Content-Length: abc\r\n',
        ' leading: space\r\n',
        'NoColon\r\n',
        'Transfer-Encoding: gzip\r\n',
      ),
      auth,
    )
    .map(([h, a]) => ({
      kind: 'raw' as const,
      shape: 'bad headers',
      bytes: `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${h}Content-Type: application/json\r\nConnection: close\r\n\r\n{}`,
      halfClose: false,
      auth: a,
    })),
  fc
    .tuple(
      fc.constantFrom(
        'GET /v1/models HTTP/1.0\r\n\r\n',
        'GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n',
      ),
      auth,
    )
    .map(([b, a]) => ({
      kind: 'raw' as const,
      shape: 'no host',
      bytes: b,
      halfClose: false,
      auth: a,
    })),
);

/** One generated request: mostly well-formed HTTP through a client, some raw bytes. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 9, arbitrary: httpCase },
  { weight: 1, arbitrary: rawCase },
);
