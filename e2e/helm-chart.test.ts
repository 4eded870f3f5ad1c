// helm/workflow-router on the Kubernetes API emulator: the rendered manifests applied with the
// real kubectl; then the operator and the router run as the kubelet would start them from the
// Deployments kubectl stored (args, env from Secrets and fieldRefs, the keys Secret mounted),
// the operator with only `--kubeconfig` added. The operator reconciles the chart's example
// VllmPool (two simulated vLLM pods), the router routes through it, a Workflow gets its
// finalizer, status and Events; every request the operator made is checked against the
// chart's RBAC, and every rule is used. Then helm install / upgrade / uninstall of the chart.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { createRedisRoutingTable } from '../core/store/redis/routing-table-store.ts';
import { startSimPod, type SimPod } from '../sim/server.ts';
import {
  CHART,
  REPO_ROOT,
  containerProcess,
  parseManifests,
  template,
  type Container,
  type ContainerProcess,
  type K8sObject,
  type PolicyRule,
  type Volume,
} from '../test/helm/chart.ts';
import { allows, grantUsed, grants, requestAttributes } from '../test/helm/rbac.ts';
import { freePort, startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { eventually } from './helpers/eventually.ts';
import { Helm, helmInstalled } from './helpers/helm.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import { startKubeApi, type KubeApi, type KubeObject, type RequestRecord } from './kube-api/server.ts';

const NS = 'llm';
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const ADMIN_KEY = 'sk-helm-e2e-admin-0001';
const OPERATOR_POD = 'wr-workflow-router-operator-6b7f9c-x4k2p';
const LABELS = { app: 'vllm', model: 'llama-3-1-8b' };
const GROUP = 'workflow-router.vllm.ai/v1alpha1';

/** A stand-in for the Prometheus Operator's ServiceMonitor CRD (the chart only creates instances). */
const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: {
      plural: 'servicemonitors',
      singular: 'servicemonitor',
      kind: 'ServiceMonitor',
      listKind: 'ServiceMonitorList',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
      },
    ],
  },
};

interface Running {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Starts a program of the image as its container would run it (bin/<program>.js). */
function run(p: ContainerProcess, extra: string[] = []): Running {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', `${p.program}.js`), ...p.argv, ...extra], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...p.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (d: Buffer): void => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

async function stop(r: Running | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await r.exited;
  clearTimeout(timer);
}

function decodeSecrets(list: { items: K8sObject[] }): Map<string, Record<string, string>> {
  return new Map(
    list.items.map((s) => [
      s.metadata.name,
      Object.fromEntries(
        Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString('utf8'),
        ]),
      ),
    ]),
  );
}

interface StoredDeployment extends K8sObject {
  spec: { template: { spec: { containers: Container[]; volumes?: Volume[] } } };
}

function pod(name: string, ip: string, ready: boolean): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { ...LABELS } },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.10.0' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text() };
}

describe(
  'helm chart on the Kubernetes API emulator',
  { skip: !(helmInstalled() && kubectlInstalled()) && 'helm or kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let kubectl: Kubectl;
    let redis: RedisServer;
    const sims: SimPod[] = [];
    const records: RequestRecord[] = [];
    const processes: ContainerProcess[] = [];
    let operator: Running | undefined;
    let router: Running | undefined;
    let work: string;
    let routerPort: number;
    let operatorPort: number;
    let simPort: number;
    let operatorWindow = { from: 0, to: Infinity };
    const operatorRecords: RequestRecord[] = [];

    before(async () => {
      api = await startKubeApi({
        onRequest: (r) => {
          records.push(r);
          const now = Date.now();
          if (now >= operatorWindow.from && now <= operatorWindow.to) operatorRecords.push(r);
        },
      });
      kubectl = new Kubectl(api.kubeconfigPath);
      redis = await startRedis();
      work = mkdtempSync(join(tmpdir(), 'helm-e2e-'));
      simPort = await freePort();
      // Two "pods": simulated vLLM servers on two loopback addresses, one port (as pods share a port).
      for (const host of ['127.0.0.2', '127.0.0.3'])
        sims.push(await startSimPod({ host, port: simPort, timeScale: 0.02, logLevel: 'error' }));
      routerPort = await freePort();
      operatorPort = await freePort();
    });

    after(async () => {
      await stop(router);
      await stop(operator);
      await Promise.all(sims.map((s) => s.close()));
      await redis?.stop();
      await api?.close();
      for (const p of processes) rmSync(p.dir, { recursive: true, force: true });
      if (work) rmSync(work, { recursive: true, force: true });
      if (kubectl) rmSync(kubectl.cacheDir, { recursive: true, force: true });
    });

    const values = (): object => ({
      redis: { mode: 'external', external: { existingSecret: 'redis-conn', existingSecretKey: 'url' } },
      router: {
        containerPort: routerPort,
        logLevel: 'warn',
        apiKeys: {
          enabled: true,
          keys: [
            {
              sha256: createHash('sha256').update(ADMIN_KEY).digest('hex'),
              tenant: 'default',
              role: 'admin',
              label: 'e2e',
            },
          ],
        },
      },
      operator: { metricsPort: operatorPort, statusIntervalSeconds: 0.2, logLevel: 'warn' },
      examplePool: {
        enabled: true,
        port: simPort,
        models: [MODEL],
        health: { path: '/health', periodSeconds: 1 },
      },
      monitoring: { serviceMonitor: { enabled: true }, grafanaDashboard: { enabled: true } },
    });

    test('kubectl applies the rendered manifests: CRDs first, then every object', async () => {
      const r = template(values(), { namespace: NS, includeCrds: true });
      assert.equal(r.code, 0, r.stderr);
      const objects = parseManifests(r.stdout);
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
      const rest = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
      assert.equal(crds.length, 2);
      writeFileSync(
        join(work, 'crds.yaml'),
        [...crds, SERVICE_MONITOR_CRD].map((o) => stringify(o, { version: '1.1' })).join('---\n'),
      );
      writeFileSync(
        join(work, 'chart.yaml'),
        rest.map((o) => stringify(o, { version: '1.1' })).join('---\n'),
      );

      await kubectl.ok(['create', 'namespace', NS]);
      await kubectl.ok([
        '-n',
        NS,
        'create',
        'secret',
        'generic',
        'redis-conn',
        `--from-literal=url=${redis.url}`,
      ]);
      await kubectl.ok(['apply', '-f', join(work, 'crds.yaml')]);
      await kubectl.ok(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=20s']);
      const applied = await kubectl.ok(['apply', '-f', join(work, 'chart.yaml')]);
      for (const o of rest)
        assert.match(applied, new RegExp(`${o.metadata.name} created`), `${o.kind} ${o.metadata.name}`);
      assert.equal(api.list('apps/v1', 'deployments', NS).length, 2);
      assert.ok(api.get(GROUP, 'vllmpools', NS, 'llama-8b'));
      assert.ok(api.get('monitoring.coreos.com/v1', 'servicemonitors', NS, 'wr-workflow-router-router'));
      assert.ok(
        api.get('rbac.authorization.k8s.io/v1', 'clusterroles', undefined, 'wr-workflow-router-operator'),
      );
    });

    /** The process the kubelet would start for a stored Deployment's first container. */
    async function processOf(name: string, fieldRefs: Record<string, string>): Promise<ContainerProcess> {
      const deployment = JSON.parse(
        await kubectl.ok(['-n', NS, 'get', 'deployment', name, '-o', 'json']),
      ) as StoredDeployment;
      const secrets = decodeSecrets(
        JSON.parse(await kubectl.ok(['-n', NS, 'get', 'secrets', '-o', 'json'])) as { items: K8sObject[] },
      );
      const spec = deployment.spec.template.spec;
      const c = spec.containers[0];
      assert.ok(c);
      const p = containerProcess(c, { secrets, fieldRefs, volumes: spec.volumes ?? [] });
      processes.push(p);
      return p;
    }

    test('the operator, started from its Deployment with --kubeconfig added, reconciles the example VllmPool', async () => {
      const p = await processOf('wr-workflow-router-operator', {
        'metadata.name': OPERATOR_POD,
        'metadata.namespace': NS,
      });
      assert.equal(p.program, 'workflow-operator');
      assert.ok(
        !p.argv.some((a) => a.startsWith('--kubeconfig')),
        'the chart relies on the in-cluster config',
      );
      api.apply(pod('vllm-0', '127.0.0.2', true));
      api.apply(pod('vllm-1', '127.0.0.3', true));
      operatorWindow = { from: Date.now(), to: Infinity };
      operator = run(p, ['--kubeconfig', api.kubeconfigPath]);

      const deployment = JSON.parse(
        await kubectl.ok(['-n', NS, 'get', 'deployment', 'wr-workflow-router-operator', '-o', 'json']),
      ) as StoredDeployment;
      const c = deployment.spec.template.spec.containers[0] as Container;
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        assert.equal(probe?.httpGet?.port, 'metrics');
        await eventually(`operator ${probe?.httpGet?.path}`, async () => {
          const r = await get(`http://127.0.0.1:${operatorPort}${probe?.httpGet?.path}`).catch(
            () => undefined,
          );
          return r?.status === 200;
        });
      }
      const metrics = await get(`http://127.0.0.1:${operatorPort}/metrics`);
      assert.match(metrics.text, /workflow_operator_leader/);

      const lease = await eventually('the Lease held by the operator pod', () => {
        const l = api.get('coordination.k8s.io/v1', 'leases', NS, 'wr-workflow-router-operator');
        return (l?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === OPERATOR_POD && l;
      });
      assert.ok(lease);
      const status = await eventually(
        'VllmPool llama-8b with 2/2 ready pods',
        () => {
          const s = api.get(GROUP, 'vllmpools', NS, 'llama-8b')?.status as
            { readyPods?: number; ready?: string } | undefined;
          return s?.readyPods === 2 && s;
        },
        30_000,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\noperator output:\n${operator?.output.join('')}`);
      });
      assert.equal(status.ready, '2/2');
      const table = await createRedisRoutingTable({ url: redis.url, prefix: 'wr:' });
      try {
        const t = await table.read();
        const pool = t.pools.find((x) => x.namespace === NS && x.name === 'llama-8b');
        assert.deepEqual(pool?.pods.map((x) => x.url).sort(), [
          `http://127.0.0.2:${simPort}`,
          `http://127.0.0.3:${simPort}`,
        ]);
      } finally {
        await table.close();
      }
      const out = await kubectl.ok(['-n', NS, 'get', 'vllmpools']);
      assert.match(out, /llama-8b\s+2\/2/);
    });

    test('the router, started from its Deployment, routes through the pool with the keys from the Secret', async () => {
      const p = await processOf('wr-workflow-router-router', {});
      assert.equal(p.program, 'workflow-router');
      router = run(p);
      const deployment = JSON.parse(
        await kubectl.ok(['-n', NS, 'get', 'deployment', 'wr-workflow-router-router', '-o', 'json']),
      ) as StoredDeployment;
      const c = deployment.spec.template.spec.containers[0] as Container;
      assert.equal(c.ports?.find((x) => x.name === 'http')?.containerPort, routerPort);
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        assert.equal(probe?.httpGet?.port, 'http');
        await eventually(
          `router ${probe?.httpGet?.path}`,
          async () =>
            (await get(`http://127.0.0.1:${routerPort}${probe?.httpGet?.path}`).catch(() => undefined))
              ?.status === 200,
          30_000,
        ).catch((e: unknown) => {
          throw new Error(`${String(e)}\nrouter output:\n${router?.output.join('')}`);
        });
      }
      const body = JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Extract the key financial figures.' }],
        max_tokens: 4,
        workflow_metadata: { workflow_id: 'financial-analysis', agent_id: 'data_analyst' },
      });
      const call = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${routerPort}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      assert.equal((await call({})).status, 401, 'keys are required');
      const ok = await call({ authorization: `Bearer ${ADMIN_KEY}` });
      assert.equal(ok.status, 200, await ok.clone().text());
      const answer = (await ok.json()) as { model: string; choices: unknown[] };
      assert.equal(answer.model, MODEL);
      const served = sims.map((s) => s.stats().requests.filter((r) => r.status === 200).length);
      assert.equal(
        served.reduce((a, b) => a + b, 0),
        1,
      );
    });

    test('a Workflow gets the finalizer, live status and Events; a pod that leaves and returns is reported', async () => {
      const manifest = readFileSync(
        join(REPO_ROOT, 'examples/k8s/financial-analysis-workflow.yaml'),
        'utf8',
      ).replace('namespace: default', `namespace: ${NS}`);
      await kubectl.ok(['apply', '-f', '-'], manifest);
      const pinned = await eventually(
        'the Workflow pinned, with the finalizer',
        () => {
          const w = api.get(GROUP, 'workflows', NS, 'financial-analysis');
          const s = w?.status as { pinnedPod?: string; calls?: number } | undefined;
          const done = w?.metadata.finalizers?.includes('workflow-router.vllm.ai/cleanup') && s?.calls === 1;
          return done ? s.pinnedPod : undefined;
        },
        30_000,
      ).catch((e: unknown) => {
        throw new Error(
          `${String(e)}\n${JSON.stringify(api.get(GROUP, 'workflows', NS, 'financial-analysis'))}`,
        );
      });
      assert.ok(['vllm-0', 'vllm-1'].includes(pinned), pinned);
      const described = await kubectl.ok(['-n', NS, 'describe', 'workflow', 'financial-analysis']);
      assert.match(described, /Pinned/);

      // vllm-1 leaves (not ready) and comes back: PodLost, then PodReady again (an Event repeated, patched).
      api.apply(pod('vllm-1', '127.0.0.3', false));
      await eventually('PodLost', () =>
        api
          .list('v1', 'events', NS)
          .some((e) => e.reason === 'PodLost' && String(e.message).includes('vllm-1')),
      );
      api.apply(pod('vllm-1', '127.0.0.3', true));
      await eventually('PodReady for vllm-1 counted twice', () =>
        api
          .list('v1', 'events', NS)
          .some((e) => e.reason === 'PodReady' && String(e.message).includes('vllm-1') && e.count === 2),
      );

      await kubectl.ok(['-n', NS, 'delete', 'workflow', 'financial-analysis', '--timeout=30s']);
      assert.equal(api.get(GROUP, 'workflows', NS, 'financial-analysis'), undefined);
    });

    test("every request the operator made is allowed by the chart's RBAC, and every rule is used", async () => {
      // A watch is recorded when it ends: end them (the informers resume) before stopping.
      const watching = api.openWatches;
      assert.ok(watching >= 3, `operator watches: ${watching}`);
      api.closeWatches();
      await eventually('the informers watching again', () => api.openWatches >= watching);
      await stop(router);
      await stop(operator);
      operatorWindow = { ...operatorWindow, to: Date.now() };
      const fromOperator = operatorRecords.filter((r) => !/^(kubectl|helm)\//i.test(r.userAgent));
      assert.ok(fromOperator.length > 0);
      const role = (kind: string, ns: string | undefined, name: string): PolicyRule[] => {
        const o = api.get('rbac.authorization.k8s.io/v1', kind, ns, name) as
          (KubeObject & { rules: PolicyRule[] }) | undefined;
        assert.ok(o, `${kind} ${name}`);
        return o.rules;
      };
      const clusterRules = role('clusterroles', undefined, 'wr-workflow-router-operator');
      const leaseRules = role('roles', NS, 'wr-workflow-router-operator-leader-election');
      const binding = api.get(
        'rbac.authorization.k8s.io/v1',
        'rolebindings',
        NS,
        'wr-workflow-router-operator-leader-election',
      );
      assert.deepEqual((binding?.subjects as { name: string }[])[0]?.name, 'wr-workflow-router-operator');

      const used = new Set<string>();
      const denied: string[] = [];
      for (const r of fromOperator) {
        const a = requestAttributes(r.method, r.url);
        if (!a) {
          // Non-resource URLs every authenticated user may GET (system:discovery).
          assert.match(`${r.method} ${r.url}`, /^GET \/(api|apis|version|healthz|openapi)\b/);
          continue;
        }
        // The Role binds in the release namespace only; the ClusterRole everywhere.
        const rules = a.namespace === NS ? [...clusterRules, ...leaseRules] : clusterRules;
        if (!allows(rules, a)) denied.push(`${r.method} ${r.url}`);
        const grant =
          grantUsed(clusterRules, a) ?? (a.namespace === NS ? grantUsed(leaseRules, a) : undefined);
        if (grant) used.add(grant);
      }
      assert.deepEqual(denied, [], 'requests the chart RBAC would forbid');
      const all = new Set([...grants(clusterRules), ...grants(leaseRules)]);
      assert.deepEqual([...all].filter((g) => !used.has(g)).sort(), [], 'rules the operator never used');
      const agents = new Set(fromOperator.map((r) => r.userAgent));
      assert.ok(
        [...agents].every((ua) => !/kubectl|helm/i.test(ua)),
        [...agents].join(', '),
      );
    });

    test('helm install, upgrade (keeping the Redis password) and uninstall of the chart', async () => {
      // A cluster of its own: CRDs applied by kubectl first would conflict with Helm 4's
      // server-side apply of crds/ (as on a real cluster; see the README).
      const cluster = await startKubeApi();
      const helm = new Helm(cluster.kubeconfigPath);
      const api = cluster;
      const kubectl = new Kubectl(cluster.kubeconfigPath);
      try {
        // The Prometheus Operator's CRD, which a cluster with monitoring has.
        await kubectl.ok(['apply', '-f', '-'], stringify(SERVICE_MONITOR_CRD, { version: '1.1' }));
        const ns = 'llm-helm';
        const installed = await helm.ok([
          'install',
          'wr2',
          CHART,
          '--namespace',
          ns,
          '--create-namespace',
          '--set',
          'monitoring.serviceMonitor.enabled=true,monitoring.grafanaDashboard.enabled=true,examplePool.enabled=true',
        ]);
        assert.match(installed, /STATUS: deployed/);
        assert.match(installed, /http:\/\/wr2-workflow-router\.llm-helm\.svc\/v1/);
        const secret = (): string | undefined =>
          (
            api.get('v1', 'secrets', ns, 'wr2-workflow-router-redis')?.data as
              Record<string, string> | undefined
          )?.['redis-password'];
        const password = secret();
        assert.ok(password);
        assert.ok(api.get('apps/v1', 'statefulsets', ns, 'wr2-workflow-router-redis'));
        assert.ok(api.get(GROUP, 'vllmpools', ns, 'llama-8b'));
        // The Workflow the NOTES tell the user to apply is accepted as printed.
        const manifest = /<<'EOF'\n([\s\S]*?)\nEOF\n/.exec(installed)?.[1];
        assert.ok(manifest, 'NOTES show a Workflow manifest');
        await kubectl.ok(['apply', '-n', ns, '-f', '-'], manifest);
        const wf = api.get(GROUP, 'workflows', ns, 'financial-analysis');
        assert.equal((wf?.spec as { poolRef: string }).poolRef, 'llama-8b');

        await helm.ok([
          'upgrade',
          'wr2',
          CHART,
          '--namespace',
          ns,
          '--reuse-values',
          '--set',
          'router.autoscaling.maxReplicas=20',
        ]);
        const hpa = api.get('autoscaling/v2', 'horizontalpodautoscalers', ns, 'wr2-workflow-router-router');
        assert.equal((hpa?.spec as { maxReplicas: number }).maxReplicas, 20);
        assert.equal(secret(), password, 'the upgrade keeps the bundled Redis password');
        assert.match(await helm.ok(['list', '--namespace', ns]), /wr2\s+llm-helm\s+2\s/);

        await helm.ok(['uninstall', 'wr2', '--namespace', ns]);
        assert.equal(api.get('apps/v1', 'deployments', ns, 'wr2-workflow-router-router'), undefined);
        assert.equal(
          api.get('rbac.authorization.k8s.io/v1', 'clusterroles', undefined, 'wr2-workflow-router-operator'),
          undefined,
        );
        assert.ok(
          api.get(
            'apiextensions.k8s.io/v1',
            'customresourcedefinitions',
            undefined,
            'vllmpools.workflow-router.vllm.ai',
          ),
        );
      } finally {
        rmSync(helm.home, { recursive: true, force: true });
        rmSync(kubectl.cacheDir, { recursive: true, force: true });
        await cluster.close();
      }
    });
  },
);
