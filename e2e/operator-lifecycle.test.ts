// The operator process on its own: started before the CRDs exist it keeps retrying its
// watches with backoff and starts working once they are applied; it serves /healthz and
// /metrics; SIGTERM stops it cleanly even while a watch is failing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { eventually } from './helpers/eventually.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import { startOperatorProcess, type OperatorProcess } from './helpers/operator-stack.ts';
import { startKubeApi, type KubeApi } from './kube-api/server.ts';

describe('operator lifecycle', { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' }, () => {
  let api: KubeApi;
  let k: Kubectl;
  let redis: RedisServer;
  const operators: OperatorProcess[] = [];

  before(async () => {
    api = await startKubeApi();
    k = new Kubectl(api.kubeconfigPath);
    redis = await startRedis();
  });

  after(async () => {
    await Promise.all(operators.map((op) => op.kill()));
    await redis?.stop();
    await api?.close();
  });

  const metricsUrl = (op: OperatorProcess): string =>
    /metrics on (http:\/\/\S+)/.exec(op.output())?.[1] ?? '';

  test('before the CRDs exist it retries with backoff; once applied it reconciles', async () => {
    const op = await startOperatorProcess('early', api.kubeconfigPath, redis.url);
    operators.push(op);
    await op.waitFor(
      /"informer":"vllmpools".*"message":"watch failed; restarting"|"message":"watch failed; restarting".*"informer":"vllmpools"/,
    );
    assert.equal((await fetch(`${metricsUrl(op)}/healthz`)).status, 200);

    await k.ok(['apply', '-f', 'crds/']);
    await k.ok(['apply', '-f', 'examples/k8s/financial-analysis-workflow.yaml']);
    await eventually(
      'the Workflow declared',
      () => {
        const status = api.get(
          'workflow-router.vllm.ai/v1alpha1',
          'workflows',
          'default',
          'financial-analysis',
        )?.status as { conditions?: { reason: string }[] } | undefined;
        // The pool it names does not exist: declared in Redis, but not Ready.
        return status?.conditions?.some((c) => c.reason === 'PoolNotFound');
      },
      60_000,
    );
    const described = await k.ok(['describe', 'workflow', 'financial-analysis']);
    assert.match(described, /VllmPool "llama-8b" does not exist in namespace "default"/);
    const metrics = await (await fetch(`${metricsUrl(op)}/metrics`)).text();
    assert.match(metrics, /^workflow_operator_reconcile_total\{controller="workflow",result="ok"\} [1-9]/m);
    assert.match(metrics, /^workflow_operator_leader 1$/m);
  });

  test('SIGTERM stops it cleanly, also while a watch keeps failing', async () => {
    const [running] = operators;
    assert.ok(running);
    assert.equal(await running.stop(), 0);
    assert.match(running.output(), /operator stopping/);

    const other = await startKubeApi();
    try {
      const stuck = await startOperatorProcess('stuck', other.kubeconfigPath, redis.url);
      operators.push(stuck);
      await stuck.waitFor(/watch failed; restarting/);
      const started = Date.now();
      assert.equal(await stuck.stop(), 0);
      assert.ok(Date.now() - started < 5000, 'no wait for watches that never synced');
    } finally {
      await other.close();
    }
  });
});
