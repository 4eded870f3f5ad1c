// The CRDs in crds/ (generated from core's zod schemas) as the API server enforces them:
// kubectl apply of a bad Workflow or VllmPool is refused with the reason, a good one gets its
// defaults, and kubectl explain documents the fields.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import { startKubeApi, type KubeApi } from './kube-api/server.ts';

const workflow = (name: string, spec: string): string =>
  `apiVersion: workflow-router.vllm.ai/v1alpha1\nkind: Workflow\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const pool = (name: string, spec: string): string =>
  `apiVersion: workflow-router.vllm.ai/v1alpha1\nkind: VllmPool\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe(
  'CRD validation through kubectl',
  { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let k: Kubectl;

    before(async () => {
      api = await startKubeApi();
      k = new Kubectl(api.kubeconfigPath);
      await k.ok(['apply', '-f', 'crds/']);
      await k.ok([
        'wait',
        '--for=condition=Established',
        'crd/workflows.workflow-router.vllm.ai',
        'crd/vllmpools.workflow-router.vllm.ai',
        '--timeout=30s',
      ]);
    });

    after(async () => {
      await api?.close();
    });

    /** kubectl apply must fail, printing every expected reason. */
    async function refused(manifest: string, reasons: RegExp[]): Promise<void> {
      const r = await k.run(['apply', '-f', '-'], manifest);
      assert.equal(r.code, 1, `expected a refusal, got: ${r.stdout}`);
      for (const reason of reasons) assert.match(r.stderr, reason);
    }

    test('wrong types are refused, naming the field and the type', async () => {
      await refused(workflow('bad-types', '  ttlSeconds: "an hour"\n  priority: high\n  agents: analyst\n'), [
        /The Workflow "bad-types" is invalid/,
        /spec\.ttlSeconds: Invalid value: "string": spec\.ttlSeconds in body must be of type integer/,
        /spec\.priority: Invalid value: "string": spec\.priority in body must be of type number/,
        /spec\.agents: Invalid value: "string": spec\.agents in body must be of type array/,
      ]);
      await refused(pool('bad-port', '  selector:\n    matchLabels: {app: vllm}\n  port: "8000"\n'), [
        /spec\.port: Invalid value: "string": spec\.port in body must be of type integer/,
      ]);
    });

    test('an unknown strategy or routing logic is refused with the supported values', async () => {
      await refused(workflow('bad-strategy', '  contextSharing: everything\n'), [
        /spec\.contextSharing: Unsupported value: "everything": supported values: "auto", "broadcast", "selective", "none"/,
      ]);
      await refused(
        pool('bad-logic', '  selector:\n    matchLabels: {app: vllm}\n  routing:\n    logic: random\n'),
        [/spec\.routing\.logic: Unsupported value: "random"/],
      );
    });

    test('out-of-range values are refused: ttl below the minimum, priority above 100', async () => {
      await refused(workflow('short-ttl', '  ttlSeconds: 5\n  priority: 101\n'), [
        /spec\.ttlSeconds: Invalid value: 5: spec\.ttlSeconds in body should be greater than or equal to 60/,
        /spec\.priority: Invalid value: 101: spec\.priority in body should be less than or equal to 100/,
      ]);
    });

    test('cross-field rules (CEL): contextFrom names declared agents, selective needs contextFrom, selectors are not empty', async () => {
      await refused(
        workflow('stray-context', '  agents:\n    - name: writer\n      contextFrom: [ghost]\n'),
        [/every agents\[\]\.contextFrom entry must name a declared agent/],
      );
      await refused(workflow('selective-alone', '  contextSharing: selective\n  agents:\n    - name: a\n'), [
        /selective context sharing needs at least one agent with contextFrom/,
      ]);
      await refused(pool('select-all', '  selector:\n    matchLabels: {}\n'), [
        /selector\.matchLabels must not be empty/,
      ]);
    });

    test('a good resource is stored with its defaults; kubectl explain documents the fields', async () => {
      await k.ok(['apply', '-f', '-'], workflow('good', '  agents:\n    - name: a\n'));
      const spec = api.get('workflow-router.vllm.ai/v1alpha1', 'workflows', 'default', 'good')?.spec;
      assert.deepEqual(spec, {
        agents: [{ name: 'a', contextFrom: [] }],
        contextSharing: 'auto',
        priority: 50,
      });
      await k.ok(['apply', '-f', '-'], pool('good', '  selector:\n    matchLabels: {app: vllm}\n'));
      const poolSpec = api.get('workflow-router.vllm.ai/v1alpha1', 'vllmpools', 'default', 'good')
        ?.spec as Record<string, unknown>;
      assert.equal(poolSpec.port, 8000);
      assert.deepEqual(poolSpec.health, {
        path: '/health',
        periodSeconds: 5,
        timeoutSeconds: 2,
        failureThreshold: 1,
      });
      const explained = await k.ok(['explain', 'workflow.spec.ttlSeconds']);
      assert.match(explained, /Idle seconds after which the workflow expires/);
      assert.match(await k.ok(['get', 'wf,vp']), /workflow\.workflow-router\.vllm\.ai\/good/);
    });
  },
);
