// The router's `--service-discovery k8s`: its PodPool follows the routing table (pods join,
// leave, drain), health from the operator's probes, and a real router routes from Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MemoryRoutingTable } from '../../core/routing-table-memory.ts';
import type { RoutingPod, RoutingPool } from '../../core/routing-table.ts';
import {
  createRedisRoutingTable,
  type RedisRoutingTable,
} from '../../core/store/redis/routing-table-store.ts';
import { eventually } from '../../e2e/helpers/eventually.ts';
import { makeConfig } from '../../router/config.ts';
import { createLogger } from '../../router/logger.ts';
import { K8sDiscovery } from '../../router/pods/k8s-discovery.ts';
import { PodPool } from '../../router/pods/pool.ts';
import { startRouter, type RunningRouter } from '../../router/server.ts';
import { startSimPod, type SimPod } from '../../sim/server.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const logger = createLogger('error');

function routingPod(name: string, url: string, over: Partial<RoutingPod> = {}): RoutingPod {
  return {
    name,
    url,
    models: [MODEL],
    ready: true,
    healthy: true,
    running: 0,
    waiting: 0,
    kvUsage: 0,
    prefixHitRate: 0,
    probedAt: 1,
    ...over,
  };
}

function routingPool(pods: RoutingPod[], name = 'llama'): RoutingPool {
  return {
    namespace: 'default',
    name,
    models: [MODEL],
    logic: 'workflow_aware',
    batchingPreference: 0.8,
    maxInflightPerPod: 256,
    pods,
  };
}

describe('K8sDiscovery', () => {
  test('the pool follows the table: routable pods join, others leave, load is copied', async () => {
    const table = new MemoryRoutingTable();
    const pool = new PodPool();
    const discovery = new K8sDiscovery(table, pool, logger, { pollMs: 60_000 });
    await discovery.start();
    try {
      assert.equal(pool.all().length, 0);
      await table.update(
        {
          put: [
            routingPool([
              routingPod('a', 'http://127.0.0.2:8000', { running: 3, waiting: 2, kvUsage: 0.5 }),
              routingPod('b', 'http://127.0.0.3:8000'),
              routingPod('c', 'http://127.0.0.4:8000', { healthy: false }),
            ]),
          ],
        },
        1,
      );
      await eventually('a and b in the pool', () => pool.all().length === 2);
      assert.deepEqual(
        pool
          .all()
          .map((p) => p.id)
          .sort(),
        ['default/a', 'default/b'],
        'pod ids are <namespace>/<pod name>',
      );
      const a = pool.get('default/a');
      assert.deepEqual(
        { running: a?.scraped.running, waiting: a?.scraped.waiting, kv: a?.scraped.kvUsage },
        { running: 3, waiting: 2, kv: 0.5 },
      );

      // b leaves while a call is in flight on it: it drains (no new calls), then goes.
      const b = pool.get('default/b');
      assert.ok(b);
      b.inflight = 1;
      await table.update({ put: [routingPool([routingPod('a', 'http://127.0.0.2:8000')])] }, 2);
      await eventually('b draining', () => b.draining);
      assert.ok(pool.get('default/b'), 'kept while its call runs');
      b.inflight = 0;
      await discovery.refresh();
      assert.equal(pool.get('default/b'), undefined);

      // A pod marked down locally (connection refused) comes back only with a newer probe.
      a?.markDown('connection-refused');
      await table.update(
        { put: [routingPool([routingPod('a', 'http://127.0.0.2:8000', { running: 1 })])] },
        3,
      );
      await eventually('version 3 applied', () => discovery.version === 3);
      assert.equal(a?.healthy, false, 'same probe time: stays down');
      await table.update(
        { put: [routingPool([routingPod('a', 'http://127.0.0.2:8000', { probedAt: 2 })])] },
        4,
      );
      await eventually('a up again after a newer probe', () => pool.get('default/a')?.healthy === true);

      // A new IP under the same name (a restarted pod): a new Pod with fresh connections.
      await table.update(
        { put: [routingPool([routingPod('a', 'http://127.0.0.9:8000', { probedAt: 2 })])] },
        5,
      );
      await eventually('a at its new address', () => pool.get('default/a')?.url === 'http://127.0.0.9:8000');
    } finally {
      await discovery.close();
      pool.close();
    }
  });

  test('a pod selected by two pools serves the models of both', async () => {
    const table = new MemoryRoutingTable();
    const pool = new PodPool();
    const discovery = new K8sDiscovery(table, pool, logger, { pollMs: 60_000 });
    await discovery.start();
    try {
      await table.update(
        {
          put: [
            routingPool([routingPod('x', 'http://127.0.0.2:8000', { models: ['m1'] })], 'p1'),
            routingPool([routingPod('x', 'http://127.0.0.2:8000', { models: ['m2'] })], 'p2'),
          ],
        },
        1,
      );
      await eventually('x with both models', () => pool.get('default/x')?.models.length === 2);
      assert.deepEqual(pool.allModels(), ['m1', 'm2']);
      assert.deepEqual(pool.get('default/x')?.pools, ['default/p1', 'default/p2']);
    } finally {
      await discovery.close();
      pool.close();
    }
  });
});

describe('K8sDiscovery across namespaces and per-pool settings', () => {
  test('equal pod names in two namespaces are two pods; each pool hands its settings to the router', async () => {
    const table = new MemoryRoutingTable();
    const pool = new PodPool();
    const discovery = new K8sDiscovery(table, pool, logger, { pollMs: 60_000 });
    await discovery.start();
    try {
      await table.update(
        {
          put: [
            {
              ...routingPool([routingPod('vllm-0', 'http://127.0.0.2:8000')], 'llama'),
              namespace: 'a',
              logic: 'least_loaded',
              maxInflightPerPod: 8,
            },
            {
              namespace: 'b',
              name: 'llama',
              models: [MODEL],
              maxWorkflowsPerPod: 3,
              pods: [routingPod('vllm-0', 'http://127.0.0.3:8000')],
            },
          ],
        },
        1,
      );
      await eventually('both pods', () => pool.all().length === 2);
      assert.equal(pool.get('a/vllm-0')?.url, 'http://127.0.0.2:8000');
      assert.equal(pool.get('b/vllm-0')?.url, 'http://127.0.0.3:8000');
      assert.deepEqual(pool.get('a/vllm-0')?.pools, ['a/llama']);
      assert.deepEqual(pool.get('b/vllm-0')?.pools, ['b/llama']);
      assert.equal(pool.get('a/vllm-0')?.maxInflight, 8);
      assert.equal(pool.get('b/vllm-0')?.maxInflight, undefined, "unset: the router's flag");
      assert.equal(pool.poolSettings('a/llama')?.logic, 'least_loaded');
      assert.equal(pool.poolSettings('b/llama')?.logic, undefined);
      assert.equal(pool.poolSettings('b/llama')?.maxWorkflowsPerPod, 3);
    } finally {
      await discovery.close();
      pool.close();
    }
  });
});

describe('a router with --service-discovery k8s', () => {
  let redis: RedisServer;
  let sims: SimPod[] = [];
  let router: RunningRouter | undefined;
  let writer: RedisRoutingTable | undefined;

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 2; i++)
      sims.push(await startSimPod({ timeScale: 0.02, logLevel: 'error', index: i }));
    writer = await createRedisRoutingTable({ url: redis.url });
  });
  after(async () => {
    await router?.close();
    await writer?.close();
    await Promise.all(sims.map((s) => s.close()));
    sims = [];
    await redis?.stop();
  });

  test('starts with the table, follows changes, and a workflow migrates when its pod leaves', async () => {
    assert.ok(writer);
    const [s0, s1] = sims;
    assert.ok(s0 && s1);
    await writer.update({ put: [routingPool([routingPod('pod-a', s0.url)])] }, Date.now());
    router = await startRouter(
      makeConfig({
        host: '127.0.0.1',
        port: 0,
        logLevel: 'error',
        serviceDiscovery: 'k8s',
        redisUrl: redis.url,
        statsFlushMs: 10,
      }),
    );
    const running = router;
    assert.deepEqual(
      running.core.pool.all().map((p) => p.id),
      ['default/pod-a'],
      'read at start',
    );
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const call = async (): Promise<void> => {
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hello there' }],
        max_tokens: 4,
        // @ts-expect-error: the router's extension field
        workflow_metadata: { workflow_id: 'wf-1', agent_id: 'a' },
      });
    };
    await call();
    const pinned = async (): Promise<string | undefined> =>
      running.core.store.pins.get({ tenant: 'default', id: 'wf-1' });
    assert.equal(await pinned(), 'default/pod-a');

    const started = Date.now();
    await writer.update({ put: [routingPool([routingPod('pod-b', s1.url)])] }, Date.now());
    await eventually(
      'the router to follow the table',
      () => running.core.pool.get('default/pod-a') === undefined,
    );
    const followedMs = Date.now() - started;
    assert.ok(followedMs < 1000, `followed within a second (took ${followedMs} ms)`);
    await call();
    assert.equal(await pinned(), 'default/pod-b');
    await eventually(
      'the migration counted',
      async () =>
        (await running.core.store.workflows.get({ tenant: 'default', id: 'wf-1' }))?.migrations === 1,
    );
  });
});
