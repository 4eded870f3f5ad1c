// The chart's documentation and what it points at: every value documented in values.yaml
// and listed in the README table (generated, so it cannot drift), the README's
// production-stack example, the Grafana dashboard's queries naming metrics the router and
// the operator really export, the probes' paths served by the real programs, and names that
// YAML 1.1 would read as booleans.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { OperatorMetrics, startMetricsServer, type MetricsServer } from '../../operator/metrics.ts';
import { http, parsePrometheus, startStack, type Stack } from '../helpers/router.ts';
import {
  CHART,
  REPO_ROOT,
  container,
  helmInstalled,
  ofKind,
  one,
  render,
  workload,
  type K8sObject,
} from './chart.ts';
import { valuesDocs, valuesTable } from './values-doc.ts';

const skip = !helmInstalled() && 'helm missing: run `make tools`';
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The README's `## Helm chart` section. */
function helmSection(): string {
  const start = README.indexOf('\n## Helm chart\n');
  assert.ok(start >= 0, 'README has a "## Helm chart" section');
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

describe('helm chart: values documentation', () => {
  test('every value has a default and a `# --` description in values.yaml', () => {
    const docs = valuesDocs();
    assert.ok(docs.length > 100);
    assert.deepEqual(
      docs.filter((d) => !d.description).map((d) => d.path),
      [],
      'values without a description',
    );
    assert.deepEqual(
      docs.filter((d) => d.default === undefined).map((d) => d.path),
      [],
      'schema fields missing from values.yaml',
    );
  });

  test('the README values table is the one generated from values.yaml and the schema', () => {
    assert.ok(
      helmSection().includes(valuesTable()),
      'README values table is stale: paste the output of valuesTable() from test/helm/values-doc.ts',
    );
  });

  test('the README covers install, upgrade, uninstall and an existing vLLM deployment', () => {
    const section = helmSection();
    for (const heading of [
      '### Install',
      '### Upgrade',
      '### Uninstall',
      '### Pointing it at an existing vLLM deployment',
      '### Values',
    ])
      assert.ok(section.includes(`\n${heading}\n`), heading);
    assert.match(section, /production-stack/);
  });
});

describe('helm chart: README examples render', { skip }, () => {
  test("the production-stack values select that chart's engine pods", () => {
    const block = /```yaml\n(# wr-values\.yaml[\s\S]*?)```/.exec(helmSection())?.[1];
    assert.ok(block, 'the wr-values.yaml example');
    const pool = one(render(parseYaml(block) as object), 'VllmPool');
    const spec = pool.spec as { selector: { matchLabels: Record<string, string> }; port: number; models?: string[] };
    assert.equal(pool.metadata.name, 'llama3');
    assert.deepEqual(spec.selector.matchLabels, { model: 'llama3', 'helm-release-name': 'vllm' });
    assert.equal(spec.port, 8000);
    assert.equal(spec.models, undefined, 'models discovered from the pods');
  });

  test('the Sentinel, Cluster and API key commands of the README render', () => {
    const sentinel = render({
      redis: {
        mode: 'external',
        external: { sentinel: { masterName: 'mymaster', hosts: ['sentinel-0:26379', 'sentinel-1:26379'] } },
      },
    });
    assert.ok(container(workload(sentinel, 'router')).args?.includes('--redis-sentinels=sentinel-0:26379,sentinel-1:26379'));
    const cluster = render({ redis: { mode: 'external', external: { cluster: { nodes: ['rc-0:6379', 'rc-1:6379'] } } } });
    assert.ok(container(workload(cluster, 'operator')).args?.includes('--redis-cluster-nodes=rc-0:6379,rc-1:6379'));
  });

  test('names that YAML 1.1 reads as booleans stay strings (release "yes" in namespace "y")', () => {
    const objects = render(
      { examplePool: { enabled: true }, operator: { watchNamespace: 'off' } },
      { release: 'yes', namespace: 'y' },
    );
    for (const o of objects) {
      assert.equal(typeof o.metadata.name, 'string', `${o.kind} name`);
      if (o.metadata.namespace !== undefined) assert.equal(typeof o.metadata.namespace, 'string', `${o.kind} namespace`);
      for (const [k, v] of Object.entries(o.metadata.labels ?? {})) assert.equal(typeof v, 'string', `${o.kind} label ${k}`);
    }
    assert.equal(one(objects, 'Role', 'yes-workflow-router-operator').metadata.namespace, 'off');
  });
});

interface Panel {
  id: number;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

describe('helm chart: what it points at exists', { skip }, () => {
  let stack: Stack;
  let operator: MetricsServer;
  let objects: K8sObject[];

  before(async () => {
    objects = render({ monitoring: { grafanaDashboard: { enabled: true } } });
    stack = await startStack({ pods: 1 });
    operator = await startMetricsServer(new OperatorMetrics(), '127.0.0.1', 0, () => true);
  });

  after(async () => {
    await stack?.close();
    await operator?.close();
  });

  test('the probes and ServiceMonitor paths answer 200 on the real router and operator', async () => {
    const targets: [string, string][] = [
      ['router', stack.router.url],
      ['operator', operator.url],
    ];
    for (const [component, base] of targets) {
      const c = container(workload(objects, component));
      const paths = [c.livenessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.path, '/metrics'];
      assert.deepEqual(paths.slice(0, 2), ['/healthz', '/readyz'], component);
      for (const path of paths) {
        const r = await http('GET', `${base}${path}`);
        assert.equal(r.status, 200, `${component} ${path}: ${r.text}`);
      }
    }
    for (const m of ofKind(render({ monitoring: { serviceMonitor: { enabled: true } } }), 'ServiceMonitor'))
      for (const e of (m.spec as { endpoints: { path: string }[] }).endpoints) assert.equal(e.path, '/metrics');
  });

  test(
    "the chart's dashboard is the project's (monitoring/grafana/workflow-router.json)",
    { skip: !existsSync(join(REPO_ROOT, 'monitoring/grafana/workflow-router.json')) && 'no project dashboard' },
    () => {
      assert.equal(
        readFileSync(join(CHART, 'dashboards/workflow-router.json'), 'utf8'),
        readFileSync(join(REPO_ROOT, 'monitoring/grafana/workflow-router.json'), 'utf8'),
        'cp monitoring/grafana/workflow-router.json helm/workflow-router/dashboards/',
      );
    },
  );

  test("the Grafana dashboard's queries name metrics the router and the operator export", async () => {
    const families = new Map<string, string>();
    const scraped = await http('GET', `${stack.router.url}/metrics`);
    for (const [name, type] of parsePrometheus(scraped.text).types) families.set(name, type);
    for (const m of await new OperatorMetrics().registry.getMetricsAsJSON()) families.set(m.name, String(m.type));
    const exported = new Set<string>();
    for (const [name, type] of families) {
      exported.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${name}${s}`);
    }
    const json = (one(objects, 'ConfigMap', '-dashboard').data as Record<string, string>)['workflow-router.json'];
    assert.equal(json, readFileSync(join(CHART, 'dashboards/workflow-router.json'), 'utf8').trimEnd());
    const dashboard = JSON.parse(json ?? '') as {
      panels: Panel[];
      templating: { list: { name: string }[] };
    };
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    assert.ok(exprs.length > 20);
    const named = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(workflow_(?:router|operator)_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '')));
    assert.deepEqual([...named].filter((n) => !exported.has(n)).sort(), [], 'metrics the dashboard queries but nobody exports');
    for (const family of [
      'workflow_router_requests_total',
      'workflow_router_workflows_live',
      'workflow_router_workflow_cache_hit_ratio',
      'workflow_operator_routable_pods',
    ])
      assert.ok(named.has(family), `the dashboard shows ${family}`);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource'), 'a data source variable');
  });
});
