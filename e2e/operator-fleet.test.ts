// The whole system on one machine: the Kubernetes API emulator, Redis, the operator, two
// router replicas (--service-discovery k8s) and three simulated vLLM pods on 127.0.0.2-4
// registered as Pod objects of the example pool. Driven the way a user would: kubectl apply,
// the openai client, kubectl get / describe. Then pods turn unready, get deleted and join,
// watches break, and a Workflow is deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createRedisRoutingTable, type RedisRoutingTable } from '../core/store/redis/routing-table-store.ts';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { eventually } from './helpers/eventually.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import {
  MODEL,
  startOperatorProcess,
  startRouterProcess,
  startSimsOnLoopback,
  vllmPod,
  type OperatorProcess,
  type RouterProcess,
} from './helpers/operator-stack.ts';
import { startKubeApi, type KubeApi, type KubeObject, type RequestRecord } from './kube-api/server.ts';

const WF_API = 'workflow-router.vllm.ai/v1alpha1';
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
/** Idle seconds of workflows that set no ttlSeconds (the example sets one: it lives an hour). */
const SHORT_TTL = 3;
const POD_OF_HOST = new Map(HOSTS.map((h) => [h, `vllm-${h.split('.')[3] ?? ''}`]));
/** A shared document every agent reads first: the prefix the pinned pod's KV cache keeps. */
const REPORT = Array.from(
  { length: 40 },
  (_, i) =>
    `Quarter ${(i % 4) + 1}: revenue line ${i} grew ${(i * 7) % 13}% while costs moved ${(i * 3) % 11}%.`,
).join(' ');

type Status = Record<string, unknown> & {
  phase?: string;
  pinnedPod?: string;
  calls?: number;
  migrations?: number;
  conditions?: { type: string; status: string; reason: string }[];
};

function columns(line: string | undefined): string[] {
  return (line ?? '').trim().split(/\s{2,}/);
}

describe(
  'operator e2e: kubectl, the operator, two routers and three pods',
  { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let k: Kubectl;
    let redis: RedisServer;
    let admin: Redis;
    let table: RedisRoutingTable;
    let sims: Awaited<ReturnType<typeof startSimsOnLoopback>>;
    let operator: OperatorProcess | undefined;
    const routers: RouterProcess[] = [];
    const timings: Record<string, number> = {};
    const requests: RequestRecord[] = [];
    /** Lists of pods (not watches) the operator made: one at start, one more per relist. */
    const podLists = (): number =>
      requests.filter(
        (r) =>
          r.method === 'GET' && /^\/api\/v1\/pods(\?|$)/.test(r.url) && !/[?&]watch=(true|1)/.test(r.url),
      ).length;
    /** The pod marked not ready in the migration test, brought back in the watch test. */
    let unready: { name: string; host: string } | undefined;

    const workflow = (name: string): KubeObject | undefined => api.get(WF_API, 'workflows', 'default', name);
    const statusOf = (name: string): Status => (workflow(name)?.status ?? {}) as Status;
    const routedPods = async (): Promise<string[]> =>
      ((await table.read()).pools.find((p) => p.name === 'llama-8b')?.pods ?? []).map((p) => p.name).sort();
    const routerPods = async (router: RouterProcess): Promise<string[]> => {
      const res = await fetch(`${router.url}/v1/workflows/stats`);
      const body = (await res.json()) as { pods?: { id: string }[] };
      // Routers name a pod `<namespace>/<pod>`; every pod of this suite is in default.
      return (body.pods ?? []).map((p) => (p.id.startsWith('default/') ? p.id.slice(8) : p.id)).sort();
    };
    const client = (router: RouterProcess): OpenAI =>
      new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    /** One agent's call of a workflow; the agent sends no strategy or priority: the Workflow declares them. */
    const call = async (
      router: RouterProcess,
      workflowId: string,
      agent: string,
      task: string,
    ): Promise<string> => {
      const answer = await client(router).chat.completions.create({
        model: MODEL,
        messages: [
          { role: 'system', content: `Source document: ${REPORT}\n\nYou are the ${agent}.` },
          { role: 'user', content: task },
        ],
        max_tokens: 8,
        // @ts-expect-error: the router's extension field, removed before the pod sees the body
        workflow_metadata: { workflow_id: workflowId, agent_id: agent },
      });
      return answer.choices[0]?.message.content ?? '';
    };
    /** Which pod served each request of a workflow (the pods' own records). */
    const servedBy = (marker: string): string[] =>
      [...sims.sims.entries()].flatMap(([host, sim]) =>
        sim
          .stats()
          .requests.filter((r) => r.status === 200 && r.promptText.includes(marker))
          .map(() => POD_OF_HOST.get(host) ?? host),
      );

    before(async () => {
      api = await startKubeApi({ onRequest: (r) => requests.push(r) });
      k = new Kubectl(api.kubeconfigPath);
      redis = await startRedis();
      admin = new Redis(redis.url);
      table = await createRedisRoutingTable({ url: redis.url });
      sims = await startSimsOnLoopback(HOSTS);
    });

    after(async () => {
      await Promise.all(routers.map((r) => r.stop()));
      await operator?.stop();
      await sims?.close();
      await table?.close();
      await admin?.quit();
      await redis?.stop();
      await api?.close();
      const report = Object.entries(timings)
        .map(([what, ms]) => `${what}: ${ms} ms`)
        .join('; ');
      if (report) console.log(`# operator e2e timings: ${report}`);
    });

    test('kubectl apply -f crds/ and -f examples/k8s/; the pool routes its three ready pods', async () => {
      assert.match(await k.ok(['apply', '-f', 'crds/']), /workflows.workflow-router.vllm.ai created/);
      await k.ok([
        'wait',
        '--for=condition=Established',
        'crd/workflows.workflow-router.vllm.ai',
        'crd/vllmpools.workflow-router.vllm.ai',
        '--timeout=30s',
      ]);
      const applied = await k.ok(['apply', '-f', 'examples/k8s/']);
      assert.match(applied, /workflow.workflow-router.vllm.ai\/financial-analysis created/);
      assert.match(applied, /vllmpool.workflow-router.vllm.ai\/llama-8b created/);
      // The simulated pods share one free port rather than vLLM's 8000; probes every second.
      await k.ok([
        'patch',
        'vllmpool',
        'llama-8b',
        '--type',
        'merge',
        '-p',
        JSON.stringify({ spec: { port: sims.port, health: { periodSeconds: 1 } } }),
      ]);
      for (const host of HOSTS) api.apply(vllmPod(POD_OF_HOST.get(host) ?? '', host, true));

      operator = await startOperatorProcess('operator-a', api.kubeconfigPath, redis.url, [
        '--leader-elect',
        '--lease-duration',
        '4',
        '--renew-deadline',
        '3',
        '--retry-period',
        '0.5',
        // Workflows without spec.ttlSeconds idle out after 3 s here (the expiry test), as on the routers.
        '--workflow-ttl',
        String(SHORT_TTL),
      ]);
      routers.push(
        await startRouterProcess('router-1', redis.url, ['--workflow-ttl', String(SHORT_TTL)]),
        await startRouterProcess('router-2', redis.url, ['--workflow-ttl', String(SHORT_TTL)]),
      );

      await eventually('three pods in the routing table', async () => (await routedPods()).length === 3);
      assert.deepEqual(await routedPods(), ['vllm-2', 'vllm-3', 'vllm-4']);
      for (const router of routers) {
        await eventually(
          `${router.name} to route to the three pods`,
          async () => (await routerPods(router)).length === 3,
        );
      }
      const pools = await eventually('kubectl get vllmpools to show 3/3', async () => {
        const out = await k.ok(['get', 'vllmpools']);
        return /llama-8b\s+3\/3\s+meta-llama\/Llama-3.1-8B-Instruct\s+workflow_aware/.test(out) && out;
      });
      assert.deepEqual(columns(pools.split('\n')[0]), ['NAME', 'READY', 'MODELS', 'LOGIC', 'AGE']);
    });

    test('a workflow runs through both routers; kubectl get shows it Active with pod, calls and hit rate', async () => {
      const [r1, r2] = routers;
      assert.ok(r1 && r2);
      await eventually('the Workflow declared in Redis', () =>
        statusOf('financial-analysis').conditions?.some((c) => c.type === 'Ready' && c.reason === 'Declared'),
      );
      const outputs: Record<string, string> = {};
      const plan: [RouterProcess, string, string][] = [
        [r1, 'data_analyst', 'Extract the key figures.'],
        [r2, 'risk_assessor', 'Assess the risks in those figures.'],
        [r1, 'report_writer', 'Write the summary for the board.'],
        [r2, 'data_analyst', 'Recheck the figures for quarter 3.'],
        [r1, 'risk_assessor', 'Update the risk assessment.'],
        [r2, 'report_writer', 'Write the final report.'],
      ];
      for (const [router, agent, task] of plan)
        outputs[agent] = await call(router, 'financial-analysis', agent, task);

      const served = servedBy('You are the data_analyst').concat(
        servedBy('You are the risk_assessor'),
        servedBy('You are the report_writer'),
      );
      assert.equal(served.length, 6);
      assert.equal(
        new Set(served).size,
        1,
        `every call on one pod, through two routers: ${served.join(', ')}`,
      );
      const pod = served[0] ?? '';

      // Declarations the routers honour: an undeclared agent is refused by either replica ...
      await assert.rejects(
        call(r2, 'financial-analysis', 'intruder', 'Let me in.'),
        (e: unknown) => e instanceof OpenAI.APIError && e.status === 403 && /not declared/.test(e.message),
      );
      // ... and strategy and priority come from the Workflow (the calls sent neither).
      const view = (await (await fetch(`${r1.url}/v1/workflows/financial-analysis/status`)).json()) as {
        strategy: string;
        priority: number;
        declared: boolean;
        shared_context: { entries: number };
        pinned_pod: string;
      };
      assert.equal(view.declared, true);
      assert.equal(view.strategy, 'broadcast');
      assert.equal(view.priority, 80);
      assert.equal(view.pinned_pod, `default/${pod}`, 'the router names pods <namespace>/<pod>');
      assert.ok(view.shared_context.entries >= 5, 'broadcast: agent outputs shared');
      const lastPrompt =
        sims.sims
          .get([...POD_OF_HOST.entries()].find(([, p]) => p === pod)?.[0] ?? '')
          ?.stats()
          .requests.at(-1)?.promptText ?? '';
      assert.ok(
        lastPrompt.includes(outputs.data_analyst ?? '\u0000'),
        "the writer's prompt carries the analyst's output",
      );

      const row = await eventually('kubectl get workflows to show the calls', async () => {
        const out = await k.ok(['get', 'workflows']);
        const line = out.split('\n').find((l) => l.startsWith('financial-analysis'));
        const cells = columns(line);
        return cells[4] === '6' && cells;
      });
      assert.equal(row[1], 'Active');
      assert.equal(row[2], 'llama-8b');
      assert.equal(row[3], pod);
      assert.match(row[5] ?? '', /^\d+\.\d%$/);
      assert.ok(Number((row[5] ?? '').replace('%', '')) > 50, `most prompt tokens cached: ${row[5] ?? ''}`);
    });

    test('kubectl describe workflow shows status, conditions and Events', async () => {
      const out = await eventually('the Pinned event', async () => {
        const text = await k.ok(['describe', 'workflow', 'financial-analysis']);
        return /Normal\s+Pinned\s+.*pinned to pod vllm-\d/.test(text) && text;
      });
      for (const expected of [
        /Phase:\s+Active/,
        /Pinned Pod:\s+vllm-\d/,
        /Calls:\s+6/,
        /Cache Hit Rate:\s+\d+\.\d%/,
        /Conditions:/,
        /Type:\s+Ready/,
        /Reason:\s+Declared/,
        /Type:\s+Pinned/,
        /Events:/,
        /Normal\s+Declared\s+.*declared in Redis as default\/financial-analysis/,
        /Name:\s+report_writer/,
      ]) {
        assert.match(out, expected);
      }
    });

    test('selective sharing: the contextFrom the Workflow declares decides what an agent receives', async () => {
      const [r1, r2] = routers;
      assert.ok(r1 && r2);
      await k.ok(
        ['apply', '-f', '-'],
        [
          'apiVersion: workflow-router.vllm.ai/v1alpha1',
          'kind: Workflow',
          'metadata: {name: research}',
          'spec:',
          '  poolRef: llama-8b',
          '  contextSharing: selective',
          '  agents:',
          '    - {name: planner}',
          '    - {name: critic}',
          '    - {name: writer, contextFrom: [planner]}',
          '',
        ].join('\n'),
      );
      await eventually('research declared', () =>
        statusOf('research').conditions?.some((c) => c.type === 'Ready' && c.reason === 'Declared'),
      );
      await call(r1, 'research', 'planner', 'Research task: plan the study.');
      await call(r2, 'research', 'critic', 'Research task: criticise the plan.');
      await call(r1, 'research', 'writer', 'Research task: write it up.');
      const writer = [...sims.sims.values()]
        .flatMap((sim) => sim.stats().requests)
        .find((r) => r.promptText.includes('Research task: write it up.'));
      assert.ok(writer, "the writer's call reached a pod");
      assert.match(writer.promptText, /\[shared by agent planner\]/);
      assert.doesNotMatch(writer.promptText, /\[shared by agent critic\]/);
      assert.equal(new Set(servedBy('Research task')).size, 1, 'pinned to one pod');
    });

    test('a pod marked not ready leaves the table within 2 s; its workflow migrates, with Events', async () => {
      const [r1, r2] = routers;
      assert.ok(r1 && r2);
      const pinned = statusOf('financial-analysis').pinnedPod ?? '';
      const host = [...POD_OF_HOST.entries()].find(([, p]) => p === pinned)?.[0] ?? '';
      assert.ok(host, `pinned to a known pod (${pinned})`);

      const started = Date.now();
      api.apply(vllmPod(pinned, host, false));
      unready = { name: pinned, host };
      await eventually(
        'the pod to leave the routing table',
        async () => !(await routedPods()).includes(pinned),
        10_000,
      );
      timings['not-ready pod out of the Redis table'] = Date.now() - started;
      await Promise.all(
        routers.map((r) =>
          eventually(
            `${r.name} to drop the pod`,
            async () => !(await routerPods(r)).includes(pinned),
            10_000,
          ),
        ),
      );
      timings['not-ready pod out of both routers'] = Date.now() - started;
      assert.ok(
        timings['not-ready pod out of both routers'] < 2000,
        `within 2 s (took ${timings['not-ready pod out of both routers']} ms)`,
      );

      await call(r2, 'financial-analysis', 'report_writer', 'One more paragraph, please.');
      const moved = await eventually('the migration in the status', () => {
        const s = statusOf('financial-analysis');
        return s.migrations === 1 && s.pinnedPod !== pinned && s.pinnedPod;
      });
      assert.notEqual(moved, pinned);
      assert.deepEqual(servedBy('One more paragraph'), [moved]);

      const wfEvents = await eventually('the Migrated event', async () => {
        const text = await k.ok(['describe', 'workflow', 'financial-analysis']);
        return (
          new RegExp(`Normal\\s+Migrated\\s+.*moved from pod ${pinned} to pod ${moved}`).test(text) && text
        );
      });
      assert.match(wfEvents, /Migrations:\s+1/);
      const poolEvents = await k.ok(['describe', 'vllmpool', 'llama-8b']);
      assert.match(
        poolEvents,
        new RegExp(`Warning\\s+PodLost\\s+.*pod ${pinned} left the routing table \\(not ready\\)`),
      );
      assert.match(await k.ok(['get', 'vllmpools']), /llama-8b\s+2\/3/);
      const events = await k.ok(['get', 'events', '--field-selector', 'reason=PodLost']);
      assert.match(events, new RegExp(`vllmpool/llama-8b\\s+pod ${pinned} left the routing table`));
    });

    test('a deleted pod leaves the table; a new pod joins and receives new workflows', async () => {
      const routed = await routedPods();
      assert.equal(routed.length, 2);
      const victim = routed[0] ?? '';
      const started = Date.now();
      await k.ok(['delete', 'pod', victim, '--wait=false']);
      await eventually(
        'the deleted pod to leave the table',
        async () => !(await routedPods()).includes(victim),
        10_000,
      );
      timings['deleted pod out of the Redis table'] = Date.now() - started;
      await eventually('kubectl to show the PodLost event', async () =>
        new RegExp(
          `PodLost\\s+.*pod ${victim} left the routing table \\(deleted or no longer selected\\)`,
        ).test(await k.ok(['describe', 'vllmpool', 'llama-8b'])),
      );

      const newcomer = await sims.also('127.0.0.5');
      POD_OF_HOST.set('127.0.0.5', 'vllm-5');
      const joinStart = Date.now();
      api.apply(vllmPod('vllm-5', '127.0.0.5', true));
      await eventually('vllm-5 in the table', async () => (await routedPods()).includes('vllm-5'), 10_000);
      timings['new pod into the Redis table'] = Date.now() - joinStart;
      await Promise.all(
        routers.map((r) =>
          eventually(`${r.name} to route to vllm-5`, async () => (await routerPods(r)).includes('vllm-5')),
        ),
      );

      // New workflows with a prompt no pod has cached are placed by pinned workflows per pod:
      // of three, the empty newcomer gets at least one.
      const [r1] = routers;
      assert.ok(r1);
      for (let i = 0; i < 3; i++) {
        await client(r1).chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `Fresh workflow ${i}: a question nobody asked before.` }],
          max_tokens: 4,
          // @ts-expect-error: the router's extension field
          workflow_metadata: { workflow_id: `newcomer-${i}`, agent_id: 'solo' },
        });
      }
      const onNewcomer = newcomer.stats().requests.filter((r) => r.status === 200).length;
      assert.ok(onNewcomer >= 1, 'the new pod received new workflows');
      // vllm-5 and one old pod routable; the unready one still counts in the total.
      await eventually('kubectl get vllmpools to show 2/3', async () =>
        /llama-8b\s+2\/3/.test(await k.ok(['get', 'vllmpools'])),
      );
    });

    test('the operator resumes its watches and relists after 410 Gone', async () => {
      const back = unready;
      assert.ok(back, 'the pod marked not ready earlier');
      const listsBefore = podLists();
      api.closeWatches();
      api.apply(vllmPod(back.name, back.host, true));
      await eventually(
        'the pod back after a resumed watch',
        async () => (await routedPods()).includes(back.name),
        15_000,
      );

      assert.equal(podLists(), listsBefore, 'a closed watch resumes from its resourceVersion: no relist');

      // A bookmark may have carried the newest resourceVersion to the operator, and resuming from
      // the newest is legal even after a compaction (as in Kubernetes): an unrelated write first
      // makes the operator's resourceVersion strictly older than the compacted history.
      api.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'unrelated', namespace: 'default' },
      });
      api.compact();
      api.closeWatches();
      api.apply(vllmPod(back.name, back.host, false));
      await eventually(
        'the pod out again after a relist',
        async () => !(await routedPods()).includes(back.name),
        30_000,
      );
      assert.ok(
        podLists() > listsBefore,
        'the old resourceVersion is gone (410): the pods were listed again',
      );
    });

    test('an idle Workflow expires: phase Expired, an Event, its Redis state gone, the resource kept', async () => {
      const [r1] = routers;
      assert.ok(r1);
      await k.ok(
        ['apply', '-f', '-'],
        'apiVersion: workflow-router.vllm.ai/v1alpha1\nkind: Workflow\nmetadata:\n  name: short-lived\nspec:\n  agents: [{name: solo}]\n',
      );
      await eventually('short-lived declared', () =>
        statusOf('short-lived').conditions?.some((c) => c.reason === 'Declared'),
      );
      await call(r1, 'short-lived', 'solo', 'A quick question.');
      await eventually('short-lived active', () => statusOf('short-lived').calls === 1);
      const expired = await eventually(
        'kubectl get to show Expired',
        async () => {
          const out = await k.ok([
            'get',
            'workflow',
            'short-lived',
            '-o',
            'jsonpath={.status.phase} {.status.calls}',
          ]);
          return out.startsWith('Expired') && out;
        },
        30_000,
      );
      assert.equal(expired, 'Expired 1', 'the last known calls stay');
      assert.match(await k.ok(['get', 'workflows']), /short-lived\s+Expired\s+/);
      await eventually(
        'its Redis state removed',
        async () => (await admin.keys('wr:{wf:default/short-lived}:*')).length === 0,
      );
      const described = await eventually('the Expired event', async () => {
        const text = await k.ok(['describe', 'workflow', 'short-lived']);
        return /Normal\s+Expired\s+/.test(text) && text;
      });
      assert.match(described, /Reason:\s+Expired/);
      assert.ok(workflow('short-lived'), 'the resource is kept');

      // Editing the spec declares it again.
      await k.ok(['patch', 'workflow', 'short-lived', '--type', 'merge', '-p', '{"spec":{"priority":60}}']);
      await eventually('short-lived declared again', () => statusOf('short-lived').phase === 'Pending');
      assert.equal(
        ((await (await fetch(`${r1.url}/v1/workflows/short-lived/status`)).json()) as { priority: number })
          .priority,
        60,
      );
    });

    test('deleting a Workflow removes its Redis keys, then the resource', async () => {
      const prefix = 'wr:{wf:default/financial-analysis}:';
      const keys = async (): Promise<string[]> => admin.keys(`${prefix}*`);
      assert.ok((await keys()).length > 0, 'the workflow has state in Redis');
      assert.deepEqual(workflow('financial-analysis')?.metadata.finalizers, [
        'workflow-router.vllm.ai/cleanup',
      ]);
      const started = Date.now();
      assert.match(await k.ok(['delete', 'workflow', 'financial-analysis', '--timeout=30s']), /deleted/);
      timings['kubectl delete workflow (finalizer run)'] = Date.now() - started;
      assert.deepEqual(await keys(), []);
      assert.equal(await admin.hget('wr:{fleet}:pins', 'default/financial-analysis'), null);
      assert.equal(await admin.zscore('wr:{fleet}:activity', 'default/financial-analysis'), null);
      assert.equal(workflow('financial-analysis'), undefined);
      const [r1] = routers;
      assert.ok(r1);
      assert.equal((await fetch(`${r1.url}/v1/workflows/financial-analysis/status`)).status, 404);
    });
  },
);
