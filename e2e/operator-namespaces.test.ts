// Namespaces and per-pool routing, end to end: the Kubernetes API emulator, Redis, the
// operator and a router process (--service-discovery k8s, API keys on), with two teams that
// chose the same names. Namespaces team-a and team-b each have a VllmPool `llama` and pods
// `vllm-0` and `vllm-1` (simulated on 127.0.0.2-5), and a Workflow `research` (tenants team-a
// and team-b by label). team-a's pool routes workflow_aware, team-b's roundrobin, and the
// router's own flag says least_loaded: each pool's spec.routing must decide for its calls, and
// no call may reach the other namespace's `vllm-0`. A third `research`, in team-c but labelled
// tenant team-a, claims an id already owned: it must be refused, not merged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRedisRoutingTable, type RedisRoutingTable } from '../core/store/redis/routing-table-store.ts';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { writeKeysFile } from '../test/reliability/helpers.ts';
import { eventually } from './helpers/eventually.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import {
  MODEL,
  POOL_LABELS,
  startOperatorProcess,
  startRouterProcess,
  startSimsOnLoopback,
  vllmPod,
  type OperatorProcess,
  type RouterProcess,
} from './helpers/operator-stack.ts';
import { startKubeApi, type KubeApi } from './kube-api/server.ts';

const WF_API = 'workflow-router.vllm.ai/v1alpha1';
const TENANT_LABEL = 'workflow-router.vllm.ai/tenant';
/** Pod (namespace/name) → the loopback host its simulated vLLM listens on. */
const HOST_OF_POD = new Map([
  ['team-a/vllm-0', '127.0.0.2'],
  ['team-a/vllm-1', '127.0.0.3'],
  ['team-b/vllm-0', '127.0.0.4'],
  ['team-b/vllm-1', '127.0.0.5'],
]);
const KEYS = {
  a: 'sk-team-a-0123456789abcdef',
  b: 'sk-team-b-0123456789abcdef',
  ops: 'sk-ops-0123456789abcdef',
};

interface Status {
  phase?: string;
  pinnedPod?: string;
  calls?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

function poolYaml(namespace: string, port: number, logic: string): string {
  return JSON.stringify({
    apiVersion: WF_API,
    kind: 'VllmPool',
    metadata: { name: 'llama', namespace },
    spec: {
      selector: { matchLabels: POOL_LABELS },
      port,
      models: [MODEL],
      routing: { logic },
      health: { periodSeconds: 1 },
    },
  });
}

function workflowYaml(namespace: string, tenant: string, name = 'research'): string {
  return JSON.stringify({
    apiVersion: WF_API,
    kind: 'Workflow',
    metadata: { name, namespace, labels: { [TENANT_LABEL]: tenant } },
    spec: { poolRef: 'llama', contextSharing: 'auto', agents: [{ name: 'planner' }, { name: 'writer' }] },
  });
}

describe(
  'operator e2e: equal names in two namespaces, and each pool routing by its own logic',
  { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let k: Kubectl;
    let redis: RedisServer;
    let table: RedisRoutingTable;
    let sims: Awaited<ReturnType<typeof startSimsOnLoopback>>;
    let keys: ReturnType<typeof writeKeysFile>;
    let operator: OperatorProcess | undefined;
    let router: RouterProcess | undefined;

    const statusOf = (namespace: string, name = 'research'): Status =>
      api.get(WF_API, 'workflows', namespace, name)?.status ?? {};
    const ready = (s: Status) => s.conditions?.find((c) => c.type === 'Ready');
    /** The router's pod ids (admin statistics). */
    const routerPods = async (): Promise<string[]> => {
      const res = await fetch(`${router?.url ?? ''}/v1/workflows/stats`, {
        headers: { authorization: `Bearer ${KEYS.ops}` },
      });
      const body = (await res.json()) as { pods?: { id: string }[] };
      return (body.pods ?? []).map((p) => p.id).sort();
    };
    /** One agent call of workflow `research` with a tenant's key; the pod id the router chose. */
    const call = async (key: string, workflow: string, agent: string, marker: string): Promise<string> => {
      const res = await fetch(`${router?.url ?? ''}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: `${marker}: summarise the findings so far.` }],
          max_tokens: 4,
          workflow_metadata: { workflow_id: workflow, agent_id: agent },
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.json();
      return res.headers.get('x-workflow-router-pod') ?? '';
    };
    /** The hosts whose simulated pod served requests carrying `marker`. */
    const servedHosts = (marker: string): string[] =>
      [...sims.sims.entries()]
        .filter(([, sim]) =>
          sim.stats().requests.some((r) => r.status === 200 && r.promptText.includes(marker)),
        )
        .map(([host]) => host)
        .sort();

    before(async () => {
      api = await startKubeApi();
      k = new Kubectl(api.kubeconfigPath);
      redis = await startRedis();
      table = await createRedisRoutingTable({ url: redis.url });
      sims = await startSimsOnLoopback([...HOST_OF_POD.values()]);
      keys = writeKeysFile([
        { key: KEYS.a, tenant: 'team-a', role: 'user' },
        { key: KEYS.b, tenant: 'team-b', role: 'user' },
        { key: KEYS.ops, tenant: 'ops', role: 'admin' },
      ]);
    });

    after(async () => {
      await router?.stop();
      await operator?.stop();
      await sims?.close();
      await table?.close();
      await redis?.stop();
      await api?.close();
      keys?.cleanup();
    });

    test('two namespaces with a pool llama and pods vllm-0, vllm-1 each: four distinct pods', async () => {
      await k.ok(['apply', '-f', 'crds/']);
      await k.ok([
        'wait',
        '--for=condition=Established',
        'crd/workflows.workflow-router.vllm.ai',
        'crd/vllmpools.workflow-router.vllm.ai',
        '--timeout=30s',
      ]);
      for (const ns of ['team-a', 'team-b', 'team-c']) await k.ok(['create', 'namespace', ns]);
      await k.ok(['apply', '-f', '-'], poolYaml('team-a', sims.port, 'workflow_aware'));
      await k.ok(['apply', '-f', '-'], poolYaml('team-b', sims.port, 'roundrobin'));
      for (const [id, host] of HOST_OF_POD) {
        const [namespace = '', name = ''] = id.split('/');
        api.apply(vllmPod(name, host, true, namespace));
      }
      await k.ok(['apply', '-f', '-'], workflowYaml('team-a', 'team-a'));
      await k.ok(['apply', '-f', '-'], workflowYaml('team-b', 'team-b'));

      operator = await startOperatorProcess('operator-ns', api.kubeconfigPath, redis.url);
      // The router's flag is least_loaded: both pools set their own logic, so it applies to neither.
      router = await startRouterProcess('router-ns', redis.url, [
        '--api-keys-file',
        keys.path,
        '--routing-logic',
        'least_loaded',
      ]);
      await eventually('both pools with two pods in the table', async () => {
        const pools = (await table.read()).pools;
        return pools.length === 2 && pools.every((p) => p.pods.length === 2);
      });
      await eventually('the router to know four pods', async () => (await routerPods()).length === 4);
      assert.deepEqual(await routerPods(), [...HOST_OF_POD.keys()].sort(), 'ids are <namespace>/<pod>');
      const pools = await eventually('kubectl get vllmpools -A to show both pools 2/2', async () => {
        const out = await k.ok(['get', 'vllmpools', '-A']);
        return /team-a\s+llama\s+2\/2\s+\S+\s+workflow_aware/.test(out) && out;
      });
      assert.match(pools, /team-b\s+llama\s+2\/2\s+\S+\s+roundrobin/);
    });

    test("team-a's workflow_aware pool keeps its workflow on one of its own pods", async () => {
      await eventually('both Workflows declared', () =>
        ['team-a', 'team-b'].every((ns) => ready(statusOf(ns))?.reason === 'Declared'),
      );
      const pods: string[] = [];
      for (let i = 0; i < 6; i++)
        pods.push(await call(KEYS.a, 'research', i % 2 === 0 ? 'planner' : 'writer', `TEAM-A-CALL-${i}`));
      const pin = pods[0] ?? '';
      assert.match(pin, /^team-a\/vllm-[01]$/);
      assert.deepEqual(new Set(pods), new Set([pin]), `every call on the pin: ${pods.join(', ')}`);
      for (let i = 0; i < 6; i++)
        assert.deepEqual(servedHosts(`TEAM-A-CALL-${i}`), [HOST_OF_POD.get(pin)], "served by team-a's pod");
      // kubectl shows the bare pod name: the pod is in the Workflow's own namespace.
      const bare = pin.slice('team-a/'.length);
      await eventually('the pin in the status', () => statusOf('team-a').pinnedPod === bare);
      const row = new RegExp(`research\\s+Active\\s+llama\\s+${bare}\\s+6\\s`);
      await eventually('kubectl get workflow to show the bare pod name and six calls', async () =>
        row.test(await k.ok(['get', 'workflow', 'research', '-n', 'team-a'])),
      );
    });

    test("team-b's roundrobin pool spreads its workflow over its own two pods, never team-a's", async () => {
      const pods: string[] = [];
      for (let i = 0; i < 6; i++) pods.push(await call(KEYS.b, 'research', 'planner', `TEAM-B-CALL-${i}`));
      assert.deepEqual([...new Set(pods)].sort(), ['team-b/vllm-0', 'team-b/vllm-1'], pods.join(', '));
      const hosts = new Set(pods.map((p) => HOST_OF_POD.get(p)));
      for (let i = 0; i < 6; i++) {
        const served = servedHosts(`TEAM-B-CALL-${i}`);
        assert.equal(served.length, 1);
        assert.ok(hosts.has(served[0]), `call ${i} served by team-b's pods (${served.join(', ')})`);
      }
      // Two workflows named research, one per tenant: two records, each with its own calls.
      await eventually('team-b counted apart from team-a', () => statusOf('team-b').calls === 6);
      assert.equal(statusOf('team-a').calls, 6);
      assert.equal(statusOf('team-b').pinnedPod, undefined, 'roundrobin does not pin');
    });

    test("an edit of a pool's logic applies to its next calls", async () => {
      await k.ok([
        'patch',
        'vllmpool',
        'llama',
        '-n',
        'team-b',
        '--type',
        'merge',
        '-p',
        JSON.stringify({ spec: { routing: { logic: 'workflow_aware' } } }),
      ]);
      await k.ok(['apply', '-f', '-'], workflowYaml('team-b', 'team-b', 'review'));
      await eventually('the table to carry the new logic', async () =>
        (await table.read()).pools.some((p) => p.namespace === 'team-b' && p.logic === 'workflow_aware'),
      );
      await eventually('review declared', () => ready(statusOf('team-b', 'review'))?.reason === 'Declared');
      // The router re-reads the table on the announcement; the workflow is then pinned.
      let round = 0;
      const pods = await eventually('the calls of review to stay on one pod', async () => {
        round += 1;
        const served: string[] = [];
        for (let i = 0; i < 4; i++)
          served.push(await call(KEYS.b, 'review', 'planner', `REVIEW-${round}-${i}`));
        return new Set(served).size === 1 && served;
      });
      assert.match(pods[0] ?? '', /^team-b\/vllm-[01]$/);
      await eventually(
        'review pinned in its status',
        () => statusOf('team-b', 'review').pinnedPod !== undefined,
      );
    });

    test('a third research (team-c, tenant team-a) is refused its taken id, and its deletion spares the owner', async () => {
      await k.ok(['apply', '-f', '-'], workflowYaml('team-c', 'team-a'));
      const conflict = await eventually('Ready=False IdConflict', () => {
        const c = ready(statusOf('team-c'));
        return c?.reason === 'IdConflict' && c;
      });
      assert.equal(conflict.status, 'False');
      assert.match(conflict.message, /already declared by Workflow team-a\/research/);
      const described = await eventually('the Warning event', async () => {
        const text = await k.ok(['describe', 'workflow', 'research', '-n', 'team-c']);
        return /Warning\s+IdConflict/.test(text) && text;
      });
      assert.match(described, /Phase:\s+Pending/);

      await k.ok(['delete', 'workflow', 'research', '-n', 'team-c', '--wait=true', '--timeout=30s']);
      // team-a's workflow keeps its state: still declared, pinned and counted, and still routed.
      await new Promise((r) => setTimeout(r, 1500));
      const owner = statusOf('team-a');
      assert.equal(ready(owner)?.reason, 'Declared');
      assert.equal(owner.calls, 6);
      assert.ok(owner.pinnedPod);
      assert.equal(await call(KEYS.a, 'research', 'planner', 'TEAM-A-AFTER'), `team-a/${owner.pinnedPod}`);
    });
  },
);
