// The emulator through the real kubectl (v1.33, .tools/bin/kubectl from `make tools`), the
// way users will drive the operator: apply CRDs and custom resources (client-side apply with
// the last-applied annotation, then edits), get with printer columns, -o yaml, describe with
// conditions and Events, server-side validation, delete with finalizers, and get -w.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { eventually } from './helpers/eventually.ts';
import { Kubectl, kubectlInstalled } from './helpers/kubectl.ts';
import { startKubeApi } from './kube-api/server.ts';
import type { KubeApi, KubeObject } from './kube-api/server.ts';

const TESTDATA = fileURLToPath(new URL('./kube-api/testdata/', import.meta.url));
const CRDS = join(TESTDATA, 'crds');
const WORKFLOW = join(TESTDATA, 'workflow.yaml');
const WF_API = 'workflow-router.vllm.ai/v1alpha1';

function columns(line: string | undefined): string[] {
  return (line ?? '').trim().split(/\s{2,}/);
}

describe(
  'kube-api emulator with kubectl',
  { skip: !kubectlInstalled() && 'kubectl missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let k: Kubectl;
    let dir: string;

    before(async () => {
      api = await startKubeApi();
      k = new Kubectl(api.kubeconfigPath);
      dir = mkdtempSync(join(tmpdir(), 'kube-api-kubectl-'));
    });

    after(async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(k.cacheDir, { recursive: true, force: true });
    });

    test('apply -f crds/, then a custom resource, then again after an edit (client-side apply)', async () => {
      const crds = await k.ok(['apply', '-f', CRDS]);
      assert.match(
        crds,
        /customresourcedefinition.apiextensions.k8s.io\/workflows.workflow-router.vllm.ai created/,
      );
      assert.match(
        crds,
        /customresourcedefinition.apiextensions.k8s.io\/vllmpools.workflow-router.vllm.ai created/,
      );
      await k.ok([
        'wait',
        '--for=condition=Established',
        'crd/workflows.workflow-router.vllm.ai',
        '--timeout=30s',
      ]);

      assert.match(
        await k.ok(['apply', '-f', WORKFLOW]),
        /workflow.workflow-router.vllm.ai\/research created/,
      );
      const created = api.get(WF_API, 'workflows', 'default', 'research');
      const lastApplied =
        created?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '';
      assert.equal((JSON.parse(lastApplied) as { spec: { ttlSeconds: number } }).spec.ttlSeconds, 600);

      const edited = readFileSync(WORKFLOW, 'utf8')
        .replace('ttlSeconds: 600', 'ttlSeconds: 900')
        .replace(/ {4}- name: writer\n {6}contextFrom: \[planner\]\n/, '');
      const editedPath = join(dir, 'workflow.yaml');
      writeFileSync(editedPath, edited);
      assert.match(
        await k.ok(['apply', '-f', editedPath]),
        /workflow.workflow-router.vllm.ai\/research configured/,
      );
      const updated = api.get(WF_API, 'workflows', 'default', 'research') as KubeObject & {
        spec: { ttlSeconds: number; agents: { name: string }[] };
      };
      assert.equal(updated.spec.ttlSeconds, 900);
      assert.deepEqual(
        updated.spec.agents,
        [{ name: 'planner' }],
        'the three-way merge removed the dropped agent',
      );
      assert.equal(updated.metadata.generation, 2);
      assert.match(
        updated.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '',
        /"ttlSeconds":900/,
      );
      assert.match(
        await k.ok(['apply', '-f', editedPath]),
        /workflow.workflow-router.vllm.ai\/research unchanged/,
      );
    });

    test('get prints the printer columns; the short name and the category resolve', async () => {
      const wf = api.get(WF_API, 'workflows', 'default', 'research');
      assert.ok(wf);
      api.apply({
        ...wf,
        status: {
          phase: 'Active',
          pinnedPod: 'vllm-0',
          calls: 3,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Pinned',
              message: 'pinned to vllm-0',
              lastTransitionTime: '2025-01-01T00:00:00Z',
            },
          ],
        },
      });
      const lines = (await k.ok(['get', 'wf'])).trim().split('\n');
      assert.deepEqual(columns(lines[0]), ['NAME', 'POOL', 'PHASE', 'POD', 'CALLS', 'AGE']);
      assert.deepEqual(columns(lines[1]).slice(0, 5), ['research', 'llama', 'Active', 'vllm-0', '3']);
      const wide = (await k.ok(['get', 'workflows.workflow-router.vllm.ai', '-o', 'wide']))
        .trim()
        .split('\n');
      assert.deepEqual(columns(wide[0]), ['NAME', 'POOL', 'PHASE', 'POD', 'CALLS', 'READY', 'AGE']);
      assert.equal(columns(wide[1])[5], 'True');
      assert.match(await k.ok(['get', 'workflow-router']), /workflow.workflow-router.vllm.ai\/research/);
    });

    test('get -o yaml returns the stored object', async () => {
      const obj = parse(await k.ok(['get', 'wf', 'research', '-o', 'yaml'])) as KubeObject & {
        spec: { poolRef: string; priority: string };
        status: { phase: string };
      };
      assert.equal(obj.kind, 'Workflow');
      assert.equal(obj.apiVersion, WF_API);
      assert.equal(obj.spec.poolRef, 'llama');
      assert.equal(obj.spec.priority, 'normal', 'schema default');
      assert.equal(obj.status.phase, 'Active');
      assert.ok(obj.metadata.uid && obj.metadata.resourceVersion && obj.metadata.creationTimestamp);
    });

    test('describe shows status, conditions and Events', async () => {
      const wf = api.get(WF_API, 'workflows', 'default', 'research');
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      api.apply({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'research.pinned', namespace: 'default' },
        involvedObject: {
          apiVersion: WF_API,
          kind: 'Workflow',
          name: 'research',
          namespace: 'default',
          uid: wf?.metadata.uid ?? '',
        },
        reason: 'Pinned',
        message: 'pinned to vllm-0',
        type: 'Normal',
        source: { component: 'workflow-operator' },
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
      });
      api.apply({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'other.pinned', namespace: 'default' },
        involvedObject: {
          apiVersion: WF_API,
          kind: 'Workflow',
          name: 'other',
          namespace: 'default',
          uid: 'x',
        },
        reason: 'Elsewhere',
        message: 'not about research',
        type: 'Normal',
      });
      const out = await k.ok(['describe', 'wf', 'research']);
      assert.match(out, /^Status:\n/m);
      assert.match(out, /Phase:\s+Active/);
      assert.match(
        out,
        /Conditions:\n\s+Last Transition Time:\s+2025-01-01T00:00:00Z\n\s+Message:\s+pinned to vllm-0/,
      );
      assert.match(out, /Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/);
      assert.match(out, /Normal\s+Pinned\s+\S+\s+workflow-operator\s+pinned to vllm-0/);
      assert.doesNotMatch(out, /not about research/);
    });

    test('server-side validation refuses what a real apiserver refuses', async () => {
      const tooShort = join(dir, 'short-ttl.yaml');
      writeFileSync(tooShort, readFileSync(WORKFLOW, 'utf8').replace('ttlSeconds: 600', 'ttlSeconds: 10'));
      const invalid = await k.run(['apply', '-f', tooShort]);
      assert.equal(invalid.code, 1);
      assert.match(
        invalid.stderr,
        /The Workflow "research" is invalid: spec.ttlSeconds: Invalid value: 10: spec.ttlSeconds in body should be greater than or equal to 60/,
      );
      const unknown = join(dir, 'unknown.yaml');
      writeFileSync(
        unknown,
        `apiVersion: ${WF_API}\nkind: Workflow\nmetadata:\n  name: typo\nspec:\n  poolRef: llama\n  ttlSecond: 600\n`,
      );
      const strict = await k.run(['apply', '-f', unknown]);
      assert.equal(strict.code, 1);
      assert.match(strict.stderr, /strict decoding error: unknown field "spec.ttlSecond"/);
      const lax = await k.run(['apply', '-f', unknown, '--validate=false']);
      assert.equal(lax.code, 0, lax.stderr);
      assert.equal(
        (api.get(WF_API, 'workflows', 'default', 'typo')?.spec as Record<string, unknown>).ttlSecond,
        undefined,
      );
    });

    test('apply of a built-in kind: strategic merge patch, then server-side apply', async () => {
      const cm = (data: string): string =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: routing\n  labels:\n    app: router\ndata:\n${data}`;
      const path = join(dir, 'cm.yaml');
      writeFileSync(path, cm('  a: "1"\n  b: "2"\n'));
      assert.match(await k.ok(['apply', '-f', path]), /configmap\/routing created/);
      writeFileSync(path, cm('  a: "10"\n'));
      assert.match(await k.ok(['apply', '-f', path]), /configmap\/routing configured/);
      assert.deepEqual(api.get('v1', 'configmaps', 'default', 'routing')?.data, { a: '10' });

      const ssa = join(dir, 'ssa.yaml');
      writeFileSync(
        ssa,
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  x: "1"\n  y: "2"\n',
      );
      assert.match(await k.ok(['apply', '--server-side', '-f', ssa]), /configmap\/ssa serverside-applied/);
      writeFileSync(ssa, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  x: "1"\n');
      await k.ok(['apply', '--server-side', '-f', ssa]);
      assert.deepEqual(
        api.get('v1', 'configmaps', 'default', 'ssa')?.data,
        { x: '1' },
        'a field no longer applied is removed',
      );
      writeFileSync(
        join(dir, 'conflict.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  x: "2"\n',
      );
      const clash = await k.run([
        'apply',
        '--server-side',
        '--field-manager=other',
        '-f',
        join(dir, 'conflict.yaml'),
      ]);
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /conflict with "kubectl" using v1: \.data\.x/);
      await k.ok([
        'apply',
        '--server-side',
        '--field-manager=other',
        '--force-conflicts',
        '-f',
        join(dir, 'conflict.yaml'),
      ]);
      assert.deepEqual(api.get('v1', 'configmaps', 'default', 'ssa')?.data, { x: '2' });
    });

    test('get pods -w receives a change', async () => {
      api.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'vllm-0', namespace: 'default' },
        spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
      });
      const watcher = k.start(['get', 'pods', '-w']);
      let out = '';
      watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await eventually('the initial listing', () => /vllm-0\s+0\/1\s+Pending/.test(out));
        await eventually('the watch to be open', () => api.openWatches > 0);
        const pod = api.get('v1', 'pods', 'default', 'vllm-0');
        assert.ok(pod);
        api.apply({
          ...pod,
          status: {
            phase: 'Running',
            podIP: '10.0.0.7',
            conditions: [{ type: 'Ready', status: 'True' }],
            containerStatuses: [
              {
                name: 'vllm',
                ready: true,
                restartCount: 0,
                image: 'vllm/vllm-openai',
                imageID: '',
                state: { running: { startedAt: '2025-01-01T00:00:00Z' } },
              },
            ],
          },
        });
        await eventually('the Running line', () => /vllm-0\s+1\/1\s+Running/.test(out));
      } finally {
        watcher.kill();
      }
    });

    test('delete waits while a finalizer holds the object, and returns once it is removed', async () => {
      const wf = api.get(WF_API, 'workflows', 'default', 'research');
      assert.ok(wf);
      api.apply({ ...wf, metadata: { ...wf.metadata, finalizers: ['workflow-router.vllm.ai/redis'] } });
      const deleting = k.run(['delete', 'wf', 'research', '--timeout=60s']);
      const held = await eventually('deletionTimestamp', () => {
        const obj = api.get(WF_API, 'workflows', 'default', 'research');
        return obj?.metadata.deletionTimestamp ? obj : undefined;
      });
      await eventually('kubectl to wait on a watch', () => api.openWatches > 0);
      api.apply({ ...held, metadata: { ...held.metadata, finalizers: [] } });
      const result = await deleting;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /workflow.workflow-router.vllm.ai "research" deleted/);
      assert.equal(api.get(WF_API, 'workflows', 'default', 'research'), undefined);
    });

    test('explain reads the CRD schema from OpenAPI v3', async () => {
      const out = await k.ok(['explain', 'workflow.spec.ttlSeconds']);
      assert.match(out, /KIND:\s+Workflow/);
      assert.match(out, /FIELD: ttlSeconds <integer>/);
    });
  },
);
