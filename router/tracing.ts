/**
 * OpenTelemetry tracing of LLM calls (`--otel-endpoint`, off by default): one span per call
 * with the GenAI semantic conventions (model, token usage, time to first chunk) and the routing
 * decision (logic, workflow, agent, pod, pinned or spilled, cache hit). The client's W3C
 * `traceparent` is the span's parent, and the pod receives the router's span as its parent, so
 * the client's trace id reaches the pod.
 *
 * Every call also yields a `CallSummary` whether tracing is on or not: the dashboard's feed of
 * latest routing decisions is built from it.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import {
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { WorkflowKey } from '../core/ids.ts';
import type { CallUsage } from '../core/store/records.ts';
import type { RouterConfig } from './config.ts';
import type { Endpoint } from './prompt.ts';
import type { PlacedCall } from './routing-service.ts';

/** Attribute names: GenAI semantic conventions (development status) and the router's own. */
export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  requestId: 'workflow_router.request_id',
  logic: 'workflow_router.routing.logic',
  profile: 'workflow_router.routing.profile',
  candidates: 'workflow_router.routing.candidates',
  placement: 'workflow_router.routing.placement',
  pinned: 'workflow_router.routing.pinned',
  spilled: 'workflow_router.routing.spilled',
  prefixChunks: 'workflow_router.routing.prefix_match_chunks',
  attempts: 'workflow_router.routing.attempts',
  pod: 'workflow_router.pod',
  workflowId: 'workflow_router.workflow.id',
  agentId: 'workflow_router.agent.id',
  tenant: 'workflow_router.tenant',
  streaming: 'workflow_router.stream',
  outcome: 'workflow_router.outcome',
  cacheHit: 'workflow_router.cache.hit',
  cacheHitRatio: 'workflow_router.cache.hit_ratio',
} as const;

/** The facts of a call the tracer needs; completions.ts's call record has this shape. */
export interface TracedCall {
  endpoint: Endpoint;
  model: string;
  streaming: boolean;
  key: WorkflowKey | undefined;
  metadata: { agentId: string | undefined } | undefined;
  /** performance.now() when the router received the call. */
  startedAt: number;
}

/** One routing decision and how the call went: an entry of the dashboard's decision feed. */
export interface CallSummary {
  /** Epoch ms when the call ended. */
  at: number;
  requestId: string;
  tenant: string;
  workflowId: string | null;
  agentId: string | null;
  model: string;
  logic: string;
  pod: string | null;
  /** new / pinned / spill / migration for pinning workflows, unpinned otherwise; null when not placed. */
  placement: string | null;
  outcome: string;
  durationMs: number;
  ttftMs: number | null;
  promptTokens: number | null;
  cachedTokens: number | null;
  /** The trace the call belongs to (the client's when it sent `traceparent`). */
  traceId: string | null;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads W3C Trace Context (`traceparent`, `tracestate`) into a remote span context; undefined
 * when absent or invalid (version ff, all-zero ids, extra fields on version 00), as the spec says.
 */
export function parseTraceparent(
  traceparent: string | undefined,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const context: SpanContext = {
    traceId: traceId as string,
    spanId: spanId as string,
    traceFlags: parseInt(flags as string, 16) & 1,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(context) ? context : undefined;
}

/** The `traceparent` header naming `context` as the parent. */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function podAddress(url: string): Attributes {
  try {
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    return { [ATTR.serverAddress]: parsed.hostname, [ATTR.serverPort]: port };
  } catch {
    return {};
  }
}

/** The OTLP/HTTP traces URL for `--otel-endpoint`: a base URL gets `/v1/traces` appended. */
export function otlpTracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/** Spans for one router replica; a tracer provider of its own, never the global one. */
export class RouterTracing {
  private readonly provider: TracerProvider | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly logic: string;

  private constructor(logic: string, provider: TracerProvider | undefined) {
    this.logic = logic;
    this.provider = provider;
    this.tracer = provider?.getTracer('workflow-router');
  }

  /**
   * Tracing per the config: OTLP/HTTP export to `--otel-endpoint` in batches, or to `exporter`
   * span by span (tests). Neither: off, and calls only produce summaries.
   */
  static create(config: RouterConfig, exporter?: SpanExporter): RouterTracing {
    const processor = exporter
      ? new SimpleSpanProcessor({ exporter })
      : config.otelEndpoint
        ? new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: otlpTracesUrl(config.otelEndpoint) }),
          })
        : undefined;
    if (!processor) return new RouterTracing(config.routingLogic, undefined);
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.otelServiceName }),
      spanProcessors: [processor],
    });
    return new RouterTracing(config.routingLogic, provider);
  }

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /** Starts following one call; `headers` are the client's (for its `traceparent`). */
  startCall(headers: IncomingHttpHeaders, call: TracedCall, requestId: string, tenant: string): CallTrace {
    const remote = parseTraceparent(firstHeader(headers.traceparent), firstHeader(headers.tracestate));
    let span: Span | undefined;
    if (this.tracer) {
      const parent: Context = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
      const operation = call.endpoint === 'chat' ? 'chat' : 'text_completion';
      const attributes: Attributes = {
        [ATTR.operationName]: operation,
        [ATTR.providerName]: 'vllm',
        [ATTR.requestModel]: call.model,
        [ATTR.requestId]: requestId,
        [ATTR.logic]: this.logic,
        [ATTR.streaming]: call.streaming,
        [ATTR.tenant]: tenant,
      };
      if (call.key) attributes[ATTR.workflowId] = call.key.id;
      if (call.metadata?.agentId) attributes[ATTR.agentId] = call.metadata.agentId;
      span = this.tracer.startSpan(
        `${operation} ${call.model}`,
        { kind: SpanKind.SERVER, attributes, startTime: performance.timeOrigin + call.startedAt },
        parent,
      );
    }
    return new CallTrace(span, call, requestId, tenant, this.logic, remote?.traceId);
  }

  /** Exports what is buffered and stops. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** One call being followed: collects the routing decision, first token and usage. */
export class CallTrace {
  private readonly span: Span | undefined;
  private readonly call: TracedCall;
  private readonly requestId: string;
  private readonly tenant: string;
  private readonly logic: string;
  private readonly traceId: string | undefined;
  private placedCall: PlacedCall | undefined;
  private attempts = 0;
  private ttftMs: number | undefined;

  constructor(
    span: Span | undefined,
    call: TracedCall,
    requestId: string,
    tenant: string,
    logic: string,
    remoteTraceId: string | undefined,
  ) {
    this.span = span;
    this.call = call;
    this.requestId = requestId;
    this.tenant = tenant;
    this.logic = logic;
    this.traceId = span?.spanContext().traceId ?? remoteTraceId;
  }

  /**
   * Makes the router's span the pod's parent. Without a span the client's `traceparent` is
   * already among the forwarded headers and goes through unchanged.
   */
  inject(headers: OutgoingHttpHeaders): void {
    if (this.span) headers.traceparent = formatTraceparent(this.span.spanContext());
  }

  /** The scheduler placed the call (again, on a retry). */
  placed(placed: PlacedCall): void {
    this.placedCall = placed;
    this.attempts += 1;
    if (!this.span) return;
    if (this.attempts > 1) this.span.addEvent('retry', { [ATTR.pod]: placed.pod.id });
    this.span.setAttributes({
      [ATTR.pod]: placed.pod.id,
      [ATTR.placement]: placed.kind,
      [ATTR.pinned]: placed.kind === 'pinned',
      [ATTR.spilled]: placed.kind === 'spill',
      [ATTR.profile]: placed.decision.profile,
      [ATTR.candidates]: placed.decision.candidates,
      [ATTR.prefixChunks]: placed.matchedChunks,
      [ATTR.attempts]: this.attempts,
      ...podAddress(placed.pod.url),
    });
  }

  /** The pod's first response byte reached the client. */
  firstToken(): void {
    if (this.ttftMs !== undefined) return;
    this.ttftMs = performance.now() - this.call.startedAt;
    if (this.span && this.call.streaming) {
      this.span.setAttribute(ATTR.timeToFirstChunk, this.ttftMs / 1000);
    }
  }

  /** Ends the span and returns the call's summary for the decision feed. */
  end(outcome: string, usage: CallUsage | undefined): CallSummary {
    const durationMs = performance.now() - this.call.startedAt;
    if (this.span) {
      this.span.setAttribute(ATTR.outcome, outcome);
      if (usage) {
        this.span.setAttributes({
          [ATTR.inputTokens]: usage.promptTokens,
          [ATTR.outputTokens]: usage.completionTokens,
          [ATTR.cacheReadTokens]: usage.cachedTokens,
          [ATTR.cacheHit]: usage.cachedTokens > 0,
          [ATTR.cacheHitRatio]: usage.promptTokens > 0 ? usage.cachedTokens / usage.promptTokens : 0,
        });
      }
      if (outcome !== 'ok') {
        this.span.setAttribute(ATTR.errorType, outcome);
        this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      }
      this.span.end(performance.timeOrigin + this.call.startedAt + durationMs);
    }
    return {
      at: Date.now(),
      requestId: this.requestId,
      tenant: this.tenant,
      workflowId: this.call.key?.id ?? null,
      agentId: this.call.metadata?.agentId ?? null,
      model: this.call.model,
      logic: this.logic,
      pod: this.placedCall?.pod.id ?? null,
      placement: this.placedCall?.kind ?? null,
      outcome,
      durationMs: Math.round(durationMs * 10) / 10,
      ttftMs: this.ttftMs === undefined ? null : Math.round(this.ttftMs * 10) / 10,
      promptTokens: usage?.promptTokens ?? null,
      cachedTokens: usage?.cachedTokens ?? null,
      traceId: this.traceId ?? null,
    };
  }
}
