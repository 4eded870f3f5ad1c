// Helm v4 against the emulator: install (server-side apply, CRDs from crds/, the release
// Secret written by a protobuf-speaking typed client), upgrade and uninstall. The stored
// workload kinds have no controllers, so this checks what Helm writes, not that it runs.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Helm, helmInstalled } from './helpers/helm.ts';
import { startKubeApi } from './kube-api/server.ts';
import type { KubeApi } from './kube-api/server.ts';

const CRD = fileURLToPath(new URL('./kube-api/testdata/crds/workflows.yaml', import.meta.url));

const TEMPLATES: Record<string, string> = {
  'serviceaccount.yaml':
    'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-operator\n',
  'clusterrole.yaml':
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Name }}-operator\nrules:\n  - apiGroups: [workflow-router.vllm.ai]\n    resources: [workflows, workflows/status]\n    verbs: [get, list, watch, patch]\n',
  'clusterrolebinding.yaml':
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {{ .Release.Name }}-operator\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {{ .Release.Name }}-operator\nsubjects:\n  - kind: ServiceAccount\n    name: {{ .Release.Name }}-operator\n    namespace: {{ .Release.Namespace }}\n',
  'configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  logic: {{ .Values.logic | quote }}\n',
  'deployment.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-router\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: router}\n  template:\n    metadata:\n      labels: {app: router}\n    spec:\n      serviceAccountName: {{ .Release.Name }}-operator\n      containers:\n        - name: router\n          image: workflow-router:dev\n          ports: [{containerPort: 8080}]\n',
  'service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-router\nspec:\n  selector: {app: router}\n  ports: [{port: 80, targetPort: 8080}]\n',
};

describe(
  'kube-api emulator with helm',
  { skip: !helmInstalled() && 'helm missing: run `make tools`' },
  () => {
    let api: KubeApi;
    let helm: Helm;
    let chart: string;

    before(async () => {
      api = await startKubeApi();
      helm = new Helm(api.kubeconfigPath);
      chart = mkdtempSync(join(tmpdir(), 'kube-api-chart-'));
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
      writeFileSync(join(chart, 'values.yaml'), 'replicas: 1\nlogic: least-load\n');
      mkdirSync(join(chart, 'templates'));
      mkdirSync(join(chart, 'crds'));
      cpSync(CRD, join(chart, 'crds', 'workflows.yaml'));
      for (const [name, body] of Object.entries(TEMPLATES))
        writeFileSync(join(chart, 'templates', name), body);
    });

    after(async () => {
      await api.close();
      rmSync(chart, { recursive: true, force: true });
      rmSync(helm.home, { recursive: true, force: true });
    });

    test('install, upgrade and uninstall a chart', async () => {
      assert.match(
        await helm.ok(['install', 'wr', chart, '--namespace', 'router', '--create-namespace']),
        /STATUS: deployed/,
      );
      assert.ok(
        api.get(
          'apiextensions.k8s.io/v1',
          'customresourcedefinitions',
          undefined,
          'workflows.workflow-router.vllm.ai',
        ),
      );
      const deployment = api.get('apps/v1', 'deployments', 'router', 'wr-router');
      assert.equal((deployment?.spec as { replicas: number }).replicas, 1);
      assert.equal(
        api.get('rbac.authorization.k8s.io/v1', 'clusterrolebindings', undefined, 'wr-operator')?.kind,
        'ClusterRoleBinding',
      );
      const release = api.list('v1', 'secrets', 'router', { labelSelector: 'owner=helm,name=wr' });
      assert.equal(release[0]?.type, 'helm.sh/release.v1');

      await helm.ok(['upgrade', 'wr', chart, '--namespace', 'router', '--set', 'replicas=3,logic=prefix']);
      assert.equal(
        (api.get('apps/v1', 'deployments', 'router', 'wr-router')?.spec as { replicas: number }).replicas,
        3,
      );
      assert.deepEqual(api.get('v1', 'configmaps', 'router', 'wr-config')?.data, { logic: 'prefix' });
      assert.match(await helm.ok(['list', '--namespace', 'router']), /wr\s+router\s+2\s/);

      await helm.ok(['uninstall', 'wr', '--namespace', 'router']);
      assert.equal(api.get('apps/v1', 'deployments', 'router', 'wr-router'), undefined);
      assert.equal(api.list('v1', 'secrets', 'router').length, 0);
      assert.ok(
        api.get(
          'apiextensions.k8s.io/v1',
          'customresourcedefinitions',
          undefined,
          'workflows.workflow-router.vllm.ai',
        ),
        'Helm keeps CRDs',
      );
    });

    test('a template the apiserver would refuse fails the install', async () => {
      writeFileSync(
        join(chart, 'templates', 'broken.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: b}\n    spec:\n      containers: [{name: c, image: i}]\n',
      );
      try {
        const r = await helm.run(['install', 'broken', chart, '--namespace', 'default']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /`selector` does not match template `labels`/);
      } finally {
        rmSync(join(chart, 'templates', 'broken.yaml'));
      }
    });
  },
);
