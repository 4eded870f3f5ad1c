// The targets, checked against one run's figures. A target whose inputs were not part
// of the run (another pod count, a logic left out) is reported as not measured, never as met.

import type { LogicFigures } from './figures.ts';
import type { OverheadMeasurement } from './overhead.ts';
import type { SuiteResult, WorkloadResult } from './suite.ts';

export interface TargetCheck {
  id: string;
  description: string;
  target: string;
  measured: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const ratio = (x: number): string => `${x.toFixed(2)}x`;

function logicOf(w: WorkloadResult | undefined, logic: string): LogicFigures | undefined {
  return w?.logics.find((l) => l.logic === logic);
}

function notMeasured(id: string, description: string, target: string, why: string): TargetCheck {
  return { id, description, target, measured: `not measured (${why})`, pass: null };
}

export function checkTargets(result: SuiteResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const byName = new Map(result.workloads.map((w) => [w.name, w]));

  const pipe = byName.get('pipeline');
  const wa1 = logicOf(pipe, 'workflow_aware');
  const rr1 = logicOf(pipe, 'roundrobin');
  const on4 = result.cluster.pods === 4;
  const why1 = !pipe ? 'pipeline not run' : !on4 ? `${result.cluster.pods} pods, not 4` : 'logic not run';
  if (pipe && on4 && wa1 && rr1) {
    const speedup = rr1.latency.mean / wa1.latency.mean;
    checks.push({
      id: 'W1-latency',
      description: 'Pipeline, 4 pods: workflow_aware mean call latency vs roundrobin',
      target: '≥ 3.3x lower',
      measured: `${ratio(speedup)} lower (${ms(wa1.latency.mean)} vs ${ms(rr1.latency.mean)})`,
      pass: speedup >= 3.3,
    });
  } else
    checks.push(notMeasured('W1-latency', 'Pipeline, 4 pods: latency vs roundrobin', '≥ 3.3x lower', why1));
  if (pipe && on4 && wa1) {
    checks.push({
      id: 'W1-hit-rate',
      description: 'Pipeline, 4 pods: workflow_aware token-weighted cache hit rate',
      target: '≥ 75%',
      measured: pct(wa1.hitRate),
      pass: wa1.hitRate >= 0.75,
    });
    checks.push({
      id: 'W1-oracle',
      description: 'Pipeline, 4 pods: workflow_aware hit rate over the oracle',
      target: '≥ 95% of oracle',
      measured: `${pct(wa1.hitOfOracle)} (oracle ${pct(wa1.oracleHitRate)})`,
      pass: wa1.hitOfOracle >= 0.95,
    });
    checks.push({
      id: 'W1-duplication',
      description: 'Pipeline, 4 pods: workflow_aware KV duplication',
      target: '≤ 1.1',
      measured: wa1.kvDuplication.toFixed(3),
      pass: wa1.kvDuplication <= 1.1,
    });
  } else {
    checks.push(notMeasured('W1-hit-rate', 'Pipeline, 4 pods: hit rate', '≥ 75%', why1));
    checks.push(notMeasured('W1-oracle', 'Pipeline, 4 pods: hit rate over oracle', '≥ 95% of oracle', why1));
    checks.push(notMeasured('W1-duplication', 'Pipeline, 4 pods: KV duplication', '≤ 1.1', why1));
  }

  for (const w of result.workloads) {
    const wa = logicOf(w, 'workflow_aware');
    const others = w.logics.filter((l) => l.logic !== 'workflow_aware');
    const id = `${w.name}-p99`;
    if (!wa || others.length === 0) {
      checks.push(notMeasured(id, `${w.title}: p99 vs best other`, '≤ 1.05x best', 'logics missing'));
      continue;
    }
    const best = others.reduce((a, b) => (b.latency.p99 < a.latency.p99 ? b : a));
    const r = wa.latency.p99 / best.latency.p99;
    checks.push({
      id,
      description: `${w.title}: workflow_aware p99 latency vs the best other logic (${best.logic})`,
      target: '≤ 1.05x',
      measured: `${ratio(r)} (${ms(wa.latency.p99)} vs ${ms(best.latency.p99)})`,
      pass: r <= 1.05,
    });
  }

  const ctl = byName.get('control');
  const wa4 = logicOf(ctl, 'workflow_aware');
  const ll4 = logicOf(ctl, 'least_loaded');
  if (wa4 && ll4) {
    const rMean = wa4.latency.mean / ll4.latency.mean;
    const rP99 = wa4.latency.p99 / ll4.latency.p99;
    checks.push({
      id: 'W4-least-loaded',
      description: 'Control: workflow_aware mean and p99 latency vs least_loaded',
      target: '≤ 1.05x',
      measured: `mean ${ratio(rMean)}, p99 ${ratio(rP99)}`,
      pass: rMean <= 1.05 && rP99 <= 1.05,
    });
  } else checks.push(notMeasured('W4-least-loaded', 'Control vs least_loaded', '≤ 1.05x', 'not run'));

  const skew = byName.get('skew');
  const wa5 = logicOf(skew, 'workflow_aware');
  const s5 = logicOf(skew, 'session');
  if (wa5 && s5) {
    const r = s5.latency.p99 / wa5.latency.p99;
    checks.push({
      id: 'W5-session',
      description: 'Skew: workflow_aware p99 latency vs session',
      target: '≥ 2x lower',
      measured: `${ratio(r)} lower (${ms(wa5.latency.p99)} vs ${ms(s5.latency.p99)})`,
      pass: r >= 2,
    });
  } else checks.push(notMeasured('W5-session', 'Skew vs session', '≥ 2x lower', 'not run'));

  const m = result.overhead?.measurements ?? [];
  const find = (target: string, stream: boolean): OverheadMeasurement | undefined =>
    m.find((x) => x.target === target && x.stream === stream);
  for (const stream of [false, true]) {
    const kind = stream ? 'streamed' : 'non-streamed';
    const suffix = stream ? 'stream' : 'json';
    const router = find('router:workflow_aware', stream);
    const proxy = find('proxy', stream);
    if (router) {
      checks.push({
        id: `overhead-latency-${suffix}`,
        description: `Router (workflow_aware) added latency at ${router.rate} calls/s, ${kind}`,
        target: '≤ 1 ms p50, ≤ 3 ms p99',
        measured: `${router.addedP50 < 0 ? '−' : '+'}${ms(Math.abs(router.addedP50))} p50, ${router.addedP99 < 0 ? '−' : '+'}${ms(Math.abs(router.addedP99))} p99 (at ${router.achievedRate.toFixed(0)} calls/s)`,
        pass: router.addedP50 <= 1 && router.addedP99 <= 3,
      });
    } else
      checks.push(
        notMeasured(
          `overhead-latency-${suffix}`,
          'Router added latency',
          '≤ 1 ms p50, ≤ 3 ms p99',
          'not run',
        ),
      );
    if (router && proxy) {
      const r = router.callsPerSec / proxy.callsPerSec;
      checks.push({
        id: `overhead-capacity-${suffix}`,
        description: `Router (workflow_aware) calls/s over the minimal proxy's, ${kind}`,
        target: '≥ 70%',
        measured: `${pct(r)} (${router.callsPerSec.toFixed(0)} vs ${proxy.callsPerSec.toFixed(0)} calls/s)`,
        pass: r >= 0.7,
      });
    } else
      checks.push(notMeasured(`overhead-capacity-${suffix}`, 'Router vs minimal proxy', '≥ 70%', 'not run'));
  }
  return checks;
}
