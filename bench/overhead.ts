// The router-overhead microbenchmark: simulated pods with zero delays, small completions, and
// three ways to reach them: the client calling the pods directly (round robin over them), the
// minimal Node pass-through proxy (procs/proxy-child.ts: the floor of any Node proxy), and the
// router under each routing logic. For each, non-streamed and streamed:
//  - capacity: K connections in a closed loop for D seconds → calls/s;
//  - latency at a fixed rate (open loop, evenly spaced, default 1,000 calls/s) → p50/p99, and
//    what it adds over calling the pod directly at the same rate.
// All times here are REAL milliseconds (the pods have no simulated delay).

import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { keepAliveAgent, postCompletion } from './client.ts';
import type { CallOutcome } from './client.ts';
import { processCpuSeconds, startPods, startProxyChild, startRouterChild } from './procs/children.ts';
import type { ServerChild } from './procs/children.ts';
import { summarize, type Summary } from './stats.ts';

export interface OverheadOptions {
  pods: number;
  logics: readonly string[];
  /** Closed-loop connections for the capacity measurement. */
  connections: number;
  /** Calls/s of the latency measurement. */
  rate: number;
  /** Seconds of each measurement (after a warm-up of a third as long). */
  seconds: number;
  maxTokens: number;
  sessionHeader: string;
  healthCheckIntervalS: number;
  nodeArgs?: readonly string[];
  onProgress?: (label: string) => void;
}

export interface OverheadMeasurement {
  target: string;
  stream: boolean;
  /** Closed loop with `connections` connections. */
  callsPerSec: number;
  capacityLatency: Summary;
  /** Open loop at `rate`. */
  rate: number;
  achievedRate: number;
  latency: Summary;
  /** latency p50/p99 minus the direct client's at the same rate. */
  addedP50: number;
  addedP99: number;
  /** Failed calls in both phases, and the first failure's message. */
  failed: number;
  firstError?: string;
  /** CPU ms per call of the proxy or router process (NaN for direct). */
  cpuMsPerCall: number;
  /** The load generator's event-loop delay p99 during the fixed-rate phase (contention gauge). */
  clientLoopDelayP99: number;
}

export interface OverheadReport {
  options: Omit<OverheadOptions, 'onProgress' | 'nodeArgs'>;
  measurements: OverheadMeasurement[];
  /** Targets that could not be measured (a router that did not start). */
  errors: { target: string; message: string }[];
}

type Sender = (stream: boolean, i: number) => Promise<CallOutcome>;

function sender(
  baseUrls: readonly string[],
  model: string,
  o: OverheadOptions,
  withMetadata: boolean,
): {
  send: Sender;
  agent: http.Agent;
} {
  const agent = keepAliveAgent();
  const urls = baseUrls.map((u) => new URL('/v1/chat/completions', u));
  let turn = 0;
  const send: Sender = (stream, i) => {
    const workflow = `ovh-${i % 100}`;
    const body = JSON.stringify({
      model,
      messages: [{ role: 'user', content: `Say hello to caller number ${i % 1000}.` }],
      max_tokens: o.maxTokens,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      ...(withMetadata
        ? { workflow_metadata: { workflow_id: workflow, agent_id: 'agent', context_sharing: 'auto' } }
        : {}),
    });
    const url = urls[turn++ % urls.length] as URL;
    return postCompletion({ agent, url, body, headers: { [o.sessionHeader]: workflow }, stream });
  };
  return { send, agent };
}

async function closedLoop(
  send: Sender,
  stream: boolean,
  connections: number,
  seconds: number,
): Promise<{ outcomes: CallOutcome[]; seconds: number }> {
  const outcomes: CallOutcome[] = [];
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) outcomes.push(await send(stream, i++));
    }),
  );
  return { outcomes, seconds: (performance.now() - start) / 1000 };
}

async function openLoop(
  send: Sender,
  stream: boolean,
  rate: number,
  seconds: number,
): Promise<{ outcomes: CallOutcome[]; seconds: number }> {
  const total = Math.round(rate * seconds);
  const gap = 1000 / rate;
  const pending: Promise<CallOutcome>[] = [];
  const start = performance.now();
  let fired = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (fired < total && start + fired * gap <= now) pending.push(send(stream, fired++));
      if (fired < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const outcomes = await Promise.all(pending);
  return { outcomes, seconds: (performance.now() - start) / 1000 };
}

function firstError(outcomes: readonly CallOutcome[]): { firstError?: string } {
  const failed = outcomes.find((r) => !r.ok);
  return failed ? { firstError: failed.error ?? `HTTP ${failed.status}` } : {};
}

const latencies = (outcomes: readonly CallOutcome[]): number[] =>
  outcomes.filter((r) => r.ok).map((r) => r.endAt - r.sentAt);

async function measure(
  target: string,
  send: Sender,
  stream: boolean,
  o: OverheadOptions,
  cpu: () => number,
  direct: OverheadMeasurement | undefined,
): Promise<OverheadMeasurement> {
  o.onProgress?.(`${target} ${stream ? 'streamed' : 'non-streamed'}`);
  await closedLoop(send, stream, o.connections, Math.max(0.3, o.seconds / 3));
  const cpu0 = cpu();
  const capacity = await closedLoop(send, stream, o.connections, o.seconds);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const fixed = await openLoop(send, stream, o.rate, o.seconds);
  lag.disable();
  const cpuSeconds = cpu() - cpu0;
  const calls = capacity.outcomes.length + fixed.outcomes.length;
  const latency = summarize(latencies(fixed.outcomes));
  return {
    target,
    stream,
    callsPerSec: capacity.outcomes.filter((r) => r.ok).length / capacity.seconds,
    capacityLatency: summarize(latencies(capacity.outcomes)),
    rate: o.rate,
    achievedRate: fixed.outcomes.length / fixed.seconds,
    latency,
    addedP50: direct ? latency.p50 - direct.latency.p50 : 0,
    addedP99: direct ? latency.p99 - direct.latency.p99 : 0,
    failed: [...capacity.outcomes, ...fixed.outcomes].filter((r) => !r.ok).length,
    ...firstError([...capacity.outcomes, ...fixed.outcomes]),
    cpuMsPerCall: (cpuSeconds * 1000) / calls,
    clientLoopDelayP99: lag.percentile(99) / 1e6,
  };
}

export async function runOverhead(o: OverheadOptions): Promise<OverheadReport> {
  const pods = await startPods({ pods: o.pods, host: '127.0.0.1', sim: { timeScale: 0, logLevel: 'error' } });
  const model = pods.models[0] ?? '';
  const measurements: OverheadMeasurement[] = [];
  const errors: OverheadReport['errors'] = [];
  try {
    const direct = new Map<boolean, OverheadMeasurement>();
    const viaServer = async (target: string, server: ServerChild, withMetadata: boolean): Promise<void> => {
      const { send, agent } = sender([server.url], model, o, withMetadata);
      try {
        for (const stream of [false, true]) {
          measurements.push(
            await measure(target, send, stream, o, () => server.cpuSeconds(), direct.get(stream)),
          );
        }
      } finally {
        agent.destroy();
        await server.close();
      }
    };
    {
      const { send, agent } = sender(pods.urls, model, o, false);
      for (const stream of [false, true]) {
        const m = await measure('direct', send, stream, o, () => processCpuSeconds(pods.pid), undefined);
        m.cpuMsPerCall = NaN;
        direct.set(stream, m);
        measurements.push(m);
      }
      agent.destroy();
    }
    await viaServer('proxy', await startProxyChild(pods.urls, o.nodeArgs), false);
    for (const logic of o.logics) {
      let router: ServerChild;
      try {
        router = await startRouterChild({
          logic,
          backends: pods.urls,
          models: pods.models,
          sessionKey: o.sessionHeader,
          healthCheckIntervalS: o.healthCheckIntervalS,
          ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
        });
      } catch (error) {
        errors.push({
          target: `router:${logic}`,
          message: error instanceof Error ? error.message : String(error),
        });
        continue;
      }
      await viaServer(`router:${logic}`, router, true);
    }
  } finally {
    await pods.close();
  }
  const { onProgress: _p, nodeArgs: _n, ...options } = o;
  return { options, measurements, errors };
}
