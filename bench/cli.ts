// The benchmark's command line: `--quick` (what `make bench` runs), a full run (no flags), or
// any single configuration (`--workload pipeline --logics roundrobin,workflow_aware --pods 4`).

import { parseArgs } from 'node:util';
import { DEFAULT_CLUSTER, FULL, QUICK, ROUTING_LOGICS, type Logic, type WorkloadRun } from './config.ts';
import type { LoopMode } from './runner.ts';
import type { SuitePlan } from './suite.ts';
import { WORKLOAD_NAMES, type WorkloadParams } from './workloads/types.ts';

export const USAGE = `Usage: node bench/main.ts [options]

Runs workloads against routing logics on simulated vLLM pods and writes
bench/results/<name>.json, .md and .svg.

  --quick                     the short run of 'make bench' (every workload, every logic, overhead)
  --workload <names>          ${WORKLOAD_NAMES.join(', ')} (comma-separated) or all [all]
  --logics <names>            ${ROUTING_LOGICS.join(', ')} [all]
  --pods <n>                  simulated pods [${DEFAULT_CLUSTER.pods}]
  --mode <closed|open>        closed loop (C workflows in flight) or open loop (Poisson arrivals)
  --concurrency <n>           closed loop: workflows in flight
  --rate <x>                  open loop: workflow arrivals per simulated second
  --duration <s>              stop starting calls after this many simulated seconds (0: run the
                              whole sequence; calls in flight finish and count)
  --workflows <n>             workflows in the workload
  --agents <n>                agents per workflow
  --rounds <n>                rounds (multiround; skew's hot workflows)
  --doc-tokens <n>            tokens of each workflow's document
  --task-tokens <n>           tokens of each call's own instruction
  --output-tokens <n>         max_tokens of every call
  --hot <n>                   skew: hot workflows
  --hot-agents <n>            skew: parallel agents of a hot workflow
  --seed <n>                  seed of workloads and pods [${DEFAULT_CLUSTER.seed}]
  --time-scale <x>            simulator time scale [${DEFAULT_CLUSTER.timeScale}]
  --kv-blocks <n>             KV blocks (16 tokens) per pod [${DEFAULT_CLUSTER.kvBlocks}]
  --max-num-seqs <n>          requests a pod runs at once [${DEFAULT_CLUSTER.maxNumSeqs}]
  --health-check-interval <s> router's pod scrape period [${DEFAULT_CLUSTER.healthCheckIntervalS}]
  --batching-preference <p>   router --batching-preference (workflow_aware spill bound)
  --stream-every <n>          one call in n is streamed and measures TTFT; 1 = all [${DEFAULT_CLUSTER.streamEvery}]
  --ramp <s>                  closed loop: lanes start over this many simulated seconds
                              [4 for the pipeline, 1 for the others]
  --overhead / --no-overhead  run the router-overhead microbenchmark (default: on for --quick and
                              for a full run, off when --workload is given)
  --overhead-only             only the microbenchmark
  --overhead-seconds <s>      seconds per measurement and round
  --overhead-rounds <n>       rounds (targets measured in turn each round) [2]
  --overhead-rate <n>         calls/s of the latency measurement [1000]
  --overhead-connections <n>  connections of the capacity measurement [32]
  --name <name>               results file name [quick, full, or from the workloads]
  --out <dir>                 results directory [bench/results]
  --cpu-prof                  profile the router children (node --cpu-prof) into <out>/profiles
  --readme                    also write the headline table into README.md's Performance section
  --render <file.json>        only redraw <file>.md and <file>.svg from a run's JSON
  -h, --help                  this help
`;

export interface CliOptions {
  plan: SuitePlan;
  outDir: string;
  cpuProf: boolean;
  readme: boolean;
}

export class UsageError extends Error {}

function positive(name: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name}: expected a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function listOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T[] {
  if (value === undefined || value === 'all') return [...allowed];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new UsageError(`--${name}: unknown ${JSON.stringify(item)} (one of ${allowed.join(', ')})`);
  }
  if (items.length === 0) throw new UsageError(`--${name}: empty list`);
  return items as T[];
}

export function parseCli(argv: readonly string[]): CliOptions | 'help' | { render: string; readme: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      workload: { type: 'string' },
      logics: { type: 'string' },
      pods: { type: 'string' },
      mode: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      workflows: { type: 'string' },
      agents: { type: 'string' },
      rounds: { type: 'string' },
      'doc-tokens': { type: 'string' },
      'task-tokens': { type: 'string' },
      'output-tokens': { type: 'string' },
      hot: { type: 'string' },
      'hot-agents': { type: 'string' },
      seed: { type: 'string' },
      'time-scale': { type: 'string' },
      'kv-blocks': { type: 'string' },
      'max-num-seqs': { type: 'string' },
      'health-check-interval': { type: 'string' },
      'batching-preference': { type: 'string' },
      'stream-every': { type: 'string' },
      ramp: { type: 'string' },
      overhead: { type: 'boolean' },
      'no-overhead': { type: 'boolean' },
      'overhead-only': { type: 'boolean' },
      'overhead-seconds': { type: 'string' },
      'overhead-rounds': { type: 'string' },
      'overhead-rate': { type: 'string' },
      'overhead-connections': { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      readme: { type: 'boolean' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.render !== undefined) return { render: values.render, readme: values.readme === true };
  const quick = values.quick === true;
  const base = quick ? QUICK : FULL;
  const workloadNames = values['overhead-only'] ? [] : listOf('workload', values.workload, WORKLOAD_NAMES);
  const logics = listOf<Logic>('logics', values.logics, ROUTING_LOGICS);
  let mode: LoopMode | undefined;
  if (values.mode !== undefined) {
    if (values.mode !== 'closed' && values.mode !== 'open')
      throw new UsageError(`--mode: closed or open, got ${JSON.stringify(values.mode)}`);
    mode = values.mode;
  }
  const overrides: Partial<WorkloadParams> = {};
  const set = (key: keyof WorkloadParams, flag: string): void => {
    const v = positive(flag, values[flag as keyof typeof values] as string | undefined);
    if (v !== undefined) overrides[key] = v;
  };
  set('workflows', 'workflows');
  set('agents', 'agents');
  set('rounds', 'rounds');
  set('docTokens', 'doc-tokens');
  set('taskTokens', 'task-tokens');
  set('outputTokens', 'output-tokens');
  set('hot', 'hot');
  set('hotAgents', 'hot-agents');
  const seed = positive('seed', values.seed);
  if (seed !== undefined) overrides.seed = seed;
  for (const k of ['workflows', 'agents', 'rounds', 'docTokens', 'outputTokens'] as const) {
    if (overrides[k] === 0) throw new UsageError(`--${k}: must be at least 1`);
  }
  const concurrency = positive('concurrency', values.concurrency);
  const rate = positive('rate', values.rate, false);
  const duration = positive('duration', values.duration, false);
  const ramp = positive('ramp', values.ramp, false);
  if (concurrency === 0 || rate === 0) throw new UsageError('--concurrency and --rate must be positive');

  const workloads = workloadNames.map((name) => {
    const run: WorkloadRun = base[name];
    return {
      name,
      run: {
        params: { ...run.params, ...overrides },
        mode: mode ?? run.mode,
        concurrency: concurrency ?? run.concurrency,
        rate: rate ?? run.rate,
        durationSeconds: duration ?? run.durationSeconds,
        rampSeconds: ramp ?? run.rampSeconds,
      },
    };
  });

  const cluster = { ...DEFAULT_CLUSTER };
  const pods = positive('pods', values.pods);
  if (pods !== undefined) {
    if (pods < 1) throw new UsageError('--pods: at least 1');
    cluster.pods = pods;
  }
  cluster.timeScale = positive('time-scale', values['time-scale'], false) ?? cluster.timeScale;
  if (!(cluster.timeScale > 0))
    throw new UsageError('--time-scale must be > 0 (latencies are reported in simulated time)');
  cluster.kvBlocks = positive('kv-blocks', values['kv-blocks']) ?? cluster.kvBlocks;
  cluster.maxNumSeqs = positive('max-num-seqs', values['max-num-seqs']) ?? cluster.maxNumSeqs;
  cluster.healthCheckIntervalS =
    positive('health-check-interval', values['health-check-interval'], false) ?? cluster.healthCheckIntervalS;
  if (seed !== undefined) cluster.seed = seed;
  cluster.streamEvery = positive('stream-every', values['stream-every']) ?? cluster.streamEvery;
  if (cluster.streamEvery < 1) throw new UsageError('--stream-every: at least 1');

  const bp = positive('batching-preference', values['batching-preference'], false);
  if (bp !== undefined) {
    if (bp > 1) throw new UsageError('--batching-preference: from 0 to 1');
    cluster.batchingPreference = bp;
  }

  const single = values.workload !== undefined;
  const overheadOn =
    values['overhead-only'] === true ||
    (values['no-overhead'] !== true && (values.overhead === true || !single));
  const overheadSeconds =
    positive('overhead-seconds', values['overhead-seconds'], false) ?? (quick ? 0.5 : 3);
  const overhead = overheadOn
    ? {
        logics,
        connections: positive('overhead-connections', values['overhead-connections']) ?? 32,
        rate: positive('overhead-rate', values['overhead-rate']) ?? 1000,
        seconds: overheadSeconds,
        rounds: Math.max(1, positive('overhead-rounds', values['overhead-rounds']) ?? (quick ? 2 : 3)),
        maxTokens: 4,
      }
    : undefined;

  const name =
    values.name ??
    (quick && !single
      ? 'quick'
      : !single && !values['overhead-only']
        ? 'full'
        : values['overhead-only']
          ? 'overhead'
          : `${workloadNames.join('+')}-${cluster.pods}pods`);
  if (!/^[A-Za-z0-9._+-]+$/.test(name)) throw new UsageError(`--name: letters, digits and ._+- only`);
  const outDir = values.out ?? 'bench/results';
  const cpuProf = values['cpu-prof'] === true;
  return {
    plan: {
      name,
      command: `node bench/main.ts ${argv.join(' ')}`.trim(),
      quick,
      cluster,
      logics,
      workloads,
      overhead,
      routerNodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${outDir}/profiles`] : [],
    },
    outDir,
    cpuProf,
    readme: values.readme === true,
  };
}
