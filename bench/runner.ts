// Drives a workload against one endpoint (the router, or a pod directly): closed loop (C
// workflows in flight, the next starting when one ends) or open loop (workflows arriving as a
// seeded Poisson process). Within a workflow, the calls of a stage run in parallel and stages
// run in order; a call's messages are rendered from the outputs of the calls before it.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { keepAliveAgent, postCompletion } from './client.ts';
import { Rng } from './rng.ts';
import { renderMessages } from './workloads/generate.ts';
import type { WorkflowSpec } from './workloads/types.ts';
import { totalCalls } from './workloads/types.ts';

export type LoopMode = 'closed' | 'open';

export interface RunOptions {
  baseUrl: string;
  model: string;
  mode: LoopMode;
  /** Closed loop: workflows in flight. */
  concurrency: number;
  /** Open loop: workflow arrivals per simulated second. */
  rate: number;
  /** The simulator's --time-scale: one simulated second lasts timeScale real seconds. */
  timeScale: number;
  seed: number;
  /** Header carrying the workflow id as the session key (for --routing-logic session). */
  sessionHeader: string;
  /** Prefix of every X-Request-Id, to match calls with the pods' records. */
  tag: string;
  /**
   * One call in `streamEvery` is streamed (SSE) and gives the time to first token; the others
   * are plain JSON, which costs the three processes far less CPU per call. 1: all streamed.
   */
  streamEvery: number;
  /** Closed loop: the lanes start evenly spread over this many simulated seconds (no thundering herd). */
  rampSeconds: number;
  /**
   * Simulated seconds after which no call starts (calls in flight finish and count); 0: run the
   * whole sequence. Every logic then gets the same time, and serves as many calls as it can.
   */
  durationSeconds: number;
  /** Progress: calls done, of the sequence's total; simulated seconds elapsed, of the duration. */
  onCall?: (done: number, total: number, failed: number, elapsedS: number) => void;
}

/** One call as the client saw it. Times are real milliseconds. */
export interface CallRecord {
  workflow: string;
  hot: boolean;
  call: number;
  agent: string;
  requestId: string;
  ok: boolean;
  status: number;
  error?: string;
  /** Since the run started. */
  startMs: number;
  stream: boolean;
  /** Streamed calls: to the first SSE event; JSON calls: the whole latency. */
  ttftMs: number;
  latencyMs: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  pod: string | undefined;
  /** workflow_aware: pinned / new / spill / migration (x-workflow-router-placement). */
  placement: string | undefined;
}

export interface RunResult {
  calls: CallRecord[];
  /** Real ms from the first call sent to the last call ended. */
  wallMs: number;
  /** Real ms of the measurement window (durationSeconds scaled), 0 when the whole sequence ran. */
  windowMs: number;
  /** The load generator's event-loop delay (ms): how contended its CPU was. */
  eventLoopDelayP50: number;
  eventLoopDelayP99: number;
}

/** Whether call `index` of workflow `id` is streamed: one in `every`, spread by a hash of both. */
export function isStreamed(id: string, index: number, every: number): boolean {
  if (every <= 1) return true;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ index, 0x01000193);
  return (h >>> 0) % every === 0;
}

/** Arrival times of `n` workflows, in simulated seconds from the start (first at 0). */
export function poissonArrivals(n: number, rate: number, seed: number): number[] {
  const rng = new Rng(seed ^ 0x5f3759df);
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    out.push(t);
    t += rng.exponential(rate);
  }
  return out;
}

export async function runWorkload(workflows: readonly WorkflowSpec[], o: RunOptions): Promise<RunResult> {
  const agent = keepAliveAgent();
  const url = new URL('/v1/chat/completions', o.baseUrl);
  const total = totalCalls(workflows);
  const calls: CallRecord[] = [];
  let failed = 0;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();

  const deadline = o.durationSeconds > 0 ? t0 + o.durationSeconds * 1000 * o.timeScale : Infinity;
  const open = (): boolean => performance.now() < deadline;
  const runCall = async (w: WorkflowSpec, index: number, outputs: (string | undefined)[]): Promise<void> => {
    const spec = w.calls[index];
    if (spec === undefined || !open()) return;
    const requestId = `${o.tag}-${w.id}-c${index}`;
    const stream = isStreamed(w.id, index, o.streamEvery);
    const body = JSON.stringify({
      model: o.model,
      messages: renderMessages(spec.messages, outputs),
      max_tokens: spec.maxTokens,
      temperature: 0,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      workflow_metadata: { workflow_id: w.id, agent_id: spec.agent, context_sharing: w.sharing },
    });
    const r = await postCompletion({
      agent,
      url,
      body,
      headers: { 'x-request-id': requestId, [o.sessionHeader]: w.id },
      stream,
    });
    outputs[index] = r.text;
    if (!r.ok) failed++;
    calls.push({
      workflow: w.id,
      hot: w.hot,
      call: index,
      agent: spec.agent,
      requestId,
      ok: r.ok,
      status: r.status,
      ...(r.error !== undefined ? { error: r.error } : {}),
      startMs: r.sentAt - t0,
      stream,
      ttftMs: (r.firstTokenAt ?? r.endAt) - r.sentAt,
      latencyMs: r.endAt - r.sentAt,
      promptTokens: r.usage?.promptTokens ?? 0,
      cachedTokens: r.usage?.cachedTokens ?? 0,
      completionTokens: r.usage?.completionTokens ?? 0,
      pod: r.pod,
      placement: r.placement,
    });
    o.onCall?.(
      calls.length,
      total,
      failed,
      (performance.now() - t0) / 1000 / (o.timeScale > 0 ? o.timeScale : 1),
    );
  };

  const runWorkflow = async (w: WorkflowSpec): Promise<void> => {
    const outputs: (string | undefined)[] = new Array<string | undefined>(w.calls.length);
    for (const stage of w.stages) {
      if (!open()) return;
      await Promise.all(stage.map((i) => runCall(w, i, outputs)));
    }
  };

  if (o.mode === 'closed') {
    let next = 0;
    const lanes = Math.max(1, Math.min(o.concurrency, workflows.length));
    const lane = async (i: number): Promise<void> => {
      const delay = (i / lanes) * o.rampSeconds * 1000 * o.timeScale;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      while (next < workflows.length && open()) {
        const w = workflows[next++] as WorkflowSpec;
        await runWorkflow(w);
      }
    };
    await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
  } else {
    const arrivals = poissonArrivals(workflows.length, o.rate, o.seed);
    await Promise.all(
      workflows.map(
        (w, i) =>
          new Promise<void>((resolve) => {
            const at = (arrivals[i] ?? 0) * 1000 * o.timeScale;
            if (t0 + at >= deadline) {
              resolve();
              return;
            }
            setTimeout(() => void runWorkflow(w).then(resolve), Math.max(0, t0 + at - performance.now()));
          }),
      ),
    );
  }
  const wallMs = performance.now() - t0;
  lag.disable();
  agent.destroy();
  return {
    calls,
    wallMs,
    windowMs: Number.isFinite(deadline) ? deadline - t0 : 0,
    eventLoopDelayP50: lag.percentile(50) / 1e6,
    eventLoopDelayP99: lag.percentile(99) / 1e6,
  };
}
