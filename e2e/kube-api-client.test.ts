// The emulator through @kubernetes/client-node, the way the operator will use it: informers
// that resume and relist, status subresources, optimistic concurrency, finalizers, leases,
// events, selectors and garbage collection.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  loadYaml,
  makeInformer,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type {
  KubernetesObject,
  V1ConfigMap,
  V1CustomResourceDefinition,
  V1Pod,
} from '@kubernetes/client-node';
import { eventually } from './helpers/eventually.ts';
import { startKubeApi } from './kube-api/server.ts';
import type { KubeApi } from './kube-api/server.ts';

const GROUP = 'workflow-router.vllm.ai';
const VERSION = 'v1alpha1';
const CRD_DIR = new URL('./kube-api/testdata/crds/', import.meta.url);

/** Loaded with client-node's loadYaml: its typed models keep `default`, `enum` and `x-kubernetes-*`. */
function crd(file: string): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(readFileSync(new URL(file, CRD_DIR), 'utf8'));
}

/** The Status body of a failed call, for asserting code, reason and message. */
async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body: unknown = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    const b = (body ?? {}) as { reason?: string; message?: string };
    return { code: e.code, reason: b.reason ?? '', message: b.message ?? '' };
  }
  assert.fail('expected the call to fail');
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

describe('kube-api emulator with @kubernetes/client-node', () => {
  let api: KubeApi;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  before(async () => {
    api = await startKubeApi();
    kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: crd('workflows.yaml') });
    await ext.createCustomResourceDefinition({ body: crd('vllmpools.yaml') });
  });

  after(async () => {
    await api.close();
  });

  test('default and kube-system exist; creating in a missing namespace is 404', async () => {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes('default') && names.includes('kube-system'));
    const f = await failure(
      core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }),
    );
    assert.equal(f.code, 404);
    assert.equal(f.message, 'namespaces "nope" not found');
  });

  test('an informer sees adds, updates and deletes, resumes after its watch is closed and relists after 410', async () => {
    await core.createNamespace({ body: { metadata: { name: 'informer' } } });
    let lists = 0;
    const informer = makeInformer<V1ConfigMap>(kc, '/api/v1/namespaces/informer/configmaps', () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: 'informer' });
    });
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name ?? ''}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name ?? ''} ${o.data?.k ?? ''}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name ?? ''}`));
    informer.on('error', () => undefined);
    await informer.start();
    try {
      await eventually('the watch to connect', () => api.openWatches === 1);
      await core.createNamespacedConfigMap({
        namespace: 'informer',
        body: { metadata: { name: 'a' }, data: { k: '1' } },
      });
      await eventually('add a', () => seen.includes('add a'));
      await core.patchNamespacedConfigMap(
        { namespace: 'informer', name: 'a', body: { data: { k: '2' } } },
        merge,
      );
      await eventually('update a', () => seen.includes('update a 2'));
      await core.deleteNamespacedConfigMap({ namespace: 'informer', name: 'a' });
      await eventually('delete a', () => seen.includes('delete a'));

      // Closed watch: the informer reconnects from its resourceVersion, replaying what it missed.
      api.closeWatches();
      api.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'b', namespace: 'informer' },
        data: { k: '1' },
      });
      await eventually('add b after reconnecting', () => seen.includes('add b'));
      assert.equal(lists, 1, 'a resumed watch must not relist');

      // Compacted history: the old resourceVersion is 410 Gone, so the informer relists.
      api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated', namespace: 'informer' } });
      api.compact();
      api.closeWatches();
      api.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'informer' },
        data: { k: '1' },
      });
      await eventually('a relist after 410', () => lists === 2);
      await eventually('add c from the relist', () => seen.includes('add c'));
      assert.deepEqual(
        informer
          .list('informer')
          .map((o) => o.metadata?.name)
          .sort(),
        ['b', 'c'],
      );
    } finally {
      await informer.stop();
    }
  });

  test('status patches leave spec and generation alone; spec changes bump generation only', async () => {
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Workflow',
      metadata: { name: 'wf1' },
      spec: { poolRef: 'llama' },
      status: { phase: 'Active' },
    };
    const created = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      body,
    })) as KubernetesObject & { spec: Record<string, unknown>; status?: unknown };
    assert.equal(created.metadata?.generation, 1);
    assert.equal(created.status, undefined, 'status is dropped on create with a status subresource');
    assert.deepEqual(
      created.spec,
      { poolRef: 'llama', ttlSeconds: 3600, priority: 'normal', contextSharing: true },
      'schema defaults applied',
    );

    const patched = (await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        name: 'wf1',
        body: { spec: { poolRef: 'ignored' }, status: { phase: 'Active', calls: 2 } },
      },
      merge,
    )) as KubernetesObject & { spec: Record<string, unknown>; status: Record<string, unknown> };
    assert.equal(patched.spec.poolRef, 'llama');
    assert.deepEqual(patched.status, { phase: 'Active', calls: 2 });
    assert.equal(patched.metadata?.generation, 1);

    const specPatched = (await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        name: 'wf1',
        body: { spec: { ttlSeconds: 120 }, status: { phase: 'Idle' } },
      },
      merge,
    )) as KubernetesObject & { spec: Record<string, unknown>; status: Record<string, unknown> };
    assert.equal(specPatched.metadata?.generation, 2);
    assert.equal(specPatched.status.phase, 'Active', 'the main resource ignores status');

    const labelled = (await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        name: 'wf1',
        body: { metadata: { labels: { a: 'b' } } },
      },
      merge,
    )) as KubernetesObject;
    assert.equal(labelled.metadata?.generation, 2, 'metadata changes do not bump generation');
  });

  test('schema validation answers 422 with the apiserver message; strict field validation answers 400', async () => {
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Workflow',
      metadata: { name: 'bad' },
      spec: { poolRef: 'p', ttlSeconds: 10 },
    };
    const f = await failure(
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        body,
      }),
    );
    assert.equal(f.code, 422);
    assert.equal(f.reason, 'Invalid');
    assert.equal(
      f.message,
      'Workflow.workflow-router.vllm.ai "bad" is invalid: spec.ttlSeconds: Invalid value: 10: spec.ttlSeconds in body should be greater than or equal to 60',
    );
    const many = await failure(
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        body: { ...body, spec: { priority: 'urgent', agents: [{ name: 'A' }] } },
      }),
    );
    assert.match(many.message, /spec\.poolRef: Required value/);
    assert.match(
      many.message,
      /spec\.priority: Unsupported value: "urgent": supported values: "low", "normal", "high"/,
    );
    assert.match(
      many.message,
      /spec\.agents\[0\]\.name: Invalid value: "A": spec\.agents\[0\]\.name in body should match/,
    );

    const cel = await failure(
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        body: {
          ...body,
          spec: { poolRef: 'p', maxMessageQueueSize: 1, agents: [{ name: 'a' }, { name: 'b' }] },
        },
      }),
    );
    assert.match(
      cel.message,
      /spec: Invalid value: "object": maxMessageQueueSize must be at least the number of agents/,
    );

    const strict = await failure(
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        body: { ...body, spec: { poolRef: 'p', bogus: true } },
        fieldValidation: 'Strict',
      }),
    );
    assert.equal(strict.code, 400);
    assert.match(strict.message, /strict decoding error: unknown field "spec.bogus"/);
    const pruned = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      body: { ...body, metadata: { name: 'pruned' }, spec: { poolRef: 'p', bogus: true } },
    })) as { spec: Record<string, unknown> };
    assert.equal(pruned.spec.bogus, undefined, 'unknown fields are pruned without Strict');
  });

  test('a stale update gets 409 Conflict', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'occ' }, data: { v: '1' } },
    });
    const first = await core.readNamespacedConfigMap({ namespace: 'default', name: 'occ' });
    const second = await core.readNamespacedConfigMap({ namespace: 'default', name: 'occ' });
    await core.replaceNamespacedConfigMap({
      namespace: 'default',
      name: 'occ',
      body: { ...first, data: { v: '2' } },
    });
    const f = await failure(
      core.replaceNamespacedConfigMap({
        namespace: 'default',
        name: 'occ',
        body: { ...second, data: { v: '3' } },
      }),
    );
    assert.equal(f.code, 409);
    assert.equal(f.reason, 'Conflict');
    assert.equal(
      f.message,
      'Operation cannot be fulfilled on configmaps "occ": the object has been modified; please apply your changes to the latest version and try again',
    );
    const cr = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Workflow',
        metadata: { name: 'occ' },
        spec: { poolRef: 'p' },
      },
    })) as KubernetesObject;
    const { resourceVersion: _rv, ...noVersion } = cr.metadata ?? {};
    const missing = await failure(
      custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'workflows',
        name: 'occ',
        body: { ...cr, metadata: noVersion },
      }),
    );
    assert.equal(missing.code, 422, 'custom resources need a resourceVersion on update');
  });

  test('leases: optimistic concurrency is what leader election relies on', async () => {
    const leases = kc.makeApiClient(CoordinationV1Api);
    const now = new V1MicroTime();
    await leases.createNamespacedLease({
      namespace: 'default',
      body: {
        metadata: { name: 'operator' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: now, acquireTime: now },
      },
    });
    const seenByA = await leases.readNamespacedLease({ namespace: 'default', name: 'operator' });
    const seenByB = await leases.readNamespacedLease({ namespace: 'default', name: 'operator' });
    assert.match(String(seenByA.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await leases.replaceNamespacedLease({
      namespace: 'default',
      name: 'operator',
      body: { ...seenByA, spec: { ...seenByA.spec, renewTime: new V1MicroTime() } },
    });
    const f = await failure(
      leases.replaceNamespacedLease({
        namespace: 'default',
        name: 'operator',
        body: { ...seenByB, spec: { ...seenByB.spec, holderIdentity: 'b', leaseTransitions: 1 } },
      }),
    );
    assert.equal(f.code, 409);
    const stored = await leases.readNamespacedLease({ namespace: 'default', name: 'operator' });
    assert.equal(stored.spec?.holderIdentity, 'a');
    const invalid = await failure(
      leases.replaceNamespacedLease({
        namespace: 'default',
        name: 'operator',
        body: { ...stored, spec: { ...stored.spec, leaseDurationSeconds: 0 } },
      }),
    );
    assert.equal(invalid.code, 422);
    // A plain Date serialises with milliseconds; MicroTime needs six digits, so the apiserver refuses it.
    const millis = await failure(
      leases.createNamespacedLease({
        namespace: 'default',
        body: { metadata: { name: 'millis' }, spec: { renewTime: new Date('2024-01-01T00:00:00.123Z') } },
      }),
    );
    assert.equal(millis.code, 400);
    assert.match(
      millis.message,
      /parsing time "2024-01-01T00:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00"/,
    );
  });

  test('finalizers hold a delete until they are removed', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'held', finalizers: ['example.com/cleanup'] } },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'held' });
    const held = await core.readNamespacedConfigMap({ namespace: 'default', name: 'held' });
    assert.ok(held.metadata?.deletionTimestamp, 'deletionTimestamp is set');
    const f = await failure(
      core.patchNamespacedConfigMap(
        {
          namespace: 'default',
          name: 'held',
          body: { metadata: { finalizers: ['example.com/cleanup', 'example.com/more'] } },
        },
        merge,
      ),
    );
    assert.equal(f.code, 422, 'no new finalizers on a deleting object');
    await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'held', body: { metadata: { finalizers: null } } },
      merge,
    );
    const gone = await failure(core.readNamespacedConfigMap({ namespace: 'default', name: 'held' }));
    assert.equal(gone.code, 404);

    const wf = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Workflow',
      metadata: { name: 'final', finalizers: [`${GROUP}/redis`] },
      spec: { poolRef: 'p' },
    };
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      body: wf,
    });
    const deleting = (await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      name: 'final',
    })) as KubernetesObject;
    assert.ok(deleting.metadata?.deletionTimestamp);
    assert.equal(deleting.metadata?.generation, 2, 'marking for deletion bumps generation');
  });

  test('pods: created Pending; status via merge and strategic merge patches; field selectors', async () => {
    const pod: V1Pod = {
      metadata: { name: 'vllm-0', labels: { app: 'vllm' } },
      spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.9' }] },
    };
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod });
    assert.equal(created.status?.phase, 'Pending');
    await core.patchNamespacedPodStatus(
      {
        namespace: 'default',
        name: 'vllm-0',
        body: {
          status: {
            phase: 'Running',
            podIP: '10.1.0.7',
            conditions: [
              { type: 'Ready', status: 'False' },
              { type: 'Initialized', status: 'True' },
            ],
          },
        },
      },
      merge,
    );
    const readyNow = await core.patchNamespacedPodStatus(
      {
        namespace: 'default',
        name: 'vllm-0',
        body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      },
      strategic,
    );
    assert.deepEqual(
      readyNow.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['Ready=True', 'Initialized=True'],
      'strategic merge patch merges conditions by type',
    );
    assert.equal(readyNow.spec?.containers[0]?.image, 'vllm/vllm-openai:v0.9');
    api.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'vllm-1', namespace: 'default', labels: { app: 'vllm' } },
      spec: { containers: [{ name: 'vllm', image: 'x' }] },
      status: { phase: 'Running', podIP: '10.1.0.8' },
    });
    const running = await core.listNamespacedPod({
      namespace: 'default',
      fieldSelector: 'status.phase=Running',
      labelSelector: 'app in (vllm)',
    });
    assert.deepEqual(running.items.map((p) => p.status?.podIP).sort(), ['10.1.0.7', '10.1.0.8']);
    const f = await failure(core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.bogus=1' }));
    assert.equal(f.code, 400);
    assert.equal(f.message, 'field label not supported: spec.bogus');
    const changeSpec = await failure(
      core.patchNamespacedPod(
        {
          namespace: 'default',
          name: 'vllm-0',
          body: { spec: { containers: [{ name: 'vllm', image: 'x', args: ['--x'] }] } },
        },
        strategic,
      ),
    );
    assert.equal(changeSpec.code, 422, 'pod specs are immutable except images');
  });

  test('events: core/v1 and events.k8s.io/v1 are one store, selectable by involved object', async () => {
    const owner = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'workflows',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Workflow',
        metadata: { name: 'evented' },
        spec: { poolRef: 'p' },
      },
    })) as KubernetesObject;
    const ref = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Workflow',
      name: 'evented',
      namespace: 'default',
      uid: owner.metadata?.uid ?? '',
    };
    await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'evented.1' },
        involvedObject: ref,
        reason: 'Pinned',
        message: 'pinned',
        type: 'Normal',
      },
    });
    const events = kc.makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'evented.2' },
        regarding: ref,
        reason: 'Expired',
        note: 'ttl passed',
        type: 'Normal',
        eventTime: new V1MicroTime(),
        reportingController: `${GROUP}/operator`,
        reportingInstance: 'op-0',
        action: 'Expire',
      },
    });
    const selector = `involvedObject.name=evented,involvedObject.namespace=default,involvedObject.kind=Workflow,involvedObject.uid=${ref.uid}`;
    const core1 = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: selector });
    assert.deepEqual(core1.items.map((e) => `${e.reason ?? ''}:${e.message ?? ''}`).sort(), [
      'Expired:ttl passed',
      'Pinned:pinned',
    ]);
    const v1 = await events.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'regarding.name=evented',
    });
    assert.deepEqual(v1.items.map((e) => e.note).sort(), ['pinned', 'ttl passed']);
    const bad = await failure(
      events.createNamespacedEvent({
        namespace: 'default',
        body: { metadata: { name: 'x' }, eventTime: new V1MicroTime() },
      }),
    );
    assert.equal(bad.code, 422);
  });

  test('ownerReferences: background and foreground cascade, orphan keeps dependents', async () => {
    const pool = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'vllmpools',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'VllmPool',
        metadata: { name: 'pool' },
        spec: { selector: { app: 'vllm' }, port: 8000 },
      },
    })) as KubernetesObject;
    const ownerRef = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'VllmPool',
      name: 'pool',
      uid: pool.metadata?.uid ?? '',
      controller: true,
      blockOwnerDeletion: true,
    };
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'pool-routes', ownerReferences: [ownerRef] } },
    });
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'vllmpools',
      name: 'pool',
      propagationPolicy: 'Foreground',
    });
    assert.equal(api.get('v1', 'configmaps', 'default', 'pool-routes'), undefined);
    assert.equal(api.get(`${GROUP}/${VERSION}`, 'vllmpools', 'default', 'pool'), undefined);

    const pool2 = api.apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'VllmPool',
      metadata: { name: 'pool2', namespace: 'default' },
      spec: { selector: {}, port: 1 },
    });
    const ref2 = { ...ownerRef, name: 'pool2', uid: pool2.metadata.uid ?? '' };
    api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kept', namespace: 'default', ownerReferences: [ref2] },
    });
    api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dropped', namespace: 'default', ownerReferences: [ref2] },
    });
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'vllmpools',
      name: 'pool2',
      propagationPolicy: 'Orphan',
    });
    assert.equal(
      api.get('v1', 'configmaps', 'default', 'kept')?.metadata.ownerReferences,
      undefined,
      'orphaned',
    );

    const pool3 = api.apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'VllmPool',
      metadata: { name: 'pool3', namespace: 'default' },
      spec: { selector: {}, port: 1 },
    });
    api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'child',
        namespace: 'default',
        ownerReferences: [{ ...ownerRef, name: 'pool3', uid: pool3.metadata.uid ?? '' }],
      },
    });
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'vllmpools',
      name: 'pool3',
    });
    assert.equal(api.get('v1', 'configmaps', 'default', 'child'), undefined, 'background cascade');
  });

  test('deleting a namespace deletes its content, then the namespace', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({
      namespace: 'doomed',
      body: { metadata: { name: 'x', finalizers: ['example.com/hold'] } },
    });
    const protectedNs = await failure(core.deleteNamespace({ name: 'default' }));
    assert.equal(protectedNs.code, 403);
    assert.equal(protectedNs.message, 'namespaces "default" is forbidden: this namespace may not be deleted');
    await core.deleteNamespace({ name: 'doomed' });
    const ns = await core.readNamespace({ name: 'doomed' });
    assert.equal(ns.status?.phase, 'Terminating');
    const f = await failure(
      core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'y' } } }),
    );
    assert.equal(f.code, 403);
    await core.patchNamespacedConfigMap(
      { namespace: 'doomed', name: 'x', body: { metadata: { finalizers: null } } },
      merge,
    );
    assert.equal(api.get('v1', 'namespaces', undefined, 'doomed'), undefined);
  });
});
