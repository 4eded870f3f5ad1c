// The markdown report of a run: how it was run, the targets, the seed's four headline rows,
// one table per workload and the overhead microbenchmark.

import type { SuiteResult, WorkloadResult } from '../suite.ts';
import type { TargetCheck } from '../targets.ts';
import { HOT_TASK_FACTOR } from '../workloads/generate.ts';
import { int, ms, msFine, num, pct } from './format.ts';

function workloadShape(w: WorkloadResult): string {
  const p = w.params;
  const load =
    w.mode === 'closed'
      ? `closed loop, ${w.concurrency} workflows in flight (lanes started over ${w.rampSeconds} s)`
      : `open loop, ${w.rate} workflows/s (Poisson)`;
  const shape: Record<WorkloadResult['name'], string> = {
    pipeline: `${p.workflows} workflows × ${p.agents} agents in turn, ${p.docTokens}-token document`,
    fanout: `${p.workflows} workflows × (coordinator, then ${p.agents} agents in parallel, then aggregator), ${p.docTokens}-token document`,
    multiround: `${p.workflows} workflows × ${p.agents} agents × ${p.rounds} rounds, ${p.docTokens}-token document`,
    control: `${p.workflows} workflows × ${p.agents} calls, ${p.docTokens + p.taskTokens}-token prompts sharing nothing`,
    skew: `${p.hot} hot workflows × ${p.rounds} rounds × (${p.hotAgents} parallel agents with ${p.taskTokens * HOT_TASK_FACTOR}-token passages of their own + aggregator), ${p.workflows - p.hot} background 2-agent pipelines`,
  };
  const window = w.durationSeconds > 0 ? `; calls started in the first ${w.durationSeconds} s` : '';
  return `${shape[w.name]}; ${p.outputTokens} output tokens per call; ${load}${window}; ${w.calls} calls in the sequence; seed ${p.seed}.`;
}

export function workloadTable(w: WorkloadResult): string {
  const head =
    '| logic | mean | p50 | p99 | TTFT p50 | TTFT p99 | calls/s | out tok/s | hit rate | oracle | KV dup | load max/mean | router ovh p50 / p99 | loop delay p99 | failed |\n' +
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = w.logics.map(
    (l) =>
      `| ${l.logic} | ${ms(l.latency.mean)} | ${ms(l.latency.p50)} | ${ms(l.latency.p99)} | ${ms(l.ttft.p50)} | ${ms(l.ttft.p99)} | ${num(l.callsPerSec)} | ${int(l.outputTokensPerSec)} | ${pct(l.hitRate)} | ${pct(l.oracleHitRate)} | ${num(l.kvDuplication, 2)} | ${num(l.loadMaxOverMean, 2)} | ${msFine(l.routerOverhead.p50)} / ${msFine(l.routerOverhead.p99)} | ${msFine(l.clientLoopDelayP99)} / ${msFine(l.podsLoopDelayP99)} | ${l.failed} |`,
  );
  let extra = '';
  const wa = w.logics.find((l) => l.logic === 'workflow_aware');
  if (wa) {
    const p = wa.placements;
    extra +=
      `\n\nworkflow_aware placements: ${p.new ?? 0} new workflows pinned, ${p.pinned ?? 0} calls to their pin, ` +
      `${p.spill ?? 0} spilled to another pod${p.migration ? `, ${p.migration} migrated` : ''}.`;
  }
  if (w.name === 'skew') {
    extra +=
      '\n\nHot workflows vs background (p99, simulated ms): ' +
      w.logics
        .map((l) => `${l.logic} ${ms(l.hotLatency?.p99 ?? NaN)} / ${ms(l.backgroundLatency?.p99 ?? NaN)}`)
        .join('; ') +
      '.';
  }
  return `${head}\n${rows.join('\n')}${extra}`;
}

/** The seed's four promises against what workload 1 measured (roundrobin vs workflow_aware). */
export function headlineTable(result: SuiteResult): string | undefined {
  const w = result.workloads.find((x) => x.name === 'pipeline');
  const rr = w?.logics.find((l) => l.logic === 'roundrobin');
  const wa = w?.logics.find((l) => l.logic === 'workflow_aware');
  if (!w || !rr || !wa) return undefined;
  const memorySaved = 1 - wa.kvDuplication / rr.kvDuplication;
  return [
    '| | seed promise | roundrobin | workflow_aware | measured |',
    '|---|---|--:|--:|--:|',
    `| Latency per agent call (mean) | 3.3x lower | ${ms(rr.latency.mean)} ms | ${ms(wa.latency.mean)} ms | **${num(rr.latency.mean / wa.latency.mean, 2)}x lower** |`,
    `| Cache hit rate (token-weighted) | 75% instead of 15% | ${pct(rr.hitRate)} | ${pct(wa.hitRate)} | **${pct(wa.hitRate)}** (oracle ${pct(wa.oracleHitRate)}) |`,
    `| Throughput (calls/s) | 3x | ${num(rr.callsPerSec)} | ${num(wa.callsPerSec)} | **${num(wa.callsPerSec / rr.callsPerSec, 2)}x** |`,
    `| KV memory (resident blocks / distinct) | 30% less | ${num(rr.kvDuplication, 2)} | ${num(wa.kvDuplication, 2)} | **${pct(memorySaved)} less** |`,
  ].join('\n');
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const mark = (p: boolean | null): string => (p === null ? '–' : p ? 'met' : '**missed**');
  return [
    '| target | goal | measured | |',
    '|---|---|---|---|',
    ...checks.map((c) => `| ${c.description} | ${c.target} | ${c.measured} | ${mark(c.pass)} |`),
  ].join('\n');
}

const signed = (x: number): string => (x < 0 ? `−${msFine(-x)}` : `+${msFine(x)}`);

export function overheadTable(result: SuiteResult): string | undefined {
  const o = result.overhead;
  if (!o) return undefined;
  const rows = o.measurements.map(
    (m) =>
      `| ${m.target} | ${m.stream ? 'streamed' : 'JSON'} | ${int(m.callsPerSec)} | ${msFine(m.capacityLatency.p50)} | ${int(m.achievedRate)} | ${msFine(m.latency.p50)} | ${msFine(m.latency.p99)} | ${m.target === 'direct' ? '–' : `${signed(m.addedP50)} / ${signed(m.addedP99)}`} | ${msFine(m.cpuMsPerCall)} | ${msFine(m.clientLoopDelayP99)} | ${m.failed} |`,
  );
  return [
    `Pods without delays; ${o.options.connections} connections for capacity; ${o.options.rate} calls/s (evenly spaced) for latency; ${o.options.rounds} rounds in which every path is measured in turn, ${o.options.seconds} s each after a warm-up, pooled; chat completions of ${o.options.maxTokens} tokens. Real ms.`,
    '',
    '| path | response | calls/s (capacity) | p50 at capacity | calls/s (fixed rate) | p50 | p99 | added p50 / p99 | CPU ms/call | client loop delay p99 | failed |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

export function renderMarkdown(result: SuiteResult, checks: readonly TargetCheck[], svgName: string): string {
  const c = result.cluster;
  const m = result.machine;
  const out: string[] = [];
  out.push(`# Benchmark: ${result.name}`);
  out.push('');
  out.push(`Command: \`${result.command}\` at commit ${result.commit ?? 'unknown'}  `);
  out.push(
    `Ran ${result.startedAt} for ${Math.round(result.durationSeconds)} s on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average ${m.loadAverageBefore.map((x) => x.toFixed(2)).join(' ')} before, ${m.loadAverageAfter.map((x) => x.toFixed(2)).join(' ')} after.  `,
  );
  out.push(
    `Cluster: ${c.pods} simulated pods (Llama-3.1-8B on H100 timing), ${c.kvBlocks} KV blocks of 16 tokens per pod, time scale ${c.timeScale}, router health/metrics scrape every ${c.healthCheckIntervalS} s, seed ${c.seed}.`,
  );
  out.push('');
  out.push(
    'Latencies and throughputs are **simulated** (real time divided by the time scale); router overhead is **real** ms (client latency minus the pod’s own time for the same call). "Loop delay p99" is the event-loop delay of the load generator / the simulator process (real ms): a gauge of CPU contention on the machine during the run.',
  );
  out.push('');
  out.push(`![chart](${svgName})`);
  const headline = headlineTable(result);
  if (headline) {
    out.push('', '## The seed’s promises (workload 1, roundrobin vs workflow_aware)', '', headline);
  }
  out.push('', '## Targets', '', targetsTable(checks));
  for (const w of result.workloads) {
    out.push('', `## ${w.title}`, '', workloadShape(w), '', workloadTable(w));
  }
  if (result.errors.length > 0) {
    out.push('', '## Errors', '');
    for (const e of result.errors)
      out.push(`- ${e.workload} / ${e.logic}: ${e.message.split('\n')[0] ?? ''}`);
  }
  const overhead = overheadTable(result);
  if (overhead) out.push('', '## Router overhead microbenchmark', '', overhead);
  out.push('');
  return out.join('\n');
}
