// Turns what the client saw (CallRecord) and what the pods recorded (PodsRunReport) into the
// figures of one routing logic on one workload.
//
// Units: latencies and throughputs are SIMULATED (real time divided by the simulator's
// --time-scale), so they read as an 8B model on an H100 would; the router's overhead is REAL
// milliseconds (it is CPU time of the router, which the time scale does not shrink).

import type { PodsRunReport } from './procs/protocol.ts';
import type { CallRecord, RunResult } from './runner.ts';
import { maxOverMean, mean, oracleHitRate, summarize, tokenHitRate, type Summary } from './stats.ts';

export interface LogicFigures {
  logic: string;
  calls: number;
  failed: number;
  firstError?: string;
  /** Simulated ms. */
  latency: Summary;
  /** Streamed calls only (one in streamEvery). */
  ttft: Summary;
  /** Skew: hot workflows' calls and background calls apart (simulated ms). */
  hotLatency?: Summary;
  backgroundLatency?: Summary;
  /** Per simulated second. */
  callsPerSec: number;
  outputTokensPerSec: number;
  promptTokensPerSec: number;
  /** Token-weighted, from `usage.prompt_tokens_details.cached_tokens`. */
  hitRate: number;
  oracleHitRate: number;
  /** hitRate / oracleHitRate. */
  hitOfOracle: number;
  /** Resident KV blocks summed over pods / distinct, at the end of the run and averaged over it. */
  kvDuplication: number;
  kvDuplicationMean: number;
  /** Resident blocks summed over pods at the end. */
  kvResidentBlocks: number;
  kvDistinctBlocks: number;
  /** Max over mean of the pods' time-averaged running + waiting requests. */
  loadMaxOverMean: number;
  meanLoadPerPod: number[];
  callsPerPod: number[];
  /** Calls by the router's placement header (workflow_aware: new, pinned, spill, migration). */
  placements: Record<string, number>;
  /** Client latency minus the pod's own time, REAL ms. */
  routerOverhead: Summary;
  /** CPU ms per call (REAL) of the router, the pods' and the load generator's processes. */
  routerCpuMsPerCall: number;
  podsCpuMsPerCall: number;
  clientCpuMsPerCall: number;
  /** Simulated ms the pods kept calls in their waiting queue (mean). */
  podQueueMs: number;
  preemptions: number;
  evictions: number;
  lostRecords: number;
  /**
   * Event-loop delay p99 (real ms) of the load generator and of the simulator process: a
   * contention gauge. Tens of ms mean the machine was busy and every latency carries that noise.
   */
  clientLoopDelayP99: number;
  podsLoopDelayP99: number;
  /** Real seconds the run took. */
  wallSeconds: number;
}

export interface FigureInputs {
  logic: string;
  run: RunResult;
  pods: PodsRunReport;
  timeScale: number;
  routerCpuSeconds: number;
  podsCpuSeconds: number;
  clientCpuSeconds: number;
}

const scaled = (s: Summary, k: number): Summary => ({
  count: s.count,
  mean: s.mean * k,
  p50: s.p50 * k,
  p90: s.p90 * k,
  p99: s.p99 * k,
  max: s.max * k,
});

export function computeFigures(input: FigureInputs): LogicFigures {
  const { run, pods } = input;
  const toSim = input.timeScale > 0 ? 1 / input.timeScale : 1;
  const ok = run.calls.filter((c) => c.ok);
  // Throughput: calls (and their tokens) completed within the measurement window over its length;
  // without a window, every call over the whole run.
  const windowMs = run.windowMs > 0 ? run.windowMs : run.wallMs;
  const done = run.windowMs > 0 ? ok.filter((c) => c.startMs + c.latencyMs <= run.windowMs) : ok;
  const simSeconds = (windowMs / 1000) * toSim;
  const sum = (f: (c: CallRecord) => number): number => done.reduce((s, c) => s + f(c), 0);

  const byId = new Map<string, PodsRunReport['records'][number]>();
  for (const r of pods.records) if (r.requestId !== undefined) byId.set(r.requestId, r);
  const overheads: number[] = [];
  const callsPerPod = pods.meanLoad.map(() => 0);
  for (const c of ok) {
    const r = byId.get(c.requestId);
    if (r === undefined) continue;
    overheads.push(c.latencyMs - r.totalMs);
    callsPerPod[r.pod] = (callsPerPod[r.pod] ?? 0) + 1;
  }
  const served = pods.records.filter((r) => r.status === 200 && !r.cancelled);
  const oracle = oracleHitRate(
    served.map((r) => ({
      promptTokens: r.promptTokens,
      blockHashes: r.blockHashes,
      completedAt: r.startedAt + r.totalMs,
    })),
    pods.blockSize,
  );
  const hitRate = tokenHitRate(ok);
  const last = pods.kvSamples[pods.kvSamples.length - 1];
  const hot = ok.filter((c) => c.hot);
  const perCall = (seconds: number): number =>
    run.calls.length > 0 ? (seconds * 1000) / run.calls.length : NaN;
  const firstError = run.calls.find((c) => !c.ok)?.error;
  return {
    logic: input.logic,
    calls: run.calls.length,
    failed: run.calls.length - ok.length,
    ...(firstError !== undefined ? { firstError } : {}),
    latency: scaled(summarize(ok.map((c) => c.latencyMs)), toSim),
    ttft: scaled(summarize(ok.filter((c) => c.stream).map((c) => c.ttftMs)), toSim),
    ...(hot.length > 0
      ? {
          hotLatency: scaled(summarize(hot.map((c) => c.latencyMs)), toSim),
          backgroundLatency: scaled(summarize(ok.filter((c) => !c.hot).map((c) => c.latencyMs)), toSim),
        }
      : {}),
    callsPerSec: simSeconds > 0 ? done.length / simSeconds : 0,
    outputTokensPerSec: simSeconds > 0 ? sum((c) => c.completionTokens) / simSeconds : 0,
    promptTokensPerSec: simSeconds > 0 ? sum((c) => c.promptTokens) / simSeconds : 0,
    hitRate,
    oracleHitRate: oracle.rate,
    hitOfOracle: oracle.rate > 0 ? hitRate / oracle.rate : 1,
    kvDuplication: last?.duplication ?? 1,
    kvDuplicationMean: mean(pods.kvSamples.filter((s) => s.distinct > 0).map((s) => s.duplication)) || 1,
    kvResidentBlocks: last ? last.residentPerPod.reduce((a, b) => a + b, 0) : 0,
    kvDistinctBlocks: last?.distinct ?? 0,
    loadMaxOverMean: maxOverMean(pods.meanLoad),
    meanLoadPerPod: pods.meanLoad,
    callsPerPod,
    placements: countBy(ok.map((c) => c.placement ?? 'none')),
    routerOverhead: summarize(overheads),
    routerCpuMsPerCall: perCall(input.routerCpuSeconds),
    podsCpuMsPerCall: perCall(input.podsCpuSeconds),
    clientCpuMsPerCall: perCall(input.clientCpuSeconds),
    podQueueMs: mean(served.map((r) => r.queuedMs)) * toSim,
    preemptions: pods.preemptions.reduce((a, b) => a + b, 0),
    evictions: pods.evictions.reduce((a, b) => a + b, 0),
    lostRecords: pods.lostRecords,
    clientLoopDelayP99: run.eventLoopDelayP99,
    podsLoopDelayP99: pods.eventLoopDelayP99,
    wallSeconds: run.wallMs / 1000,
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
