// OpenTelemetry tracing (--otel-endpoint): a span per call with the GenAI attributes and the
// routing decision, parented on the client's traceparent, and the pod receiving the client's
// trace id. Spans are read from an in-memory exporter; one test runs the real OTLP/HTTP export
// against a local collector stub. Tracing off: no spans, the client's traceparent unchanged.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import OpenAI from 'openai';
import { workflowHeaders } from 'workflow-router/client';
import { parseCli } from '../../router/cli.ts';
import { makeConfig } from '../../router/config.ts';
import { startRouter } from '../../router/server.ts';
import { ATTR, formatTraceparent, otlpTracesUrl, parseTraceparent } from '../../router/tracing.ts';
import { startSimPod, type SimPod } from '../../sim/server.ts';
import { FAST_SIM, MODEL, startStack, type Stack } from '../helpers/router.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

describe('W3C trace context', () => {
  test('valid headers parse; invalid ones are ignored, as the spec says', () => {
    const ctx = parseTraceparent(TRACEPARENT, 'vendor=abc');
    assert.ok(ctx);
    assert.equal(ctx?.traceId, TRACE_ID);
    assert.equal(ctx?.spanId, CLIENT_SPAN);
    assert.equal(ctx?.traceFlags, 1);
    assert.equal(ctx?.isRemote, true);
    assert.equal(ctx?.traceState?.get('vendor'), 'abc');
    assert.equal(formatTraceparent(ctx), TRACEPARENT);
    // A future version may append fields; version 00 may not.
    assert.ok(parseTraceparent(`01-${TRACE_ID}-${CLIENT_SPAN}-01-extra`));
    for (const bad of [
      undefined,
      '',
      `ff-${TRACE_ID}-${CLIENT_SPAN}-01`,
      `00-${TRACE_ID}-${CLIENT_SPAN}-01-extra`,
      `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.slice(1)}-${CLIENT_SPAN}-01`,
      `00-${TRACE_ID}-${CLIENT_SPAN}-1`,
    ]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
    assert.equal(otlpTracesUrl('http://otel:4318'), 'http://otel:4318/v1/traces');
    assert.equal(otlpTracesUrl('http://otel:4318/v1/traces/'), 'http://otel:4318/v1/traces');
  });

  test('--otel-endpoint and --otel-service-name are flags; tracing is off by default', () => {
    const base = ['--static-backends', 'http://127.0.0.1:9', '--static-models', MODEL];
    const off = parseCli(base);
    assert.ok(off.kind === 'run');
    assert.equal(off.config.otelEndpoint, undefined);
    const on = parseCli([...base, '--otel-endpoint', 'http://otel:4318', '--otel-service-name', 'wr-a']);
    assert.ok(on.kind === 'run');
    assert.equal(on.config.otelEndpoint, 'http://otel:4318');
    assert.equal(on.config.otelServiceName, 'wr-a');
    const bad = parseCli([...base, '--otel-endpoint', 'otel:4318']);
    assert.ok(bad.kind === 'exit');
    assert.equal(bad.code, 2);
    assert.match(bad.output, /--otel-endpoint/);
  });
});

function attr(span: ReadableSpan, name: string): unknown {
  return span.attributes[name];
}

describe('spans of routed calls', () => {
  let pods: SimPod[];
  let exporter: InMemorySpanExporter;
  let router: Awaited<ReturnType<typeof startRouter>>;
  let client: OpenAI;
  before(async () => {
    pods = [await startSimPod({ ...FAST_SIM, index: 0 }), await startSimPod({ ...FAST_SIM, index: 1 })];
    exporter = new InMemorySpanExporter();
    router = await startRouter(
      makeConfig({
        host: '127.0.0.1',
        port: 0,
        logLevel: 'error',
        healthCheckIntervalMs: 500,
        statsFlushMs: 10,
        staticBackends: pods.map((p, i) => ({ id: `pod-${i}`, url: p.url, models: [MODEL] })),
      }),
      { spanExporter: exporter },
    );
    client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await router.close();
    await Promise.all(pods.map((p) => p.close()));
  });

  const document = 'The shared document of the workflow, long enough to fill several KV blocks. '.repeat(12);

  test('a span per call: GenAI attributes, the routing decision, the client as parent, the router as the pod’s parent', async () => {
    exporter.reset();
    const headers = { traceparent: TRACEPARENT, tracestate: 'vendor=abc' };
    for (const agent of ['reader', 'critic']) {
      await client.chat.completions.create(
        { model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: document }] },
        { headers: { ...headers, ...workflowHeaders({ workflowId: 'traced-1', agentId: agent }) } },
      );
    }
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    const [first, second] = spans as [ReadableSpan, ReadableSpan];
    for (const span of spans) {
      assert.equal(span.name, `chat ${MODEL}`);
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.spanContext().traceId, TRACE_ID);
      assert.equal(span.parentSpanContext?.spanId, CLIENT_SPAN);
      assert.equal(attr(span, ATTR.operationName), 'chat');
      assert.equal(attr(span, ATTR.requestModel), MODEL);
      assert.equal(attr(span, ATTR.logic), 'workflow_aware');
      assert.equal(attr(span, ATTR.workflowId), 'traced-1');
      assert.equal(attr(span, ATTR.outcome), 'ok');
      assert.equal(typeof attr(span, ATTR.inputTokens), 'number');
      assert.equal(attr(span, ATTR.outputTokens), 4);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
      assert.ok(span.resource.attributes['service.name'] === 'workflow-router');
    }
    assert.equal(attr(first, ATTR.agentId), 'reader');
    assert.equal(attr(second, ATTR.agentId), 'critic');
    // First call pins, second goes to the pin and hits the cached document.
    assert.equal(attr(first, ATTR.placement), 'new');
    assert.equal(attr(first, ATTR.pinned), false);
    assert.equal(attr(second, ATTR.placement), 'pinned');
    assert.equal(attr(second, ATTR.pinned), true);
    assert.equal(attr(second, ATTR.spilled), false);
    assert.equal(attr(second, ATTR.pod), attr(first, ATTR.pod));
    assert.equal(attr(first, ATTR.cacheHit), false);
    assert.equal(attr(second, ATTR.cacheHit), true);
    assert.ok((attr(second, ATTR.cacheReadTokens) as number) > 0);
    // The pod saw the client's trace id, with the router's span as the parent.
    const podIndex = Number(String(attr(first, ATTR.pod)).slice('pod-'.length));
    const records = pods[podIndex]!.stats().requests;
    assert.equal(records.length, 2);
    for (const [i, record] of records.entries()) {
      assert.equal(record.headers.traceparent, `00-${TRACE_ID}-${spans[i]!.spanContext().spanId}-01`);
    }
    assert.equal(attr(first, ATTR.serverAddress), '127.0.0.1');
    assert.equal(attr(first, ATTR.serverPort), pods[podIndex]!.port);
  });

  test('a streamed call records its time to first chunk; a call without traceparent starts a trace', async () => {
    exporter.reset();
    const stream = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 8,
      stream: true,
      messages: [{ role: 'user', content: 'stream me' }],
    });
    for await (const _ of stream) {
      // drain
    }
    const [span] = exporter.getFinishedSpans();
    assert.ok(span);
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(attr(span, ATTR.streaming), true);
    assert.equal(attr(span, ATTR.placement), 'unpinned');
    const ttft = attr(span, ATTR.timeToFirstChunk);
    assert.equal(typeof ttft, 'number');
    assert.ok((ttft as number) > 0);
    const durationSeconds = span.duration[0] + span.duration[1] / 1e9;
    assert.ok((ttft as number) <= durationSeconds, `${String(ttft)} <= ${durationSeconds}`);
    // The summary the dashboard shows carries the same trace id.
    const [decision] = router.core.decisions.latest('default', 1);
    assert.equal(decision?.traceId, span.spanContext().traceId);
  });

  test('a failed call is an error span naming its outcome', async () => {
    exporter.reset();
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    );
    const [span] = exporter.getFinishedSpans();
    assert.ok(span);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(attr(span, ATTR.errorType), attr(span, ATTR.outcome));
    assert.notEqual(attr(span, ATTR.outcome), 'ok');
  });
});

describe('tracing off (the default) and OTLP export on', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ pods: 1 });
  });
  after(() => stack.close());

  test('off: no tracer, and the pod receives the client’s traceparent unchanged', async () => {
    assert.equal(stack.router.core.tracing.enabled, false);
    await stack.client({ headers: { traceparent: TRACEPARENT } }).chat.completions.create({
      model: MODEL,
      max_tokens: 2,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const [record] = stack.pods[0]!.stats().requests;
    assert.equal(record?.headers.traceparent, TRACEPARENT);
  });

  test('--otel-endpoint: spans reach an OTLP/HTTP collector when the router closes', async () => {
    const bodies: { type: string | undefined; body: string }[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push({ type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const router = await startRouter(
        makeConfig({
          host: '127.0.0.1',
          port: 0,
          logLevel: 'error',
          staticBackends: [{ id: 'pod-0', url: stack.pods[0]!.url, models: [MODEL] }],
          otelEndpoint: `http://127.0.0.1:${port}`,
          otelServiceName: 'router-under-test',
        }),
      );
      const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'x', maxRetries: 0 });
      await client.chat.completions.create(
        { model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'exported' }] },
        { headers: { traceparent: TRACEPARENT, ...workflowHeaders({ workflowId: 'otlp-1', agentId: 'a' }) } },
      );
      await router.close();
      assert.equal(bodies.length, 1);
      assert.match(bodies[0]!.type ?? '', /json/);
      const text = bodies[0]!.body;
      for (const expected of [
        'router-under-test',
        `chat ${MODEL}`,
        TRACE_ID,
        ATTR.placement,
        ATTR.cacheReadTokens,
        'otlp-1',
      ]) {
        assert.ok(text.includes(expected), `the export names ${expected}`);
      }
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
