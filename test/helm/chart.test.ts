// helm/workflow-router rendered by the real helm (v4) for the default values and every
// documented combination: lint --strict, the rendered objects (images, security contexts,
// selectors, probes), the flags and variables the chart passes (each accepted by the real
// router and operator CLIs, with the values the user set), RBAC against the operator's
// Kubernetes calls, and the schema refusing bad values with its own message.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYamlText } from 'yaml';
import { parseKeysFile } from '../../router/http/api-keys.ts';
import { parseCli as parseRouterCli } from '../../router/cli.ts';
import { parseCli as parseOperatorCli } from '../../operator/cli.ts';
import type { OperatorConfig } from '../../operator/config.ts';
import type { RouterConfig } from '../../router/config.ts';
import {
  CHART,
  REPO_ROOT,
  appVersion,
  container,
  containerProcess,
  entrypointPrograms,
  helm,
  helmInstalled,
  inRepo,
  lint,
  ofKind,
  one,
  render,
  secretData,
  template,
  withEnv,
  workload,
  type K8sObject,
  type PolicyRule,
  type Workload,
} from './chart.ts';

const DIGEST = createHash('sha256').update('sk-acme-admin-0001').digest('hex');

/** Secrets the combinations reference but do not make (the user's own). */
const USER_SECRETS = new Map<string, Record<string, string>>([
  ['my-redis', { password: 'user-password' }],
  ['redis-conn', { url: 'rediss://:pw@redis.example.com:6380/2' }],
  ['sentinel-auth', { 'redis-password': 'node-pw', 'sentinel-password': 'sentinel-pw' }],
  ['router-keys', { 'keys.yaml': `keys:\n  - sha256: ${DIGEST}\n    tenant: acme\n    role: admin\n` }],
]);

const MONITORING = {
  monitoring: {
    serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    grafanaDashboard: { enabled: true },
  },
};
const API_KEYS = {
  router: {
    apiKeys: {
      enabled: true,
      keys: [{ sha256: DIGEST, tenant: 'acme', role: 'admin', label: 'acme-ops' }],
      tenants: { acme: { calls_per_second: 20, max_concurrent_calls: 50 } },
    },
  },
};

/** The combinations the README documents, by name. */
const COMBINATIONS: Record<string, object> = {
  defaults: {},
  'bundled Redis without password or persistence': {
    redis: { bundled: { auth: { enabled: false }, persistence: { enabled: false } } },
  },
  'bundled Redis with an existing password Secret': {
    redis: { bundled: { auth: { existingSecret: 'my-redis', existingSecretKey: 'password' } } },
  },
  'external Redis URL': { redis: { mode: 'external', external: { url: 'redis://:s3cret@redis.example.com:6379/0' } } },
  'external Redis URL from a Secret': {
    redis: { mode: 'external', external: { existingSecret: 'redis-conn', existingSecretKey: 'url' } },
  },
  'external Redis Sentinel': {
    redis: {
      mode: 'external',
      external: {
        sentinel: { hosts: ['sentinel-0.redis:26379', 'sentinel-1.redis:26379'], masterName: 'mymaster' },
        auth: { username: 'router', existingSecret: 'sentinel-auth', sentinelPasswordKey: 'sentinel-password' },
        tls: true,
      },
    },
  },
  'external Redis Cluster': {
    redis: { mode: 'external', external: { cluster: { nodes: ['rc-0.redis:6379', 'rc-1.redis:6379', 'rc-2.redis:6379'] } } },
  },
  'monitoring on': MONITORING,
  'API keys from values': API_KEYS,
  'API keys from an existing Secret': {
    router: { apiKeys: { enabled: true, existingSecret: 'router-keys', existingSecretKey: 'keys.yaml' } },
  },
  'one watched namespace, one operator without leader election': {
    operator: { watchNamespace: 'team-a', replicaCount: 1, leaderElection: { enabled: false } },
  },
  'static backends, no operator, fixed replicas': {
    router: {
      serviceDiscovery: 'static',
      staticBackends: ['http://vllm-0.vllm:8000', 'http://vllm-1.vllm:8000'],
      staticModels: 'meta-llama/Llama-3.1-8B-Instruct',
      autoscaling: { enabled: false },
      replicaCount: 4,
      podDisruptionBudget: { maxUnavailable: null, minAvailable: '50%' },
    },
    operator: { enabled: false },
  },
  'everything on': {
    ...MONITORING,
    redis: { mode: 'external', external: { url: 'redis://redis.example.com:6379' } },
    router: {
      ...API_KEYS.router,
      otel: { endpoint: 'http://otel-collector.observability:4318' },
      extraArgs: ['--max-connections=50000'],
      tenantLimits: { callsPerSecond: 5.5, maxConcurrentCalls: 10, maxWorkflows: 100, maxQueuedMessages: 1000 },
    },
    examplePool: { enabled: true },
    networkPolicy: { enabled: true },
  },
};

const skip = !helmInstalled() && 'helm missing: run `make tools`';
const rendered = new Map<string, K8sObject[]>();

/** Values as helm merges them: the chart's defaults under the combination's values. */
function merged(over: object): Record<string, unknown> {
  const r = helm(['show', 'values', CHART]);
  assert.equal(r.code, 0, r.stderr);
  const deep = (a: unknown, b: unknown): unknown => {
    if (b === null) return null;
    if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || Array.isArray(b))
      return b === undefined ? a : b;
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = deep(out[k], v);
    return out;
  };
  return deep(parseDefaults(r.stdout), over) as Record<string, unknown>;
}

function parseDefaults(text: string): unknown {
  return parseYamlText(text) as unknown;
}

function get(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], values);
}

function secretsFor(objects: K8sObject[]): Map<string, Record<string, string>> {
  return new Map([...USER_SECRETS, ...secretData(objects)]);
}

function routerConfig(objects: K8sObject[]): { config: RouterConfig; program: string } {
  const w = workload(objects, 'router');
  const p = containerProcess(container(w), {
    secrets: secretsFor(objects),
    volumes: w.spec.template.spec.volumes ?? [],
  });
  try {
    const parsed = withEnv(p.env, () => parseRouterCli(p.argv));
    assert.equal(parsed.kind, 'run', parsed.kind === 'exit' ? parsed.output : '');
    assert.ok(parsed.kind === 'run');
    return { config: parsed.config, program: p.program };
  } finally {
    rmSync(p.dir, { recursive: true, force: true });
  }
}

function operatorConfig(objects: K8sObject[]): { config: OperatorConfig; program: string } {
  const w = workload(objects, 'operator');
  const p = containerProcess(container(w), {
    secrets: secretsFor(objects),
    fieldRefs: { 'metadata.name': 'wr-workflow-router-operator-7d9f-x2x' },
    volumes: w.spec.template.spec.volumes ?? [],
  });
  try {
    const parsed = withEnv(p.env, () => parseOperatorCli(p.argv));
    assert.equal(parsed.kind, 'run', parsed.kind === 'exit' ? parsed.output : '');
    assert.ok(parsed.kind === 'run');
    return { config: parsed.config, program: p.program };
  } finally {
    rmSync(p.dir, { recursive: true, force: true });
  }
}

describe('helm chart: lint and render', { skip }, () => {
  before(() => {
    for (const [name, values] of Object.entries(COMBINATIONS)) rendered.set(name, render(values));
  });

  for (const [name, values] of Object.entries(COMBINATIONS)) {
    test(`helm lint --strict passes: ${name}`, () => {
      const r = lint(values);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    });
  }

  test('every object is in the release namespace, except cluster-scoped RBAC and the watched namespace', () => {
    for (const [name, objects] of rendered) {
      for (const o of objects) {
        if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') {
          assert.equal(o.metadata.namespace, undefined, `${name}: ${o.kind} ${o.metadata.name}`);
          continue;
        }
        const watched = (get(COMBINATIONS[name], 'operator.watchNamespace') as string | undefined) ?? '';
        const allowed = ['llm', ...(watched ? [watched] : [])];
        assert.ok(allowed.includes(o.metadata.namespace ?? ''), `${name}: ${o.kind} ${o.metadata.name} in ${o.metadata.namespace}`);
        assert.ok(o.metadata.name.length <= 63, `${o.metadata.name} is too long`);
      }
    }
  });

  test('images: the router and the operator run the chart image at appVersion; args[0] names a program of the entrypoint', () => {
    const image = `ghcr.io/workflow-router/workflow-router:${appVersion()}`;
    const programs = entrypointPrograms();
    assert.deepEqual(programs.sort(), ['vllm-sim', 'workflow-operator', 'workflow-router']);
    for (const [name, objects] of rendered) {
      const r = container(workload(objects, 'router'));
      assert.equal(r.image, image, name);
      assert.equal(r.args?.[0], 'workflow-router', name);
      assert.equal(r.command, undefined, `${name}: the image's entrypoint must stay`);
      if (get(COMBINATIONS[name], 'operator.enabled') !== false) {
        const o = container(workload(objects, 'operator'));
        assert.equal(o.image, image, name);
        assert.equal(o.args?.[0], 'workflow-operator', name);
      }
      for (const p of programs) assert.ok(inRepo(`bin/${p}.js`), `bin/${p}.js`);
    }
    const pinned = render({ image: { repository: 'registry.local/wr', tag: '9.9.9' } });
    assert.equal(container(workload(pinned, 'router')).image, 'registry.local/wr:9.9.9');
    const digest = `sha256:${'a'.repeat(64)}`;
    const byDigest = render({ image: { digest } });
    assert.equal(container(workload(byDigest, 'operator')).image, `ghcr.io/workflow-router/workflow-router@${digest}`);
  });

  test('security: non-root, read-only root filesystem, no privilege escalation, no capabilities, resource requests', () => {
    for (const [name, objects] of rendered) {
      for (const w of [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'StatefulSet')]) {
        const pod = w.spec.template.spec;
        const where = `${name}: ${w.kind} ${w.metadata.name}`;
        assert.equal(pod.securityContext?.runAsNonRoot, true, where);
        assert.ok(Number(pod.securityContext?.runAsUser) > 0, where);
        assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' }, where);
        for (const c of pod.containers) {
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, where);
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true, where);
          assert.equal(c.securityContext?.privileged, false, where);
          assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] }, where);
          assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${where}: requests`);
          assert.ok(c.resources?.limits?.memory, `${where}: memory limit`);
          assert.ok(c.livenessProbe && c.readinessProbe, `${where}: probes`);
        }
      }
      // The router needs no Kubernetes API access: no token in its pods.
      assert.equal(workload(objects, 'router').spec.template.spec.automountServiceAccountToken, false, name);
    }
  });

  test('Services, the HPA and the PDB select the pods of their workload; named ports exist', () => {
    for (const [name, objects] of rendered) {
      for (const svc of ofKind(objects, 'Service')) {
        const spec = svc.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
        const targets = [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'StatefulSet')].filter(
          (w) => Object.entries(spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
        );
        assert.equal(targets.length, 1, `${name}: Service ${svc.metadata.name} selects ${targets.length} workloads`);
        const ports = targets[0]?.spec.template.spec.containers.flatMap((c) => c.ports ?? []) ?? [];
        for (const p of spec.ports)
          assert.ok(
            ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort),
            `${name}: ${svc.metadata.name} targets port ${String(p.targetPort)}`,
          );
      }
      const router = workload(objects, 'router');
      for (const w of [router, ...objects.filter((o) => o.kind === 'StatefulSet')] as Workload[])
        assert.ok(
          Object.entries(w.spec.selector.matchLabels).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
          `${name}: ${w.metadata.name} selector matches its pods`,
        );
      for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
        const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        assert.deepEqual(sel, router.spec.selector.matchLabels, name);
      }
      for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
        const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        assert.deepEqual(ref, { apiVersion: 'apps/v1', kind: 'Deployment', name: router.metadata.name }, name);
      }
    }
    const defaults = rendered.get('defaults') ?? [];
    const hpa = one(defaults, 'HorizontalPodAutoscaler').spec as { minReplicas: number; maxReplicas: number };
    assert.ok(hpa.minReplicas >= 2, 'several router replicas');
    assert.equal(workload(defaults, 'router').spec.replicas, undefined, 'the HPA owns the replica count');
    const fixed = rendered.get('static backends, no operator, fixed replicas') ?? [];
    assert.equal(workload(fixed, 'router').spec.replicas, 4);
    assert.equal(ofKind(fixed, 'HorizontalPodAutoscaler').length, 0);
    assert.equal((one(fixed, 'PodDisruptionBudget').spec as { minAvailable: string }).minAvailable, '50%');
    assert.equal(workload(defaults, 'operator').spec.replicas, 2);
  });

  test("the router's flags and variables are accepted by the real CLI and carry the values", () => {
    for (const [name, objects] of rendered) {
      const values = merged(COMBINATIONS[name] ?? {});
      const { config } = routerConfig(objects);
      const v = (path: string): unknown => get(values, path);
      assert.equal(config.port, v('router.containerPort'), name);
      assert.equal(config.host, '0.0.0.0', name);
      assert.equal(config.serviceDiscovery, v('router.serviceDiscovery'), name);
      assert.equal(config.routingLogic, v('router.routingLogic'), name);
      assert.equal(config.workflowTtlSeconds, v('workflows.ttlSeconds'), name);
      assert.equal(config.maxWorkflows, v('router.maxWorkflows'), name);
      assert.equal(config.maxMessageQueueSize, v('router.maxMessageQueueSize'), name);
      assert.equal(config.messageTtlSeconds, v('router.messageTtlSeconds'), name);
      assert.equal(config.batchingPreference, v('router.batchingPreference'), name);
      assert.equal(config.contextBudgetTokens, v('router.contextBudgetTokens'), name);
      assert.equal(config.maxInflightPerPod, v('router.maxInflightPerPod'), name);
      assert.equal(config.admissionQueueSize, v('router.admissionQueueSize'), name);
      assert.equal(config.upstreamTimeoutMs, Number(v('router.upstreamTimeoutSeconds')) * 1000, name);
      assert.equal(config.drainMs, Number(v('router.drainSeconds')) * 1000, name);
      assert.equal(config.metricsTopWorkflows, v('router.metricsTopWorkflows'), name);
      assert.equal(config.logLevel, v('router.logLevel'), name);
      assert.equal(config.redisPrefix, v('redis.prefix'), name);
      assert.equal(config.tenantLimits.callsPerSecond, v('router.tenantLimits.callsPerSecond'), name);
      assert.equal(config.tenantLimits.maxConcurrentCalls, v('router.tenantLimits.maxConcurrentCalls'), name);
      assert.equal(config.tenantLimits.maxWorkflows, v('router.tenantLimits.maxWorkflows'), name);
      assert.equal(config.tenantLimits.maxQueuedMessages, v('router.tenantLimits.maxQueuedMessages'), name);
      assert.equal(config.otelEndpoint, (v('router.otel.endpoint') as string) || undefined, name);
      assert.equal(config.apiKeysFile !== undefined, v('router.apiKeys.enabled'), name);
      assert.deepEqual(config.apiKeys, [], `${name}: keys never on the command line`);
      if (config.serviceDiscovery === 'static')
        assert.deepEqual(
          config.staticBackends.map((b) => b.url),
          v('router.staticBackends'),
          name,
        );
    }
    const everything = routerConfig(rendered.get('everything on') ?? []).config;
    assert.equal(everything.maxConnections, 50_000, 'extraArgs reach the router');
    assert.equal(everything.tenantLimits.callsPerSecond, 5.5);
  });

  test('Redis: bundled, URL, Secret, Sentinel and Cluster reach both programs alike', () => {
    const redisOf = (objects: K8sObject[]) => {
      const r = routerConfig(objects).config;
      const o = operatorConfig(objects).config;
      const pick = (c: RouterConfig | OperatorConfig) => ({
        url: c.redisUrl,
        sentinels: c.redisSentinels,
        sentinelName: c.redisSentinelName,
        cluster: c.redisClusterNodes,
        username: c.redisUsername,
        password: c.redisPassword,
        sentinelPassword: c.redisSentinelPassword,
        tls: c.redisTls,
        prefix: c.redisPrefix,
      });
      assert.deepEqual(pick(r), pick(o), 'router and operator share one Redis');
      return pick(r);
    };
    const bundled = rendered.get('defaults') ?? [];
    const password = secretData(bundled).get('wr-workflow-router-redis')?.['redis-password'] ?? '';
    assert.match(password, /^[A-Za-z0-9]{32}$/);
    assert.equal(redisOf(bundled).url, `redis://:${password}@wr-workflow-router-redis.llm.svc:6379`);
    assert.equal(
      redisOf(rendered.get('bundled Redis without password or persistence') ?? []).url,
      'redis://wr-workflow-router-redis.llm.svc:6379',
    );
    assert.equal(
      redisOf(rendered.get('bundled Redis with an existing password Secret') ?? []).url,
      'redis://:user-password@wr-workflow-router-redis.llm.svc:6379',
    );
    assert.equal(redisOf(rendered.get('external Redis URL') ?? []).url, 'redis://:s3cret@redis.example.com:6379/0');
    assert.equal(redisOf(rendered.get('external Redis URL from a Secret') ?? []).url, 'rediss://:pw@redis.example.com:6380/2');
    assert.deepEqual(redisOf(rendered.get('external Redis Sentinel') ?? []), {
      url: undefined,
      sentinels: [
        { host: 'sentinel-0.redis', port: 26379 },
        { host: 'sentinel-1.redis', port: 26379 },
      ],
      sentinelName: 'mymaster',
      cluster: [],
      username: 'router',
      password: 'node-pw',
      sentinelPassword: 'sentinel-pw',
      tls: true,
      prefix: 'wr:',
    });
    assert.equal(redisOf(rendered.get('external Redis Cluster') ?? []).cluster.length, 3);
    for (const [name, objects] of rendered) {
      const external = get(COMBINATIONS[name], 'redis.mode') === 'external';
      assert.equal(ofKind(objects, 'StatefulSet').length, external ? 0 : 1, name);
      // A URL (which may hold a password) never appears in a pod spec, only in Secrets.
      for (const w of ofKind<Workload>(objects, 'Deployment'))
        for (const e of container(w).env ?? [])
          if (e.name.endsWith('_REDIS_URL') && e.value !== undefined) assert.ok(!external, `${name}: ${e.name}`);
    }
  });

  test('bundled Redis: one instance, AOF, a PVC (or an emptyDir without persistence)', () => {
    const sts = one<Workload>(rendered.get('defaults') ?? [], 'StatefulSet');
    assert.equal(sts.spec.replicas, 1);
    const args = container(sts).args ?? [];
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    assert.equal(flag('--appendonly'), 'yes');
    assert.equal(flag('--appendfsync'), 'everysec');
    assert.equal(flag('--dir'), '/data');
    assert.equal(flag('--requirepass'), '$(REDIS_PASSWORD)');
    assert.equal(container(sts).image, 'docker.io/library/redis:7.4-alpine');
    const claims = sts.spec.volumeClaimTemplates as { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
    assert.equal(claims[0]?.metadata.name, 'data');
    assert.equal(claims[0]?.spec.resources.requests.storage, '2Gi');
    assert.ok(container(sts).volumeMounts?.some((m) => m.name === 'data' && m.mountPath === '/data'));
    const ephemeral = one<Workload>(rendered.get('bundled Redis without password or persistence') ?? [], 'StatefulSet');
    assert.equal(ephemeral.spec.volumeClaimTemplates, undefined);
    assert.deepEqual(ephemeral.spec.template.spec.volumes, [{ name: 'data', emptyDir: {} }]);
    assert.ok(!(container(ephemeral).args ?? []).includes('--requirepass'));
  });

  test("the operator's flags and variables are accepted by the real CLI and carry the values", () => {
    for (const [name, objects] of rendered) {
      if (get(COMBINATIONS[name], 'operator.enabled') === false) {
        assert.equal(ofKind(objects, 'ClusterRole').length + ofKind(objects, 'Role').length, 0, name);
        continue;
      }
      const values = merged(COMBINATIONS[name] ?? {});
      const v = (path: string): unknown => get(values, path);
      const { config } = operatorConfig(objects);
      assert.equal(config.kubeconfig, undefined, `${name}: in-cluster config`);
      assert.equal(config.namespace, (v('operator.watchNamespace') as string) || undefined, name);
      assert.equal(config.leaderElect, v('operator.leaderElection.enabled'), name);
      assert.equal(config.identity, 'wr-workflow-router-operator-7d9f-x2x', `${name}: the pod name is the identity`);
      assert.equal(config.workflowTtlSeconds, v('workflows.ttlSeconds'), name);
      assert.equal(config.statusIntervalMs, Number(v('operator.statusIntervalSeconds')) * 1000, name);
      assert.equal(config.metricsPort, v('operator.metricsPort'), name);
      assert.equal(config.logLevel, v('operator.logLevel'), name);
      if (config.leaderElect) {
        assert.equal(config.leaseName, 'wr-workflow-router-operator', name);
        assert.equal(config.leaseNamespace, 'llm', name);
        assert.equal(config.leaseDurationMs, 15_000, name);
        assert.equal(config.renewDeadlineMs, 10_000, name);
        assert.equal(config.retryPeriodMs, 2_000, name);
      }
      const port = container(workload(objects, 'operator')).ports?.find((p) => p.name === 'metrics');
      assert.equal(port?.containerPort, config.metricsPort, name);
    }
  });

  test('API keys: the keys file comes from a Secret volume, parses with the router, and is never a plain flag', () => {
    const objects = rendered.get('API keys from values') ?? [];
    const w = workload(objects, 'router');
    const keys = secretData(objects).get('wr-workflow-router-router-api-keys')?.['api-keys.yaml'];
    assert.ok(keys);
    const file = parseKeysFile(keys);
    assert.equal(file.entries.length, 1);
    assert.equal(file.entries[0]?.tenant, 'acme');
    assert.equal(file.entries[0]?.role, 'admin');
    assert.equal(file.entries[0]?.digest.toString('hex'), DIGEST);
    assert.deepEqual(file.tenants.get('acme'), { callsPerSecond: 20, maxConcurrentCalls: 50 });
    const mount = container(w).volumeMounts?.find((m) => m.name === 'api-keys');
    assert.equal(mount?.readOnly, true);
    assert.ok(!('subPath' in (mount ?? {})), 'a subPath mount would never see the Secret change');
    assert.ok(w.spec.template.metadata.labels, 'labels');
    const annotations = (w.spec.template.metadata as { annotations?: Record<string, string> }).annotations;
    assert.match(annotations?.['checksum/api-keys'] ?? '', /^[0-9a-f]{64}$/, 'pods roll when the keys change');
    const existing = rendered.get('API keys from an existing Secret') ?? [];
    const vol = workload(existing, 'router').spec.template.spec.volumes?.find((v) => v.name === 'api-keys');
    assert.equal(vol?.secret?.secretName, 'router-keys');
    assert.equal(routerConfig(existing).config.apiKeysFile?.endsWith('/keys.yaml'), true);
    assert.equal(ofKind(existing, 'Secret').filter((s) => s.metadata.name.endsWith('api-keys')).length, 0);
  });

  test('monitoring on: ServiceMonitors for routers and operator, the dashboard ConfigMap; off: none', () => {
    const on = rendered.get('monitoring on') ?? [];
    const monitors = ofKind(on, 'ServiceMonitor');
    assert.equal(monitors.length, 2);
    for (const m of monitors) {
      assert.equal(m.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(m.metadata.labels?.release, 'kube-prometheus-stack');
      const spec = m.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
      const svc = ofKind(on, 'Service').find((s) =>
        Object.entries(spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
      );
      assert.ok(svc, `${m.metadata.name} selects a Service`);
      const ports = (svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      for (const e of spec.endpoints) {
        assert.ok(ports.includes(e.port), `${m.metadata.name}: port ${e.port}`);
        assert.equal(e.path, '/metrics');
      }
    }
    const dashboard = one(on, 'ConfigMap', '-dashboard');
    assert.equal(dashboard.metadata.labels?.grafana_dashboard, '1');
    const json = JSON.parse((dashboard.data as Record<string, string>)['workflow-router.json'] ?? '') as { uid: string };
    assert.equal(json.uid, 'workflow-router');
    const off = rendered.get('defaults') ?? [];
    assert.equal(ofKind(off, 'ServiceMonitor').length, 0);
    assert.equal(ofKind(off, 'ConfigMap').length, 0);
  });

  test('the example VllmPool validates against the chart CRD and selects by label', () => {
    const pool = one(rendered.get('everything on') ?? [], 'VllmPool');
    assert.equal(pool.apiVersion, 'workflow-router.vllm.ai/v1alpha1');
    const spec = pool.spec as { selector: { matchLabels: Record<string, string> }; port: number };
    assert.deepEqual(spec.selector.matchLabels, { app: 'vllm', model: 'llama-3-1-8b' });
    assert.equal(spec.port, 8000);
    assert.equal(ofKind(rendered.get('defaults') ?? [], 'VllmPool').length, 0);
    const crds = render({}, { includeCrds: true }).filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), ['vllmpools.workflow-router.vllm.ai', 'workflows.workflow-router.vllm.ai']);
  });

  test('NetworkPolicy: only routers and operator reach the bundled Redis', () => {
    const objects = render({ networkPolicy: { enabled: true } });
    const np = one(objects, 'NetworkPolicy');
    const spec = np.spec as { ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] };
    const components = spec.ingress[0]?.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']);
    assert.deepEqual(components, ['router', 'operator']);
    assert.equal(ofKind(rendered.get('everything on') ?? [], 'NetworkPolicy').length, 0, 'no bundled Redis, no policy');
  });
});

describe('helm chart: RBAC', { skip }, () => {
  const rulesOf = (objects: K8sObject[], kind: string, suffix = ''): PolicyRule[] =>
    one<K8sObject & { rules: PolicyRule[] }>(objects, kind, suffix).rules;

  test('the operator is granted exactly the calls of its Kubernetes wrapper (operator/kube.ts)', () => {
    // What each client-node method the wrapper calls needs, as RBAC grants.
    const NEEDS: Record<string, string[]> = {
      listClusterCustomObject: ['workflow-router.vllm.ai|vllmpools|list', 'workflow-router.vllm.ai|workflows|list'],
      listNamespacedCustomObject: ['workflow-router.vllm.ai|vllmpools|list', 'workflow-router.vllm.ai|workflows|list'],
      patchNamespacedCustomObjectStatus: [
        'workflow-router.vllm.ai|vllmpools/status|patch',
        'workflow-router.vllm.ai|workflows/status|patch',
      ],
      // setFinalizers: only Workflows carry the operator's finalizer.
      patchNamespacedCustomObject: ['workflow-router.vllm.ai|workflows|patch'],
      listPodForAllNamespaces: ['|pods|list'],
      listNamespacedPod: ['|pods|list'],
      createNamespacedEvent: ['|events|create'],
      patchNamespacedEvent: ['|events|patch'],
      readNamespacedLease: ['coordination.k8s.io|leases|get'],
      createNamespacedLease: ['coordination.k8s.io|leases|create'],
      replaceNamespacedLease: ['coordination.k8s.io|leases|update'],
    };
    const source = readFileSync(join(REPO_ROOT, 'operator/kube.ts'), 'utf8');
    const called = new Set([...source.matchAll(/this\.(?:core|custom|coordination)\.(\w+)\(/g)].map((m) => m[1]));
    assert.deepEqual([...called].sort(), Object.keys(NEEDS).sort(), 'a new Kubernetes call needs a new RBAC rule');
    // Informers watch what they list (the paths of Kube.customPath / Kube.podsPath).
    assert.match(source, /static customPath/);
    assert.match(source, /static podsPath/);
    const finalizerPlurals = [...readFileSync(join(REPO_ROOT, 'operator/controllers/workflow.ts'), 'utf8').matchAll(/setFinalizers\(\s*'(\w+)'/g)];
    assert.ok(finalizerPlurals.every((m) => m[1] === 'workflows'));
    const WATCH = ['workflow-router.vllm.ai|vllmpools|watch', 'workflow-router.vllm.ai|workflows|watch', '|pods|watch'];

    const objects = rendered.get('defaults') ?? render();
    const cluster = rulesOf(objects, 'ClusterRole');
    const lease = rulesOf(objects, 'Role', '-leader-election');
    const granted = new Set<string>();
    for (const r of [...cluster, ...lease])
      for (const g of r.apiGroups)
        for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}|${res}|${v}`);
    const needed = new Set([...Object.values(NEEDS).flat(), ...WATCH]);
    assert.deepEqual([...granted].sort(), [...needed].sort());
    // Leases only in the release namespace; get and update only of the operator's own Lease.
    for (const r of lease) {
      assert.deepEqual(r.apiGroups, ['coordination.k8s.io']);
      if (r.verbs.includes('get') || r.verbs.includes('update')) assert.deepEqual(r.resourceNames, ['wr-workflow-router-operator']);
    }
    assert.ok(cluster.every((r) => !r.apiGroups.includes('coordination.k8s.io')));
    assert.ok([...cluster, ...lease].every((r) => !r.verbs.includes('*') && !r.resources.includes('*')));
    const binding = one<K8sObject & { subjects: { kind: string; name: string; namespace: string }[] }>(
      objects,
      'ClusterRoleBinding',
    );
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'wr-workflow-router-operator', namespace: 'llm' }]);
    const sa = workload(objects, 'operator').spec.template.spec.serviceAccountName;
    assert.equal(sa, 'wr-workflow-router-operator');
  });

  test('operator.watchNamespace: the same rules as a Role in that namespace; no ClusterRole', () => {
    const objects = rendered.get('one watched namespace, one operator without leader election') ?? [];
    assert.equal(ofKind(objects, 'ClusterRole').length, 0);
    assert.equal(ofKind(objects, 'ClusterRoleBinding').length, 0);
    const role = one<K8sObject & { rules: PolicyRule[] }>(objects, 'Role');
    assert.equal(role.metadata.namespace, 'team-a');
    assert.deepEqual(role.rules, rulesOf(rendered.get('defaults') ?? [], 'ClusterRole'));
    const binding = one<K8sObject & { subjects: { namespace: string }[] }>(objects, 'RoleBinding');
    assert.equal(binding.metadata.namespace, 'team-a');
    assert.equal(binding.subjects[0]?.namespace, 'llm');
    assert.equal(ofKind(objects, 'Role').filter((r) => r.metadata.name.endsWith('-leader-election')).length, 0);
  });

  test('rbac.create=false and serviceAccount.create=false make no RBAC objects and use the named account', () => {
    const objects = render({ rbac: { create: false }, operator: { serviceAccount: { create: false, name: 'ops' } } });
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']) assert.equal(ofKind(objects, kind).length, 0, kind);
    assert.equal(workload(objects, 'operator').spec.template.spec.serviceAccountName, 'ops');
  });
});

describe('helm chart: values refused', { skip }, () => {
  const refused = (values: object, message: RegExp): void => {
    const r = template(values);
    assert.notEqual(r.code, 0, `rendered although it should not: ${JSON.stringify(values)}`);
    assert.match(r.stderr, message);
  };
  const SCHEMA = /values don't meet the specifications of the schema/;

  test('a string where a number is due', () => {
    refused({ router: { replicaCount: 'three' } }, /at '\/router\/replicaCount': got string, want integer/);
    refused({ router: { batchingPreference: 'high' } }, /at '\/router\/batchingPreference': got string, want number/);
    refused({ workflows: { ttlSeconds: '1h' } }, SCHEMA);
  });

  test('an unknown key, at the top and deep down', () => {
    refused({ routr: {} }, /additional properties 'routr' not allowed/);
    refused({ router: { replicas: 3 } }, /at '\/router': additional properties 'replicas' not allowed/);
    refused({ redis: { bundled: { persistence: { sise: '1Gi' } } } }, /at '\/redis\/bundled\/persistence': additional properties 'sise' not allowed/);
  });

  test('a negative replica count', () => {
    refused({ router: { replicaCount: -1 } }, /at '\/router\/replicaCount': minimum: got -1, want 1/);
    refused({ operator: { replicaCount: -1 } }, /at '\/operator\/replicaCount': minimum: got -1, want 0/);
    refused({ router: { autoscaling: { minReplicas: 0 } } }, /at '\/router\/autoscaling\/minReplicas': minimum: got 0, want 1/);
  });

  test('values the programs would refuse: enums, ranges, URLs, digests', () => {
    refused({ redis: { mode: 'sentinel' } }, /at '\/redis\/mode'/);
    refused({ router: { routingLogic: 'random' } }, /at '\/router\/routingLogic'/);
    refused({ router: { batchingPreference: 1.5 } }, /maximum: got 1.5, want 1/);
    refused({ router: { logLevel: 'verbose' } }, /at '\/router\/logLevel'/);
    refused({ redis: { mode: 'external', external: { url: 'http://redis:6379' } } }, /at '\/redis\/external\/url'/);
    refused({ redis: { mode: 'external', external: { sentinel: { hosts: ['no-port'], masterName: 'm' } } } }, /at '\/redis\/external\/sentinel\/hosts\/0'/);
    refused({ router: { apiKeys: { enabled: true, keys: [{ sha256: 'abc', tenant: 'acme' }] } } }, /at '\/router\/apiKeys\/keys\/0\/sha256'/);
    refused({ router: { extraArgs: ['-v'] } }, /at '\/router\/extraArgs\/0'/);
    refused({ operator: { watchNamespace: 'Team_A' } }, /at '\/operator\/watchNamespace'/);
  });

  test('contradictory combinations fail the render with a message naming the values', () => {
    refused({ redis: { mode: 'external' } }, /redis.mode=external needs redis.external.url/);
    refused({ redis: { mode: 'external', external: { url: 'redis://a:6379', existingSecret: 's' } } }, /either redis.external.url or redis.external.existingSecret/);
    refused({ redis: { mode: 'external', external: { sentinel: { hosts: ['s:26379'] } } } }, /masterName is required/);
    refused({ router: { serviceDiscovery: 'static' } }, /needs router.staticBackends/);
    refused({ operator: { leaderElection: { enabled: false } } }, /needs operator.leaderElection.enabled=true/);
    refused({ operator: { leaderElection: { renewDeadlineSeconds: 20 } } }, /renewDeadlineSeconds must be less than leaseDurationSeconds/);
    refused({ router: { apiKeys: { enabled: true } } }, /needs router.apiKeys.existingSecret or router.apiKeys.keys/);
    refused({ router: { podDisruptionBudget: { minAvailable: 1 } } }, /minAvailable or maxUnavailable, not both/);
  });
});

describe('helm chart: NOTES', { skip }, () => {
  test('NOTES.txt says how to reach the endpoint and check a workflow', () => {
    const r = helm(['install', 'wr', CHART, '--namespace', 'llm', '--dry-run=client']);
    assert.equal(r.code, 0, r.stderr);
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    assert.match(notes, /http:\/\/wr-workflow-router\.llm\.svc\/v1/);
    assert.match(notes, /kubectl -n llm port-forward svc\/wr-workflow-router 8001:80/);
    assert.match(notes, /kubectl -n llm describe workflow financial-analysis/);
    assert.match(notes, /poolRef: <your pool>/);
    assert.match(notes, /\/v1\/workflows\/financial-analysis\/status/);
    assert.match(notes, /No API keys are configured/);
    const withKeys = helm(['install', 'wr', CHART, '--namespace', 'llm', '--dry-run=client', '--set', 'router.apiKeys.enabled=true,router.apiKeys.existingSecret=k']);
    assert.match(withKeys.stdout, /Authorization: Bearer \$API_KEY/);
  });
});

after(() => rendered.clear());
