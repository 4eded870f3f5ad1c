import type { OutgoingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import { badRequest } from '../../core/errors.ts';
import { isStoreUnavailable } from '../../core/store/errors.ts';
import type { WorkflowKey } from '../../core/ids.ts';
import { readWorkflowMetadata, WORKFLOW_HEADERS, type WorkflowMetadata } from '../../core/metadata.ts';
import type { ContextEntry, WorkflowRecord } from '../../core/store/records.ts';
import { pins, sharesContext, type ContextSharing } from '../../core/strategy.ts';
import { declaredContextFrom } from '../../core/workflow-spec.ts';
import type { Pod } from '../pods/pod.ts';
import { CHUNK_CHARS, chunkHashes } from '../prefix-index.ts';
import { estimateTokens, promptText, type Endpoint } from '../prompt.ts';
import { ResponseTap } from '../proxy/response-tap.ts';
import { judgeAttempt } from '../proxy/upstream-failures.ts';
import type { PlacedCall } from '../routing-service.ts';
import type { RouterCore } from '../router-core.ts';
import { WorkflowService } from '../workflows/workflow-service.ts';
import { prependContext, selectEntries } from '../workflows/shared-context.ts';
import { callerOf } from './auth.ts';
import { requestIdOf } from './request-id.ts';

/** Everything known about a call once its body and metadata are read. */
interface Call {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  model: string;
  streaming: boolean;
  metadata: WorkflowMetadata | undefined;
  key: WorkflowKey | undefined;
  record: WorkflowRecord | undefined;
  strategy: ContextSharing;
  priority: number;
  startedAt: number;
  /** The shared store could not be read: route by rendezvous hash, skip context sharing. */
  degraded: boolean;
}

const DROPPED_HEADERS = new Set<string>([
  ...Object.values(WORKFLOW_HEADERS),
  'authorization',
  'host',
  'cookie',
]);

/** POST /v1/chat/completions and /v1/completions: the request path of DESIGN section 3. */
export function completionsHandler(core: RouterCore, endpoint: Endpoint) {
  return async (req: Request, res: Response): Promise<void> => {
    const startedAt = performance.now();
    const call = await readCall(core, req, endpoint, startedAt);
    await proxyCall(core, req, res, call);
  };
}

function requireBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      'the request body must be a JSON object (Content-Type: application/json)',
      undefined,
      'invalid_body',
    );
  }
  return body as Record<string, unknown>;
}

async function readCall(
  core: RouterCore,
  req: Request,
  endpoint: Endpoint,
  startedAt: number,
): Promise<Call> {
  const body = requireBody(req);
  const model = body.model;
  if (typeof model !== 'string' || model === '')
    throw badRequest('`model` is required and must be a string', 'model');
  if (endpoint === 'chat' && (!Array.isArray(body.messages) || body.messages.length === 0)) {
    throw badRequest('`messages` must be a non-empty array', 'messages');
  }
  if (endpoint === 'completions' && typeof body.prompt !== 'string' && !Array.isArray(body.prompt)) {
    throw badRequest('`prompt` is required: a string or an array of strings', 'prompt');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    throw badRequest('`stream` must be a boolean', 'stream');
  const parsed = readWorkflowMetadata(body, req.headers);
  if (!parsed.ok) throw badRequest(parsed.message, parsed.param, 'invalid_workflow_metadata');
  const metadata = parsed.metadata;
  const call: Call = {
    endpoint,
    body,
    model,
    streaming: body.stream === true,
    metadata,
    key: undefined,
    record: undefined,
    strategy: 'none',
    priority: metadata?.priority ?? 50,
    startedAt,
    degraded: false,
  };
  if (metadata) {
    const key = { tenant: callerOf(req).tenant, id: metadata.workflowId };
    call.key = key;
    call.strategy = metadata.strategy ?? 'auto';
    try {
      const record = await core.workflows.ensure(key, metadata.strategy, metadata.priority);
      WorkflowService.checkAgentDeclared(record, metadata.agentId);
      call.record = record;
      call.strategy = metadata.strategy ?? record.strategy;
      call.priority = metadata.priority ?? record.priority;
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      // LLM calls never fail because the shared state is away (DESIGN section 6).
      core.metrics.storeErrors.inc({ operation: 'ensure' });
      call.degraded = true;
    }
  }
  return call;
}

/** The body the pod receives: no workflow_metadata, shared context in front, usage requested. */
async function upstreamBody(
  core: RouterCore,
  call: Call,
): Promise<{ body: Buffer; text: string; dropUsageChunk: boolean }> {
  const body = { ...call.body };
  delete body.workflow_metadata;
  if (call.key && sharesContext(call.strategy) && !call.degraded) {
    const entries = await readContext(core, call);
    const from = call.metadata?.contextFrom ?? declaredContextFrom(call.record?.spec, call.metadata?.agentId);
    prependContext(call.endpoint, body, selectEntries(call.strategy, entries, from));
  }
  let dropUsageChunk = false;
  if (call.streaming) {
    const options = body.stream_options;
    const wantsUsage =
      options !== null &&
      typeof options === 'object' &&
      'include_usage' in options &&
      options.include_usage === true;
    if (!wantsUsage) {
      // Statistics need the pod's usage; the client did not ask for it, so it is filtered out again.
      body.stream_options = {
        ...(options !== null && typeof options === 'object' ? options : {}),
        include_usage: true,
      };
      dropUsageChunk = true;
    }
  }
  return { body: Buffer.from(JSON.stringify(body)), text: promptText(call.endpoint, body), dropUsageChunk };
}

async function readContext(core: RouterCore, call: Call): Promise<ContextEntry[]> {
  if (!call.key) return [];
  try {
    return await core.store.contexts.read(call.key);
  } catch (error) {
    if (!isStoreUnavailable(error)) throw error;
    core.metrics.storeErrors.inc({ operation: 'context-read' });
    call.degraded = true;
    return [];
  }
}

async function currentPin(core: RouterCore, call: Call): Promise<string | undefined> {
  if (!call.key || call.degraded) return undefined;
  try {
    return await core.store.pins.get(call.key);
  } catch (error) {
    if (!isStoreUnavailable(error)) throw error;
    core.metrics.storeErrors.inc({ operation: 'pin-read' });
    call.degraded = true;
    return undefined;
  }
}

function upstreamHeaders(req: Request, requestId: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !DROPPED_HEADERS.has(name)) headers[name] = value;
  }
  headers['content-type'] = 'application/json';
  headers['x-request-id'] = requestId;
  return headers;
}

async function proxyCall(core: RouterCore, req: Request, res: Response, call: Call): Promise<void> {
  const requestId = requestIdOf(res);
  const { body, text, dropUsageChunk } = await upstreamBody(core, call);
  const hashes = chunkHashes(text);
  const promptTokens = estimateTokens(text);
  const headers = upstreamHeaders(req, requestId);
  const callTrace = core.tracing.startCall(req.headers, call, requestId, callerOf(req).tenant);
  callTrace.inject(headers);
  const pinning = call.key !== undefined && pins(call.strategy);
  const abort = new AbortController();
  // An answered call has nothing to cancel (and abort() builds a DOMException: ~3% of the CPU).
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });

  if (call.key)
    core.workflows.stats.add({
      type: 'call-start',
      key: call.key,
      agent: call.metadata?.agentId,
      at: Date.now(),
    });
  const excluded = new Set<string>();
  let outcomeLabel = 'error';
  let pod: Pod | undefined;
  /** The logic the call was placed with: its VllmPool's, else --routing-logic. */
  let placedWith: string | undefined;
  let usage: ReturnType<ResponseTap['usage']>;
  try {
    for (let attempt = 0; ; attempt++) {
      const pinnedPod = pinning ? await currentPin(core, call) : undefined;
      const placed: PlacedCall = await core.routing.place(
        {
          model: call.model,
          requestId,
          workflow: call.key
            ? {
                key: call.key,
                pinnedPod,
                pins: pinning,
                degraded: call.degraded,
                init: core.workflows.init(call.strategy, call.priority),
              }
            : undefined,
          sessionKey: headerValue(req, core.config.sessionKey),
          poolRef: call.record?.spec?.poolRef,
          promptHashes: hashes,
          promptTokens,
        },
        excluded,
      );
      pod = placed.pod;
      placedWith = placed.routing.logic;
      callTrace.placed(placed);
      const release = await core.gate(pod).acquire(call.priority, abort.signal);
      const uncached = Math.max(0, promptTokens - (placed.matchedChunks * CHUNK_CHARS) / 4);
      pod.inflight += 1;
      pod.inflightUncachedTokens += uncached;
      if (attempt === 0) core.metrics.overhead.observe((performance.now() - call.startedAt) / 1000);
      res.setHeader('x-workflow-router-pod', pod.id);
      if (call.key) res.setHeader('x-workflow-router-placement', placed.kind);
      const tap = new ResponseTap({
        streaming: call.streaming,
        collectText: sharesContext(call.strategy),
        dropUsageChunk,
      });
      let outcome;
      try {
        const chosen = pod;
        outcome = await core.forwarder.forward({
          req,
          res,
          pod: chosen,
          body,
          headers,
          streaming: call.streaming,
          tap,
          timeoutMs: core.config.upstreamTimeoutMs,
          onFirstByte: () => {
            callTrace.firstToken();
            core.metrics.timeToFirstToken.observe(
              { pod: chosen.id },
              (performance.now() - call.startedAt) / 1000,
            );
          },
          beforeEnd: sharesContext(call.strategy) ? () => shareOutput(core, call, tap) : undefined,
        });
      } finally {
        release();
        pod.inflight -= 1;
        pod.inflightUncachedTokens -= uncached;
        // workflow_router_pod_inflight is set when Prometheus scrapes (RouterCore.refreshGauges).
      }
      // Retry, eject or answer: upstream-failures.ts decides from how far the call got.
      const verdict = judgeAttempt(core, pod, outcome, { attempt, headersSent: res.headersSent, requestId });
      outcomeLabel = verdict.label;
      if (verdict.retry) {
        excluded.add(pod.id);
        continue;
      }
      if (verdict.error) throw verdict.error;
      if (outcome.kind === 'done' && outcome.status < 400) {
        core.prefixIndex.record(pod.id, hashes);
        usage = tap.usage();
      }
      return;
    }
  } finally {
    const seconds = (performance.now() - call.startedAt) / 1000;
    const podLabel = pod?.id ?? 'none';
    const logic = placedWith ?? core.config.routingLogic;
    core.decisions.record(callTrace.end(outcomeLabel, usage));
    core.metrics.requests.inc({ logic, pod: podLabel, outcome: outcomeLabel });
    core.metrics.requestDuration.observe({ logic, pod: podLabel, outcome: outcomeLabel }, seconds);
    if (usage) {
      core.metrics.cacheTokens.inc({ kind: 'prompt' }, usage.promptTokens);
      core.metrics.cacheTokens.inc({ kind: 'cached' }, usage.cachedTokens);
    }
    if (call.key) {
      core.workflows.stats.add({
        type: 'call',
        key: call.key,
        agent: call.metadata?.agentId,
        at: Date.now(),
        usage,
        ok: outcomeLabel === 'ok',
      });
    }
  }
}

/**
 * Appends the agent's output to the workflow's shared context before the client's response
 * ends, so the agent that runs next always sees it.
 */
async function shareOutput(core: RouterCore, call: Call, tap: ResponseTap): Promise<void> {
  const output = tap.output();
  if (!call.key || call.degraded || output === '' || tap.streamError !== undefined) return;
  try {
    await core.store.contexts.append(
      call.key,
      {
        agent: call.metadata?.agentId ?? 'anonymous',
        text: output,
        tokens: estimateTokens(output),
        at: Date.now(),
      },
      core.config.contextBudgetTokens,
    );
  } catch (error) {
    core.metrics.storeErrors.inc({ operation: 'context-append' });
    core.logger.warn('shared context not updated: store unavailable', { error: String(error) });
  }
}

function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
