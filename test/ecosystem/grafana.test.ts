// The Grafana dashboard (monitoring/grafana/workflow-router.json): every metric its queries use
// is one the router or the operator really exports (their own registries, so a renamed family
// fails here), and it has the panels operators look for.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { MemoryStore } from '../../core/store/memory/memory-store.ts';
import { makeConfig } from '../../router/config.ts';
import { TopWorkflows } from '../../router/dashboard/top-workflows.ts';
import { RouterMetrics } from '../../router/metrics.ts';
import { REPO_ROOT } from '../helpers/router.ts';

interface Target {
  expr?: string;
  query?: string | { query?: string };
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string } }[] };
}

const PROMQL_WORDS = new Set([
  // aggregations, functions and keywords that look like identifiers
  ...['sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'stdvar', 'group'],
  ...['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'label_values'],
  ...['abs', 'ceil', 'floor', 'round', 'clamp', 'clamp_min', 'clamp_max', 'vector', 'scalar', 'time'],
  ...['absent', 'changes', 'resets', 'sort', 'sort_desc', 'label_replace', 'label_join'],
  ...['avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time'],
  ...[
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'bool',
    'and',
    'or',
    'unless',
    'offset',
  ],
  'le',
]);

/** Metric names a PromQL expression reads (label matchers, groupings, strings and variables removed). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    // label_values(metric, label): only the first argument is a metric.
    .replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*\w+\s*\)/g, '$1')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n)))];
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function queryText(q: Target['query']): string | undefined {
  return typeof q === 'string' ? q : q?.query;
}

/** Exported families with their sample names (a histogram also exports _bucket, _sum, _count). */
interface MetricsRegistry {
  getMetricsAsJSON(): Promise<{ name: string; type: unknown }[]>;
}

async function exportedNames(registry: MetricsRegistry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

/** The operator's registry when the operator exports metrics (an exported class with a `registry`). */
async function operatorRegistries(): Promise<MetricsRegistry[]> {
  const path = `${REPO_ROOT}operator/metrics.ts`;
  if (!existsSync(path)) return [];
  const mod = (await import(path)) as Record<string, unknown>;
  const registries: MetricsRegistry[] = [];
  for (const value of Object.values(mod)) {
    if (typeof value !== 'function' || value.length > 0) continue;
    try {
      const instance: unknown = Reflect.construct(value, []);
      if (instance !== null && typeof instance === 'object' && 'registry' in instance) {
        const registry: unknown = instance.registry;
        if (registry instanceof Registry) registries.push(registry as MetricsRegistry);
      }
    } catch {
      // Not a metrics class.
    }
  }
  return registries;
}

const dashboard = JSON.parse(
  readFileSync(`${REPO_ROOT}monitoring/grafana/workflow-router.json`, 'utf8'),
) as Dashboard;

describe('Grafana dashboard', () => {
  test('the PromQL reader finds metric names and nothing else', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, pod) (rate(a_seconds_bucket{job=~"$job", outcome="ok"}[$__rate_interval]))) / ignoring(x) b_total',
      ),
      ['a_seconds_bucket', 'b_total'],
    );
    assert.deepEqual(metricNames('max by (tenant, workflow) (c{job=~"$job"})'), ['c']);
    assert.deepEqual(metricNames('label_values(d_total, job)'), ['d_total']);
  });

  test('every metric a query uses is exported by the router or the operator', async () => {
    const metrics = new RouterMetrics();
    // Registers the bounded per-workflow families (on by default).
    new TopWorkflows(new MemoryStore(), makeConfig({}), metrics);
    const exported = await exportedNames(metrics.registry);
    const operators = await operatorRegistries();
    for (const registry of operators) for (const name of await exportedNames(registry)) exported.add(name);

    const used = new Map<string, string>();
    const panels = allPanels(dashboard.panels);
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? queryText(target.query);
        assert.ok(expr, `panel "${panel.title}" has a target without a query`);
        for (const name of metricNames(expr)) used.set(name, panel.title);
      }
    }
    for (const variable of dashboard.templating.list) {
      const q = queryText(variable.query);
      if (variable.type === 'query' && q)
        for (const name of metricNames(q)) used.set(name, `$${variable.name}`);
    }
    assert.ok(used.size >= 15, `only ${used.size} metrics used`);
    for (const [name, where] of used) {
      if (name.startsWith('workflow_operator_') && operators.length === 0) continue;
      assert.ok(exported.has(name), `"${where}" queries ${name}, which nothing exports`);
    }
  });

  test('it has the panels the issue asks for, one data source variable, and a stable uid', () => {
    const titles = allPanels(dashboard.panels).map((p) => p.title.toLowerCase());
    for (const wanted of [
      'request rate per pod',
      'latency per pod',
      'time to first token per pod',
      'cache hit rate (overall)',
      'cache hit rate per workflow',
      'pins, migrations and spills',
      'message queue depth',
      'redis',
    ]) {
      assert.ok(
        titles.some((t) => t.startsWith(wanted)),
        `no panel "${wanted}"`,
      );
    }
    assert.equal(dashboard.uid, 'workflow-router');
    assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'));
    const text = JSON.stringify(dashboard);
    assert.ok(!text.includes('DS_PROMETHEUS'), 'no import-time inputs: the chart provisions it as is');
  });
});
