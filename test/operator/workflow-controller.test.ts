// The Workflow controller with fake caches, store and API: which Workflow owns a Redis id when
// two namespaces use one name under one tenant, what the others show, that their deletion
// spares the owner's state, and that the poolRef reaches Redis qualified with the namespace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyString, type WorkflowKey } from '../../core/ids.ts';
import type { WorkflowResourceStatus } from '../../core/resource-status.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import type { EnsureResult, WorkflowInit } from '../../core/store/state-store.ts';
import { applySpec, newRecord } from '../../core/store/workflow-record.ts';
import type { WorkflowSpec } from '../../core/workflow-spec.ts';
import { WorkflowController } from '../../operator/controllers/workflow.ts';
import type { EventSink } from '../../operator/events.ts';
import type { ObjectCache } from '../../operator/informer.ts';
import { createLogger } from '../../operator/logger.ts';
import { OperatorMetrics } from '../../operator/metrics.ts';
import { FINALIZER, objectKey, TENANT_LABEL, type CustomResource } from '../../operator/resources.ts';

class Cache implements ObjectCache<CustomResource> {
  readonly items = new Map<string, CustomResource>();
  put(obj: CustomResource): void {
    this.items.set(objectKey(obj.metadata), obj);
  }
  get(key: string): CustomResource | undefined {
    return this.items.get(key);
  }
  list(): CustomResource[] {
    return [...this.items.values()];
  }
}

class FakeStore {
  readonly records = new Map<string, WorkflowRecord>();
  readonly deleted: string[] = [];
  get(key: WorkflowKey): Promise<WorkflowRecord | undefined> {
    return Promise.resolve(this.records.get(keyString(key)));
  }
  declare(key: WorkflowKey, spec: WorkflowSpec, init: WorkflowInit, now: number): Promise<EnsureResult> {
    const record = this.records.get(keyString(key)) ?? newRecord(key, init, now);
    applySpec(record, spec, now, init.ttlSeconds);
    this.records.set(keyString(key), record);
    return Promise.resolve({ record, created: true, evicted: [] });
  }
  delete(key: WorkflowKey): Promise<boolean> {
    this.deleted.push(keyString(key));
    return Promise.resolve(this.records.delete(keyString(key)));
  }
}

function workflow(namespace: string, created: string, over: Partial<CustomResource['metadata']> = {}) {
  return {
    apiVersion: 'workflow-router.vllm.ai/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name: 'research',
      namespace,
      uid: `${namespace}-uid`,
      generation: 1,
      creationTimestamp: created,
      labels: { [TENANT_LABEL]: 'acme' },
      finalizers: [FINALIZER],
      ...over,
    },
    spec: { poolRef: 'llama', contextSharing: 'auto' },
  } satisfies CustomResource;
}

function setup() {
  const workflows = new Cache();
  const pools = new Cache();
  const store = new FakeStore();
  const statuses = new Map<string, WorkflowResourceStatus>();
  const finalizers = new Map<string, string[]>();
  const events: { type: string; reason: string; name: string; namespace: string }[] = [];
  const sink: EventSink = {
    record: (object, type, reason) =>
      events.push({ type, reason, name: object.name, namespace: object.namespace }),
  };
  for (const namespace of ['team-a', 'team-b', 'team-c'])
    pools.put({
      apiVersion: 'workflow-router.vllm.ai/v1alpha1',
      kind: 'VllmPool',
      metadata: { name: 'llama', namespace, uid: namespace },
      spec: {},
    });
  const controller = new WorkflowController({
    kube: {
      patchStatus: (_plural, namespace, name, status) => {
        statuses.set(`${namespace}/${name}`, status as WorkflowResourceStatus);
        return Promise.resolve();
      },
      setFinalizers: (_plural, namespace, name, list) => {
        finalizers.set(`${namespace}/${name}`, list);
        return Promise.resolve();
      },
    },
    workflows,
    pools,
    store,
    events: sink,
    logger: createLogger('error'),
    metrics: new OperatorMetrics(),
    statusIntervalMs: 0,
    workflowTtlSeconds: 3600,
  });
  return { workflows, store, statuses, finalizers, events, controller };
}

const readyReason = (s: WorkflowResourceStatus | undefined) =>
  s?.conditions?.find((c) => c.type === 'Ready')?.reason;

test('one tenant, one name, two namespaces: the oldest owns the id, the other is refused', async () => {
  const s = setup();
  // team-b's is older though team-a sorts first: age decides, namespace only breaks ties.
  s.workflows.put(workflow('team-a', '2030-01-01T00:00:05Z'));
  s.workflows.put(workflow('team-b', '2030-01-01T00:00:01Z'));
  await s.controller.reconcile('team-a/research');
  await s.controller.reconcile('team-b/research');
  assert.deepEqual([...s.store.records.keys()], ['acme/research']);
  assert.equal(
    s.store.records.get('acme/research')?.spec?.poolRef,
    'team-b/llama',
    'qualified for the routers',
  );
  assert.equal(readyReason(s.statuses.get('team-b/research')), 'Declared');
  const refused = s.statuses.get('team-a/research');
  assert.equal(readyReason(refused), 'IdConflict');
  assert.equal(refused?.phase, 'Pending');
  assert.deepEqual(
    s.events.filter((e) => e.reason === 'IdConflict').map((e) => [e.type, e.namespace]),
    [['Warning', 'team-a']],
  );
  assert.deepEqual(s.controller.sharingId(workflow('team-b', '2030-01-01T00:00:01Z')), ['team-a/research']);
});

test("the refused one's deletion spares the owner's state; the owner's hands the id over", async () => {
  const s = setup();
  s.workflows.put(workflow('team-a', '2030-01-01T00:00:01Z'));
  s.workflows.put(workflow('team-b', '2030-01-01T00:00:01Z'));
  await s.controller.reconcile('team-a/research');
  await s.controller.reconcile('team-b/research');
  assert.equal(readyReason(s.statuses.get('team-b/research')), 'IdConflict', 'same age: namespace order');

  s.workflows.put(workflow('team-b', '2030-01-01T00:00:01Z', { deletionTimestamp: '2030-01-02T00:00:00Z' }));
  await s.controller.reconcile('team-b/research');
  assert.deepEqual(s.store.deleted, [], "team-a's state untouched");
  assert.deepEqual(s.finalizers.get('team-b/research'), []);
  s.workflows.items.delete('team-b/research');

  // Another one comes; then the owner goes: its state is removed and the next one declares anew.
  s.workflows.put(workflow('team-c', '2030-01-01T00:00:09Z'));
  s.workflows.put(workflow('team-a', '2030-01-01T00:00:01Z', { deletionTimestamp: '2030-01-02T00:00:00Z' }));
  await s.controller.reconcile('team-c/research');
  assert.equal(readyReason(s.statuses.get('team-c/research')), 'IdConflict', 'the owner still finishing');
  await s.controller.reconcile('team-a/research');
  assert.deepEqual(s.store.deleted, ['acme/research']);
  s.workflows.items.delete('team-a/research');
  await s.controller.reconcile('team-c/research');
  assert.equal(readyReason(s.statuses.get('team-c/research')), 'Declared');
  assert.equal(s.store.records.get('acme/research')?.spec?.poolRef, 'team-c/llama');
});

test('other tenants, or other names, never conflict', async () => {
  const s = setup();
  s.workflows.put(workflow('team-a', '2030-01-01T00:00:01Z'));
  s.workflows.put(workflow('team-b', '2030-01-01T00:00:01Z', { labels: { [TENANT_LABEL]: 'beta' } }));
  s.workflows.put(workflow('team-a', '2030-01-01T00:00:01Z', { name: 'review' }));
  for (const key of s.workflows.items.keys()) await s.controller.reconcile(key);
  assert.deepEqual([...s.store.records.keys()].sort(), ['acme/research', 'acme/review', 'beta/research']);
  for (const status of s.statuses.values()) assert.equal(readyReason(status), 'Declared');
});
