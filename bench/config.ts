// Defaults of the benchmark: the simulated cluster, and per workload the shape and load used
// by `make bench` (--quick) and by a full run. Every value can be overridden from the CLI.

import type { LoopMode } from './runner.ts';
import type { WorkloadName, WorkloadParams } from './workloads/types.ts';

export const ROUTING_LOGICS = [
  'roundrobin',
  'least_loaded',
  'session',
  'prefix_aware',
  'workflow_aware',
] as const;
export type Logic = (typeof ROUTING_LOGICS)[number];

export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** The simulated pods: the simulator's Llama-3.1-8B-on-H100 timing, a smaller KV cache, time-scaled. */
export interface ClusterOptions {
  pods: number;
  /**
   * Simulator --time-scale: 2 runs at half real speed. Slower than real time on purpose: the
   * three processes then need half the CPU per simulated second, so on a small or busy machine
   * the pods, not the CPU, stay the bottleneck, and the router's real overhead counts half in
   * simulated milliseconds.
   */
  timeScale: number;
  /** KV blocks (16 tokens) per pod. */
  kvBlocks: number;
  maxNumSeqs: number;
  seed: number;
  /** Router --health-check-interval (seconds of real time): how fresh its view of pod queues is. */
  healthCheckIntervalS: number;
  /** Router --batching-preference (workflow_aware's spill bound); undefined: the router's default. */
  batchingPreference: number | undefined;
  /** One workload call in this many is streamed (and measures time to first token). */
  streamEvery: number;
}

export const DEFAULT_CLUSTER: ClusterOptions = {
  pods: 4,
  timeScale: 2,
  kvBlocks: 4096,
  maxNumSeqs: 256,
  seed: 42,
  healthCheckIntervalS: 1,
  batchingPreference: undefined,
  streamEvery: 4,
};

export interface WorkloadRun {
  params: WorkloadParams;
  mode: LoopMode;
  /** Closed loop: workflows in flight. */
  concurrency: number;
  /** Open loop: workflows per simulated second. */
  rate: number;
  /** Simulated seconds after which no call starts; 0: the whole sequence runs. */
  durationSeconds: number;
  /**
   * Closed loop: simulated seconds over which the lanes start (no thundering herd of cold
   * first calls). Longer for the pipeline, whose 96 lanes would otherwise all prefill their
   * documents in the same second.
   */
  rampSeconds: number;
}

const BASE: WorkloadParams = {
  seed: 42,
  workflows: 48,
  agents: 4,
  rounds: 3,
  docTokens: 1500,
  taskTokens: 40,
  outputTokens: 16,
  hot: 0,
  hotAgents: 0,
};

/** The configuration `make bench` runs: a few seconds of load per workload and logic. */
export const QUICK: Record<WorkloadName, WorkloadRun> = {
  pipeline: {
    params: { ...BASE, workflows: 96, agents: 8 },
    mode: 'closed',
    concurrency: 96,
    rate: 12,
    durationSeconds: 0,
    rampSeconds: 4,
  },
  fanout: {
    params: { ...BASE, workflows: 32, agents: 4 },
    mode: 'closed',
    concurrency: 32,
    rate: 8,
    durationSeconds: 0,
    rampSeconds: 1,
  },
  multiround: {
    params: { ...BASE, workflows: 32, agents: 3, rounds: 3 },
    mode: 'closed',
    concurrency: 32,
    rate: 8,
    durationSeconds: 0,
    rampSeconds: 1,
  },
  control: {
    params: { ...BASE, workflows: 48, agents: 4 },
    mode: 'closed',
    concurrency: 48,
    rate: 10,
    durationSeconds: 0,
    rampSeconds: 1,
  },
  skew: {
    params: { ...BASE, workflows: 42, rounds: 3, hot: 2, hotAgents: 48 },
    mode: 'closed',
    concurrency: 24,
    rate: 10,
    durationSeconds: 0,
    rampSeconds: 1,
  },
};

/** A full run: the same shapes with about three times the workflows. */
export const FULL: Record<WorkloadName, WorkloadRun> = Object.fromEntries(
  Object.entries(QUICK).map(([name, run]) => [
    name,
    {
      ...run,
      params: {
        ...run.params,
        workflows: run.params.workflows * 3,
        rounds: name === 'skew' ? run.params.rounds * 3 : run.params.rounds,
      },
    },
  ]),
) as Record<WorkloadName, WorkloadRun>;
