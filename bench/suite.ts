// One benchmark run: every selected workload against every selected routing logic, on the same
// simulated pods (a child process, caches reset cold between logics), the router in another
// child process restarted per logic, the load generator here; then the overhead microbenchmark.

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { ClusterOptions, Logic, WorkloadRun } from './config.ts';
import { MODEL } from './config.ts';
import { computeFigures, type LogicFigures } from './figures.ts';
import { runOverhead, type OverheadReport } from './overhead.ts';
import { processCpuSeconds, startPods, startRouterChild } from './procs/children.ts';
import { runWorkload } from './runner.ts';
import { generateWorkload, WORKLOAD_TITLES } from './workloads/generate.ts';
import { totalCalls, type WorkloadName } from './workloads/types.ts';

export const SESSION_HEADER = 'x-session-id';

export interface SuitePlan {
  name: string;
  command: string;
  quick: boolean;
  cluster: ClusterOptions;
  logics: Logic[];
  workloads: { name: WorkloadName; run: WorkloadRun }[];
  overhead:
    | {
        logics: Logic[];
        connections: number;
        rate: number;
        seconds: number;
        rounds: number;
        maxTokens: number;
      }
    | undefined;
  /** Extra node flags for the router children (e.g. --cpu-prof). */
  routerNodeArgs: string[];
}

export interface WorkloadResult {
  name: WorkloadName;
  title: string;
  mode: WorkloadRun['mode'];
  concurrency: number;
  rate: number;
  durationSeconds: number;
  rampSeconds: number;
  params: WorkloadRun['params'];
  workflows: number;
  calls: number;
  logics: LogicFigures[];
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

export interface SuiteResult {
  name: string;
  command: string;
  /** The git commit the run used ('+dirty' when the work tree had changes), when known. */
  commit: string;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  cluster: ClusterOptions;
  units: Record<string, string>;
  workloads: WorkloadResult[];
  overhead: OverheadReport | undefined;
  /** Runs that could not complete (a router that did not start, ...): reported, not hidden. */
  errors: { workload: string; logic: string; message: string }[];
}

export interface Progress {
  phase(text: string): void;
  calls(done: number, total: number, failed: number, elapsedS: number, durationS: number): void;
  done(): void;
}

export async function runSuite(plan: SuitePlan, progress: Progress): Promise<SuiteResult> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const c = plan.cluster;
  const workloads: WorkloadResult[] = [];
  const errors: SuiteResult['errors'] = [];
  if (plan.workloads.length > 0) {
    const pods = await startPods({
      pods: c.pods,
      host: '127.0.0.1',
      sim: {
        timeScale: c.timeScale,
        kvBlocks: c.kvBlocks,
        maxNumSeqs: c.maxNumSeqs,
        seed: c.seed,
        logLevel: 'error',
      },
    });
    try {
      for (const [wi, { name, run }] of plan.workloads.entries()) {
        const workload = generateWorkload(name, run.params);
        const result: WorkloadResult = {
          name,
          title: WORKLOAD_TITLES[name],
          mode: run.mode,
          concurrency: run.concurrency,
          rate: run.rate,
          durationSeconds: run.durationSeconds,
          rampSeconds: run.rampSeconds,
          params: run.params,
          workflows: workload.workflows.length,
          calls: totalCalls(workload.workflows),
          logics: [],
        };
        for (const [li, logic] of plan.logics.entries()) {
          progress.phase(
            `workload ${wi + 1}/${plan.workloads.length} ${name} · logic ${li + 1}/${plan.logics.length} ${logic}`,
          );
          await pods.reset();
          let router;
          try {
            router = await startRouterChild({
              logic,
              backends: pods.urls,
              models: pods.models,
              sessionKey: SESSION_HEADER,
              healthCheckIntervalS: c.healthCheckIntervalS,
              ...(c.batchingPreference !== undefined ? { batchingPreference: c.batchingPreference } : {}),
              nodeArgs: plan.routerNodeArgs,
            });
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            errors.push({ workload: name, logic, message });
            progress.phase(`${name} · ${logic}: the router did not start: ${message.split('\n')[0] ?? ''}`);
            continue;
          }
          try {
            const cpu0 = router.cpuSeconds();
            const podsCpu0 = processCpuSeconds(pods.pid);
            const clientCpu0 = process.cpuUsage();
            await pods.start(50, 500);
            const runResult = await runWorkload(workload.workflows, {
              baseUrl: router.url,
              model: MODEL,
              mode: run.mode,
              concurrency: run.concurrency,
              rate: run.rate,
              timeScale: c.timeScale,
              seed: run.params.seed,
              sessionHeader: SESSION_HEADER,
              tag: `${name}-${logic}`,
              streamEvery: c.streamEvery,
              rampSeconds: run.rampSeconds,
              durationSeconds: run.durationSeconds,
              onCall: (done, total, failed, elapsed) =>
                progress.calls(done, total, failed, elapsed, run.durationSeconds),
            });
            const report = await pods.collect();
            const clientCpu = process.cpuUsage(clientCpu0);
            result.logics.push(
              computeFigures({
                logic,
                run: runResult,
                pods: report,
                timeScale: c.timeScale,
                routerCpuSeconds: router.cpuSeconds() - cpu0,
                podsCpuSeconds: processCpuSeconds(pods.pid) - podsCpu0,
                clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
              }),
            );
          } finally {
            await router.close();
          }
        }
        workloads.push(result);
      }
    } finally {
      await pods.close();
    }
  }
  let overhead: OverheadReport | undefined;
  if (plan.overhead) {
    const o = plan.overhead;
    overhead = await runOverhead({
      pods: c.pods,
      logics: o.logics,
      connections: o.connections,
      rate: o.rate,
      seconds: o.seconds,
      rounds: o.rounds,
      maxTokens: o.maxTokens,
      sessionHeader: SESSION_HEADER,
      healthCheckIntervalS: c.healthCheckIntervalS,
      nodeArgs: plan.routerNodeArgs,
      onProgress: (label) => progress.phase(`overhead · ${label}`),
    });
    for (const e of overhead.errors)
      errors.push({ workload: 'overhead', logic: e.target, message: e.message });
  }
  progress.done();
  const cpus = os.cpus();
  return {
    name: plan.name,
    command: plan.command,
    commit: gitCommit(),
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      loadAverageBefore: loadBefore,
      loadAverageAfter: os.loadavg(),
    },
    cluster: c,
    units: {
      latency: 'simulated ms (real ms / time scale)',
      throughput: 'per simulated second',
      routerOverhead: 'real ms (client latency minus the pod’s own time)',
      overhead: 'real ms and real calls/s (pods without delays)',
    },
    workloads,
    overhead,
    errors,
  };
}

function gitCommit(): string {
  try {
    const run = (args: string[]): string =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = run(['rev-parse', '--short=12', 'HEAD']);
    return run(['status', '--porcelain', '--untracked-files=no']) === '' ? head : `${head}+dirty`;
  } catch {
    return 'unknown';
  }
}
