import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CLUSTER, QUICK } from '../../bench/config.ts';
import type { LogicFigures } from '../../bench/figures.ts';
import type { OverheadMeasurement } from '../../bench/overhead.ts';
import { headlineTable, renderMarkdown } from '../../bench/report/markdown.ts';
import { escapeXml, renderSvg } from '../../bench/report/svg.ts';
import { summarize } from '../../bench/stats.ts';
import type { SuiteResult, WorkloadResult } from '../../bench/suite.ts';
import { checkTargets } from '../../bench/targets.ts';
import { WORKLOAD_NAMES } from '../../bench/workloads/types.ts';

function figures(
  logic: string,
  meanMs: number,
  p99Ms: number,
  extra: Partial<LogicFigures> = {},
): LogicFigures {
  const lat = { ...summarize([meanMs]), p99: p99Ms };
  return {
    logic,
    calls: 10,
    failed: 0,
    latency: lat,
    ttft: lat,
    callsPerSec: 1000 / meanMs,
    outputTokensPerSec: 16_000 / meanMs,
    promptTokensPerSec: 0,
    hitRate: 0.5,
    oracleHitRate: 0.84,
    hitOfOracle: 0.5 / 0.84,
    kvDuplication: 2,
    kvDuplicationMean: 2,
    kvResidentBlocks: 200,
    kvDistinctBlocks: 100,
    loadMaxOverMean: 1.1,
    meanLoadPerPod: [1, 1, 1, 1],
    callsPerPod: [3, 3, 2, 2],
    placements: {},
    routerOverhead: summarize([1, 2, 3]),
    routerCpuMsPerCall: 1,
    podsCpuMsPerCall: 1,
    clientCpuMsPerCall: 1,
    podQueueMs: 0,
    preemptions: 0,
    evictions: 0,
    lostRecords: 0,
    clientLoopDelayP99: 11,
    podsLoopDelayP99: 11,
    wallSeconds: 1,
    ...extra,
  };
}

function workload(name: (typeof WORKLOAD_NAMES)[number], logics: LogicFigures[]): WorkloadResult {
  const run = QUICK[name];
  return {
    name,
    title: name,
    mode: run.mode,
    concurrency: run.concurrency,
    rate: run.rate,
    durationSeconds: run.durationSeconds,
    rampSeconds: run.rampSeconds,
    params: run.params,
    workflows: 1,
    calls: 10,
    logics,
  };
}

function overhead(
  target: string,
  stream: boolean,
  cps: number,
  added50: number,
  added99: number,
): OverheadMeasurement {
  return {
    target,
    stream,
    callsPerSec: cps,
    capacityLatency: summarize([5]),
    rate: 1000,
    achievedRate: 1000,
    latency: summarize([1, 2]),
    addedP50: added50,
    addedP99: added99,
    failed: 0,
    cpuMsPerCall: 0.5,
    clientLoopDelayP99: 11,
  };
}

function result(): SuiteResult {
  const others = (base: number): LogicFigures[] => [
    figures('roundrobin', base * 4, base * 8),
    figures('least_loaded', base * 2, base * 3),
    figures('session', base * 1.5, base * 6),
    figures('prefix_aware', base * 1.1, base * 2),
  ];
  return {
    name: 'unit',
    command: 'node bench/main.ts --quick',
    commit: 'abc',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 1,
    machine: {
      cpu: 'cpu',
      cores: 2,
      memoryGiB: 4,
      os: 'Linux',
      node: 'v24',
      loadAverageBefore: [0, 0, 0],
      loadAverageAfter: [0, 0, 0],
    },
    cluster: DEFAULT_CLUSTER,
    units: {},
    workloads: WORKLOAD_NAMES.map((name) =>
      workload(name, [
        ...others(100),
        figures('workflow_aware', 100, name === 'fanout' ? 300 : 150, {
          hitRate: 0.82,
          hitOfOracle: 0.82 / 0.84,
          kvDuplication: 1.02,
        }),
      ]),
    ),
    overhead: {
      options: {
        pods: 4,
        logics: ['workflow_aware'],
        connections: 32,
        rate: 1000,
        seconds: 1,
        rounds: 2,
        maxTokens: 4,
        sessionHeader: 'x',
        healthCheckIntervalS: 1,
      },
      measurements: [
        overhead('direct', false, 3000, 0, 0),
        overhead('proxy', false, 2000, 0.3, 1),
        overhead('router:workflow_aware', false, 1500, 0.8, 2.5),
        overhead('direct', true, 2500, 0, 0),
        overhead('proxy', true, 1800, 0.4, 1),
        overhead('router:workflow_aware', true, 1000, 1.5, 4),
      ],
      errors: [],
    },
    errors: [],
  };
}

describe('checkTargets', () => {
  const checks = new Map(checkTargets(result()).map((c) => [c.id, c]));

  it('checks workload 1 against roundrobin and the oracle', () => {
    assert.equal(checks.get('W1-latency')?.pass, true); // 400 / 100 = 4x
    assert.equal(checks.get('W1-hit-rate')?.pass, true);
    assert.equal(checks.get('W1-oracle')?.pass, true);
    assert.equal(checks.get('W1-duplication')?.pass, true);
  });

  it('compares p99 with the best other logic of each workload', () => {
    // 150 vs prefix_aware's 200: better. Fan-out: 300 vs 200: missed.
    assert.equal(checks.get('pipeline-p99')?.pass, true);
    assert.equal(checks.get('fanout-p99')?.pass, false);
    assert.match(checks.get('fanout-p99')?.measured ?? '', /1\.50x/);
  });

  it('checks control against least_loaded and skew against session', () => {
    assert.equal(checks.get('W4-least-loaded')?.pass, true); // 100 vs 200 mean, 150 vs 300 p99
    assert.equal(checks.get('W5-session')?.pass, true); // 600 / 150 = 4x
  });

  it('checks the router overhead and capacity per response kind', () => {
    assert.equal(checks.get('overhead-latency-json')?.pass, true);
    assert.equal(checks.get('overhead-latency-stream')?.pass, false);
    assert.equal(checks.get('overhead-capacity-json')?.pass, true); // 75%
    assert.equal(checks.get('overhead-capacity-stream')?.pass, false); // 55.6%
  });

  it('reports a target as not measured, never as met, when its inputs were not run', () => {
    const r = result();
    r.cluster = { ...r.cluster, pods: 3 };
    r.overhead = undefined;
    const c = new Map(checkTargets(r).map((x) => [x.id, x]));
    assert.equal(c.get('W1-latency')?.pass, null);
    assert.match(c.get('W1-latency')?.measured ?? '', /not measured/);
    assert.equal(c.get('overhead-latency-json')?.pass, null);
  });
});

describe('reports', () => {
  it('renders the seed’s four headline rows from workload 1', () => {
    const table = headlineTable(result()) ?? '';
    assert.match(table, /Latency per agent call/);
    assert.match(table, /\*\*4\.00x lower\*\*/);
    assert.match(table, /Cache hit rate/);
    assert.match(table, /Throughput/);
    assert.match(table, /KV memory/);
    assert.match(table, /\*\*49\.0% less\*\*/); // 1 - 1.02 / 2
  });

  it('writes markdown with every workload and the overhead table', () => {
    const md = renderMarkdown(result(), checkTargets(result()), 'unit.svg');
    for (const name of WORKLOAD_NAMES) assert.ok(md.includes(`## ${name}`));
    assert.ok(md.includes('## Router overhead microbenchmark'));
    assert.ok(md.includes('![chart](unit.svg)'));
    assert.ok(!md.includes('NaN'));
  });

  it('draws a self-contained SVG with a bar per logic and no NaN', () => {
    const svg = renderSvg(result());
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.ok(!svg.includes('NaN'));
    // Per workload: latency (mean and pale p99), hit rate, throughput; then the overhead panels
    // (capacity JSON and streamed, added latency with its pale p99).
    const bars = svg.match(/<title>workflow_aware: /g) ?? [];
    assert.equal(bars.length, 5 * 4);
    assert.equal((svg.match(/<title>router:workflow_aware: /g) ?? []).length, 4);
    const opened = (svg.match(/<text\b/g) ?? []).length;
    assert.equal(opened, (svg.match(/<\/text>/g) ?? []).length);
  });

  it('escapes text for XML', () => {
    assert.equal(escapeXml(`a<b>&"c'`), 'a&#60;b&#62;&#38;&#34;c&#39;');
  });
});
