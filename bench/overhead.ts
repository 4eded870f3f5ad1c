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
  /** Seconds of each measurement in each round (after a warm-up of a quarter as long). */
  seconds: number;
  /** Rounds: every target is measured once per round, in turn. */
  rounds: number;
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

/** Sends small completions to `baseUrls` in turn; `fresh()` replaces the agent (new connections). */
function sender(
  baseUrls: readonly string[],
  model: string,
  o: OverheadOptions,
  withMetadata: boolean,
): { send: Sender; fresh: () => void; close: () => void } {
  let agent: http.Agent = keepAliveAgent();
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
  return {
    send,
    fresh: () => {
      agent.destroy();
      agent = keepAliveAgent();
    },
    close: () => agent.destroy(),
  };
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
  // The rate achieved is the sending rate: the time to fire every call (plus one gap).
  const sendingSeconds = (performance.now() - start + gap) / 1000;
  const outcomes = await Promise.all(pending);
  return { outcomes, seconds: sendingSeconds };
}

function firstError(outcomes: readonly CallOutcome[]): { firstError?: string } {
  const failed = outcomes.find((r) => !r.ok);
  return failed ? { firstError: failed.error ?? `HTTP ${failed.status}` } : {};
}

const latencies = (outcomes: readonly CallOutcome[]): number[] =>
  outcomes.filter((r) => r.ok).map((r) => r.endAt - r.sentAt);

interface Accumulated {
  capacity: CallOutcome[];
  capacitySeconds: number;
  fixed: CallOutcome[];
  fixedSeconds: number;
  cpuSeconds: number;
  loopDelayP99: number[];
}

/** One round of one target and response kind: a short warm-up, capacity, then the fixed rate. */
async function measureRound(
  send: Sender,
  stream: boolean,
  o: OverheadOptions,
  cpu: () => number,
  into: Accumulated,
): Promise<void> {
  await closedLoop(send, stream, o.connections, Math.max(0.2, o.seconds / 4));
  const cpu0 = cpu();
  const capacity = await closedLoop(send, stream, o.connections, o.seconds);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const fixed = await openLoop(send, stream, o.rate, o.seconds);
  lag.disable();
  into.cpuSeconds += cpu() - cpu0;
  into.capacity.push(...capacity.outcomes);
  into.capacitySeconds += capacity.seconds;
  into.fixed.push(...fixed.outcomes);
  into.fixedSeconds += fixed.seconds;
  into.loopDelayP99.push(lag.percentile(99) / 1e6);
}

function toMeasurement(
  target: string,
  stream: boolean,
  a: Accumulated,
  rate: number,
  direct: OverheadMeasurement | undefined,
): OverheadMeasurement {
  const latency = summarize(latencies(a.fixed));
  const all = [...a.capacity, ...a.fixed];
  return {
    target,
    stream,
    callsPerSec: a.capacity.filter((r) => r.ok).length / a.capacitySeconds,
    capacityLatency: summarize(latencies(a.capacity)),
    rate,
    achievedRate: a.fixed.length / a.fixedSeconds,
    latency,
    addedP50: direct ? latency.p50 - direct.latency.p50 : 0,
    addedP99: direct ? latency.p99 - direct.latency.p99 : 0,
    failed: all.filter((r) => !r.ok).length,
    ...firstError(all),
    cpuMsPerCall: target === 'direct' ? NaN : (a.cpuSeconds * 1000) / all.length,
    clientLoopDelayP99: Math.max(...a.loopDelayP99),
  };
}

interface Target {
  name: string;
  send: Sender;
  /** New client connections: every round starts from a fresh agent (and warms it up). */
  fresh: () => void;
  closeClient: () => void;
  cpu: () => number;
  close: () => Promise<void>;
}

/**
 * Every target runs at once (idle servers cost nothing) and is measured in turn, round after
 * round, so that a machine busy with other work weighs on all of them alike; the figures pool
 * the rounds.
 */
export async function runOverhead(o: OverheadOptions): Promise<OverheadReport> {
  const pods = await startPods({ pods: o.pods, host: '127.0.0.1', sim: { timeScale: 0, logLevel: 'error' } });
  const model = pods.models[0] ?? '';
  const errors: OverheadReport['errors'] = [];
  const targets: Target[] = [];
  const viaServer = (name: string, server: ServerChild, withMetadata: boolean): Target => {
    const { send, fresh, close } = sender([server.url], model, o, withMetadata);
    return {
      name,
      send,
      fresh,
      closeClient: close,
      cpu: () => server.cpuSeconds(),
      close: () => server.close(),
    };
  };
  try {
    const direct = sender(pods.urls, model, o, false);
    targets.push({
      name: 'direct',
      send: direct.send,
      fresh: direct.fresh,
      closeClient: direct.close,
      cpu: () => processCpuSeconds(pods.pid),
      close: () => Promise.resolve(),
    });
    targets.push(viaServer('proxy', await startProxyChild(pods.urls, o.nodeArgs), false));
    for (const logic of o.logics) {
      try {
        const router = await startRouterChild({
          logic,
          backends: pods.urls,
          models: pods.models,
          sessionKey: o.sessionHeader,
          healthCheckIntervalS: o.healthCheckIntervalS,
          ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
        });
        targets.push(viaServer(`router:${logic}`, router, true));
      } catch (error) {
        errors.push({
          target: `router:${logic}`,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const acc = new Map<string, Accumulated>();
    const key = (t: string, stream: boolean): string => `${t}|${stream ? 'sse' : 'json'}`;
    for (let round = 1; round <= o.rounds; round++) {
      for (const stream of [false, true]) {
        for (const t of targets) {
          o.onProgress?.(`round ${round}/${o.rounds} · ${t.name} ${stream ? 'streamed' : 'non-streamed'}`);
          let a = acc.get(key(t.name, stream));
          if (!a) {
            a = {
              capacity: [],
              capacitySeconds: 0,
              fixed: [],
              fixedSeconds: 0,
              cpuSeconds: 0,
              loopDelayP99: [],
            };
            acc.set(key(t.name, stream), a);
          }
          t.fresh();
          await measureRound(t.send, stream, o, t.cpu, a);
        }
      }
    }
    const measurements: OverheadMeasurement[] = [];
    for (const stream of [false, true]) {
      const directAcc = acc.get(key('direct', stream));
      const base = directAcc ? toMeasurement('direct', stream, directAcc, o.rate, undefined) : undefined;
      for (const t of targets) {
        const a = acc.get(key(t.name, stream));
        if (a)
          measurements.push(
            t.name === 'direct' && base ? base : toMeasurement(t.name, stream, a, o.rate, base),
          );
      }
    }
    const { onProgress: _p, nodeArgs: _n, ...options } = o;
    return { options, measurements, errors };
  } finally {
    for (const t of targets) {
      t.closeClient();
      await t.close();
    }
    await pods.close();
  }
}
