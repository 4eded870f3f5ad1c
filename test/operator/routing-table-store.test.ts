// The routing table in Redis (standalone and Cluster) and in memory: versions, unchanged
// writes skipped, removals, announcements, and re-subscription after Redis restarts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryRoutingTable } from '../../core/routing-table-memory.ts';
import type { RoutingPool, RoutingTableStore } from '../../core/routing-table.ts';
import { createRedisRoutingTable } from '../../core/store/redis/routing-table-store.ts';
import { eventually } from '../../e2e/helpers/eventually.ts';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServers,
  type RedisServer,
} from '../helpers/redis.ts';

function pool(name: string, pods: string[], probedAt = 1): RoutingPool {
  return {
    namespace: 'default',
    name,
    models: ['m'],
    logic: 'workflow_aware',
    batchingPreference: 0.8,
    maxInflightPerPod: 256,
    pods: pods.map((p, i) => ({
      name: p,
      url: `http://127.0.0.${i + 2}:8000`,
      models: ['m'],
      ready: true,
      healthy: true,
      running: 0,
      waiting: 0,
      kvUsage: 0,
      prefixHitRate: 0,
      probedAt,
    })),
  };
}

function contract(name: string, make: () => Promise<RoutingTableStore>): void {
  describe(`routing table: ${name}`, () => {
    test('starts empty at version 0; writes, skips unchanged entries, removes', async () => {
      const table = await make();
      try {
        assert.deepEqual(await table.read(), { version: 0, updatedAt: 0, pools: [] });
        const announced: (number | undefined)[] = [];
        table.subscribe((v) => announced.push(v));
        assert.deepEqual(await table.update({ put: [pool('b', ['b-0']), pool('a', ['a-0', 'a-1'])] }, 1000), {
          version: 1,
          changed: true,
        });
        const first = await table.read();
        assert.equal(first.version, 1);
        assert.equal(first.updatedAt, 1000);
        assert.deepEqual(
          first.pools.map((p) => [p.name, p.pods.map((x) => x.name)]),
          [
            ['a', ['a-0', 'a-1']],
            ['b', ['b-0']],
          ],
        );
        assert.deepEqual(
          await table.update({ put: [pool('a', ['a-0', 'a-1'])] }, 2000),
          { version: 1, changed: false },
          'unchanged: no version',
        );
        assert.deepEqual(await table.update({ remove: ['default/missing'] }, 2000), {
          version: 1,
          changed: false,
        });
        assert.deepEqual(await table.update({ put: [pool('a', ['a-0'], 2)], remove: ['default/b'] }, 3000), {
          version: 2,
          changed: true,
        });
        const second = await table.read();
        assert.deepEqual(
          second.pools.map((p) => [p.name, p.pods.map((x) => x.name)]),
          [['a', ['a-0']]],
        );
        await eventually('both versions announced', () => announced.includes(1) && announced.includes(2));
        assert.ok(!announced.includes(3));
      } finally {
        await table.close();
      }
    });
  });
}

contract('memory', () => Promise.resolve(new MemoryRoutingTable()));

describe('routing table in Redis', () => {
  let redis: RedisServer;
  let cluster: RedisClusterServers;
  let n = 0;

  before(async () => {
    redis = await startRedis();
    cluster = await startRedisCluster(3);
  });
  after(async () => {
    await redis?.stop();
    await cluster?.stop();
  });

  contract('redis standalone', () => createRedisRoutingTable({ url: redis.url, prefix: `t${++n}:` }));
  contract('redis cluster', () =>
    createRedisRoutingTable({ clusterNodes: cluster.nodes, prefix: `c${++n}:` }),
  );

  test('two clients: the reader hears every version the writer announces', async () => {
    const writer = await createRedisRoutingTable({ url: redis.url, prefix: 'shared:' });
    const reader = await createRedisRoutingTable({ url: redis.url, prefix: 'shared:' });
    try {
      const heard: number[] = [];
      reader.subscribe((v) => {
        if (v !== undefined) heard.push(v);
      });
      for (let i = 1; i <= 5; i++) await writer.update({ put: [pool('p', ['x'], i)] }, i);
      await eventually('five announcements', () => heard.length === 5);
      assert.deepEqual(heard, [1, 2, 3, 4, 5]);
      assert.equal((await reader.read()).pools[0]?.pods[0]?.probedAt, 5);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  test('after a Redis restart the subscriber subscribes again and says so', async () => {
    const own = await startRedis();
    const table = await createRedisRoutingTable({ url: own.url });
    try {
      const heard: (number | undefined)[] = [];
      table.subscribe((v) => heard.push(v));
      await own.restart();
      await eventually('a re-subscription notice', () => heard.includes(undefined), 20_000);
      const writer = await createRedisRoutingTable({ url: own.url });
      await writer.update({ put: [pool('p', ['x'])] }, 1);
      await writer.close();
      await eventually('the announcement after the restart', () => heard.includes(1), 20_000);
    } finally {
      await table.close();
      await own.stop();
    }
  });
});
