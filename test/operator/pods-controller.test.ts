// The pods controller with fake caches, a fake probe and a fake clock: which pods enter the
// routing table, when they are probed, the Events for joins and losses, pool deletion.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryRoutingTable } from '../../core/routing-table-memory.ts';
import { PodsController, type PoolObservation } from '../../operator/controllers/pods.ts';
import type { EventSink, InvolvedObject } from '../../operator/events.ts';
import type { ObjectCache } from '../../operator/informer.ts';
import { createLogger } from '../../operator/logger.ts';
import { OperatorMetrics } from '../../operator/metrics.ts';
import type { ProbeResult, ProbeTarget } from '../../operator/prober.ts';
import { objectKey, type CustomResource, type PodObject } from '../../operator/resources.ts';

class Cache<T extends { metadata: { namespace: string; name: string } }> implements ObjectCache<T> {
  readonly items = new Map<string, T>();
  put(obj: T): void {
    this.items.set(objectKey(obj.metadata), obj);
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
}

const LABELS = { app: 'vllm', model: 'llama' };

function pool(
  spec: unknown = { selector: { matchLabels: LABELS }, port: 8000, models: ['m'] },
): CustomResource {
  return {
    apiVersion: 'workflow-router.vllm.ai/v1alpha1',
    kind: 'VllmPool',
    metadata: { name: 'llama', namespace: 'default', uid: 'pool-uid', generation: 1 },
    spec,
  };
}

function pod(
  name: string,
  ip: string,
  over: { ready?: boolean; labels?: Record<string, string>; uid?: string } = {},
): PodObject {
  return {
    metadata: { name, namespace: 'default', uid: over.uid ?? `${name}-uid`, labels: over.labels ?? LABELS },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
    },
  };
}

function setup() {
  const pools = new Cache<CustomResource>();
  const pods = new Cache<PodObject>();
  const table = new MemoryRoutingTable();
  const events: { reason: string; message: string; object: InvolvedObject }[] = [];
  const sink: EventSink = {
    record: (object, _type, reason, message) => events.push({ object, reason, message }),
  };
  const clock = { t: 1_000_000 };
  const probed: string[] = [];
  const down = new Set<string>();
  const probe = (target: ProbeTarget): Promise<ProbeResult> => {
    probed.push(target.url);
    if (down.has(target.url)) return Promise.resolve({ ok: false, reason: '/health: ECONNREFUSED' });
    return Promise.resolve({
      ok: true,
      sample: { running: 1, waiting: 2, kvUsage: 0.3, prefixQueries: 10, prefixHits: 5 },
      models: ['discovered'],
    });
  };
  const observations = new Map<string, PoolObservation>();
  const observed: string[] = [];
  const controller = new PodsController({
    pools,
    pods,
    table,
    events: sink,
    observations,
    onObserved: (key) => observed.push(key),
    logger: createLogger('error'),
    metrics: new OperatorMetrics(),
    probe,
    now: () => clock.t,
  });
  const routed = async () => (await table.read()).pools[0]?.pods.map((p) => p.name) ?? [];
  return { pools, pods, table, events, clock, probed, down, controller, observations, observed, routed };
}

describe('PodsController', () => {
  test('ready pods that pass their probe enter the table with their load; others are explained', async () => {
    const s = setup();
    s.pools.put(pool());
    s.pods.put(pod('a', '127.0.0.2'));
    s.pods.put(pod('b', '127.0.0.3', { ready: false }));
    s.pods.put(pod('c', '127.0.0.4'));
    s.pods.put(pod('other', '127.0.0.5', { labels: { app: 'vllm' } }));
    s.down.add('http://127.0.0.4:8000');
    const result = await s.controller.reconcile('default/llama');
    assert.deepEqual(
      s.probed.sort(),
      ['http://127.0.0.2:8000', 'http://127.0.0.4:8000'],
      'only ready, selected pods',
    );
    const table = await s.table.read();
    assert.equal(table.pools.length, 1);
    const entry = table.pools[0];
    assert.deepEqual(
      entry?.pods.map((p) => p.name),
      ['a'],
    );
    assert.deepEqual(entry?.pods[0] && { ...entry.pods[0], probedAt: 0 }, {
      name: 'a',
      url: 'http://127.0.0.2:8000',
      models: ['m'],
      ready: true,
      healthy: true,
      running: 1,
      waiting: 2,
      kvUsage: 0.3,
      prefixHitRate: 0.5,
      probedAt: 0,
    });
    const views = s.observations.get('default/llama')?.pods ?? [];
    assert.deepEqual(views.map((v) => [v.name, v.ready, v.healthy, v.reason]).sort(), [
      ['a', true, true, undefined],
      ['b', false, false, 'not ready'],
      ['c', true, false, 'probe failed: /health: ECONNREFUSED'],
    ]);
    assert.deepEqual(s.observed, ['default/llama']);
    assert.deepEqual(
      s.events.map((e) => e.reason),
      ['PodReady'],
    );
    assert.equal(s.events[0]?.object.kind, 'VllmPool');
    assert.equal(s.events[0]?.object.uid, 'pool-uid');
    assert.equal(result.requeueAfterMs, 5000, 'next probe in health.periodSeconds');
  });

  test('probes run each period, not on every change; a new pod is probed at once', async () => {
    const s = setup();
    s.pools.put(pool());
    s.pods.put(pod('a', '127.0.0.2'));
    await s.controller.reconcile('default/llama');
    s.clock.t += 1000;
    await s.controller.reconcile('default/llama');
    assert.equal(s.probed.length, 1, 'not due yet');
    s.pods.put(pod('b', '127.0.0.3'));
    const r = await s.controller.reconcile('default/llama');
    assert.deepEqual(s.probed, ['http://127.0.0.2:8000', 'http://127.0.0.3:8000']);
    assert.equal(r.requeueAfterMs, 4000, 'a is due first');
    s.clock.t += 4000;
    await s.controller.reconcile('default/llama');
    assert.equal(s.probed.filter((u) => u.endsWith('.2:8000')).length, 2);
    assert.deepEqual(await s.routed(), ['a', 'b']);
  });

  test('a pod turning unready or deleted leaves at once, with a PodLost event; it comes back after a probe', async () => {
    const s = setup();
    s.pools.put(pool());
    s.pods.put(pod('a', '127.0.0.2'));
    s.pods.put(pod('b', '127.0.0.3'));
    await s.controller.reconcile('default/llama');
    assert.deepEqual(await s.routed(), ['a', 'b']);
    s.pods.put(pod('a', '127.0.0.2', { ready: false }));
    s.pods.items.delete('default/b');
    await s.controller.reconcile('default/llama');
    assert.deepEqual(await s.routed(), []);
    const lost = s.events.filter((e) => e.reason === 'PodLost').map((e) => e.message);
    assert.deepEqual(lost.sort(), [
      'pod a left the routing table (not ready); its workflows migrate on their next call',
      'pod b left the routing table (deleted or no longer selected); its workflows migrate on their next call',
    ]);
    const probes = s.probed.length;
    s.pods.put(pod('a', '127.0.0.2'));
    await s.controller.reconcile('default/llama');
    assert.equal(s.probed.length, probes + 1, 'probed again before it returns');
    assert.deepEqual(await s.routed(), ['a']);
  });

  test('models are discovered when the pool lists none; a failing probe past the threshold removes the pod', async () => {
    const s = setup();
    s.pools.put(
      pool({ selector: { matchLabels: LABELS }, health: { periodSeconds: 1, failureThreshold: 2 } }),
    );
    s.pods.put(pod('a', '127.0.0.2'));
    await s.controller.reconcile('default/llama');
    const entry = (await s.table.read()).pools[0];
    assert.deepEqual(entry?.models, ['discovered']);
    assert.deepEqual(entry?.pods[0]?.models, ['discovered']);
    s.down.add('http://127.0.0.2:8000');
    s.clock.t += 1000;
    await s.controller.reconcile('default/llama');
    assert.deepEqual(await s.routed(), ['a'], 'one failure is below the threshold');
    s.clock.t += 1000;
    await s.controller.reconcile('default/llama');
    assert.deepEqual(await s.routed(), [], 'two failures');
  });

  test('a deleted pool leaves the table; the selector of another pool decides what it routes', async () => {
    const s = setup();
    s.pools.put(pool());
    s.pods.put(pod('a', '127.0.0.2'));
    await s.controller.reconcile('default/llama');
    assert.deepEqual(s.controller.poolsSelecting('default', LABELS), ['default/llama']);
    assert.deepEqual(s.controller.poolsSelecting('default', { app: 'vllm' }), []);
    assert.deepEqual(s.controller.poolsSelecting('other', LABELS), []);
    s.pools.items.delete('default/llama');
    await s.controller.reconcile('default/llama');
    assert.deepEqual((await s.table.read()).pools, []);
    assert.equal(s.observations.size, 0);
  });
});
