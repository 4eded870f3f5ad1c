// Two operator processes elect one leader through a coordination.k8s.io Lease; when the
// leader is killed the other takes over within the lease duration (plus one retry period,
// since it counts from when it last saw the lease renewed), and a leader that stops
// gracefully releases the lease so the next one takes over at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { eventually } from './helpers/eventually.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import { startOperatorProcess, type OperatorProcess } from './helpers/operator-stack.ts';
import { startKubeApi, type KubeApi } from './kube-api/server.ts';

const LEASE_SECONDS = 3;
const RETRY_SECONDS = 0.5;
const ELECTION = [
  '--leader-elect',
  '--lease-namespace',
  'default',
  '--lease-duration',
  String(LEASE_SECONDS),
  '--renew-deadline',
  '2',
  '--retry-period',
  String(RETRY_SECONDS),
];

const leaseSpecSchema = z.object({
  holderIdentity: z.string().optional(),
  leaseTransitions: z.number().optional(),
  renewTime: z.string().optional(),
});

describe(
  'operator leader election',
  { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let k: Kubectl;
    let redis: RedisServer;
    const operators: OperatorProcess[] = [];
    const timings: Record<string, number> = {};

    const lease = (): z.infer<typeof leaseSpecSchema> =>
      leaseSpecSchema.parse(
        api.get('coordination.k8s.io/v1', 'leases', 'default', 'workflow-operator')?.spec ?? {},
      );
    const declared = (name: string): boolean => {
      const status = api.get('workflow-router.vllm.ai/v1alpha1', 'workflows', 'default', name)?.status as
        { conditions?: { type: string; reason: string }[] } | undefined;
      return status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'Declared') === true;
    };
    const leaderGauge = async (op: OperatorProcess): Promise<number> => {
      const url = /metrics on (http:\/\/\S+)/.exec(op.output())?.[1];
      const text = await (await fetch(`${url ?? ''}/metrics`)).text();
      return Number(/^workflow_operator_leader (\S+)$/m.exec(text)?.[1]);
    };
    const workflowYaml = (name: string): string =>
      `apiVersion: workflow-router.vllm.ai/v1alpha1\nkind: Workflow\nmetadata:\n  name: ${name}\nspec:\n  contextSharing: auto\n`;
    const byIdentity = (id: string | undefined): OperatorProcess => {
      const op = operators.find((o) => o.identity === id);
      assert.ok(op, `an operator named ${String(id)}`);
      return op;
    };

    before(async () => {
      api = await startKubeApi();
      k = new Kubectl(api.kubeconfigPath);
      redis = await startRedis();
      await k.ok(['apply', '-f', 'crds/']);
      await k.ok([
        'wait',
        '--for=condition=Established',
        'crd/workflows.workflow-router.vllm.ai',
        '--timeout=30s',
      ]);
    });

    after(async () => {
      await Promise.all(operators.map((op) => op.kill()));
      await redis?.stop();
      await api?.close();
      const report = Object.entries(timings)
        .map(([what, ms]) => `${what}: ${ms} ms`)
        .join('; ');
      if (report)
        console.log(
          `# leader election timings (lease ${LEASE_SECONDS} s, retry ${RETRY_SECONDS} s): ${report}`,
        );
    });

    test('two operators: one holds the lease and reconciles, the other waits', async () => {
      operators.push(
        await startOperatorProcess('operator-a', api.kubeconfigPath, redis.url, ELECTION),
        await startOperatorProcess('operator-b', api.kubeconfigPath, redis.url, ELECTION),
      );
      const holder = await eventually('a lease holder', () => lease().holderIdentity || undefined);
      const leader = byIdentity(holder);
      const follower = operators.find((o) => o !== leader);
      assert.ok(follower);
      await k.ok(['apply', '-f', '-'], workflowYaml('before-failover'));
      await eventually('the leader to declare the Workflow', () => declared('before-failover'));
      assert.equal(await leaderGauge(leader), 1);
      assert.equal(await leaderGauge(follower), 0);
      assert.match(leader.output(), /controllers running/);
      assert.doesNotMatch(follower.output(), /controllers running/);
      assert.equal(lease().holderIdentity, leader.identity, 'still the same leader');
    });

    test('the leader is killed: the other takes over within the lease duration and reconciles', async () => {
      const leader = byIdentity(lease().holderIdentity);
      const follower = operators.find((o) => o !== leader && o.child.exitCode === null);
      assert.ok(follower);
      const transitions = lease().leaseTransitions ?? 0;
      const lastRenewal = Date.parse(lease().renewTime ?? '');
      await leader.kill();
      const killedAt = Date.now();
      await eventually(
        'the follower to hold the lease',
        () => lease().holderIdentity === follower.identity,
        20_000,
      );
      const tookOver = Date.now();
      timings['kill -9 to takeover'] = tookOver - killedAt;
      timings['last renewal to takeover'] = tookOver - lastRenewal;
      // It waits a lease duration from when it last saw a renewal (at most a retry period after it).
      const bound = (LEASE_SECONDS + 2 * RETRY_SECONDS + 2) * 1000;
      assert.ok(
        tookOver - lastRenewal < bound,
        `took over ${tookOver - lastRenewal} ms after the last renewal`,
      );
      assert.equal(lease().leaseTransitions, transitions + 1);
      await k.ok(['apply', '-f', '-'], workflowYaml('after-failover'));
      await eventually('the new leader to declare a new Workflow', () => declared('after-failover'));
      assert.equal(await leaderGauge(follower), 1);
    });

    test('a leader stopped with SIGTERM releases the lease: the next takes over at once', async () => {
      const leader = byIdentity(lease().holderIdentity);
      operators.push(await startOperatorProcess('operator-c', api.kubeconfigPath, redis.url, ELECTION));
      const next = operators.at(-1);
      assert.ok(next);
      const stoppedAt = Date.now();
      assert.equal(await leader.stop(), 0, 'a clean exit');
      assert.match(leader.output(), /released the lease/);
      await eventually('operator-c to hold the lease', () => lease().holderIdentity === 'operator-c', 20_000);
      timings['SIGTERM to takeover'] = Date.now() - stoppedAt;
      assert.ok(timings['SIGTERM to takeover'] < LEASE_SECONDS * 1000, 'faster than waiting out the lease');
      await k.ok(['apply', '-f', '-'], workflowYaml('after-handover'));
      await eventually('operator-c to declare a new Workflow', () => declared('after-handover'));
    });
  },
);
