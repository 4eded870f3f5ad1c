// The store contract on a three-master Redis Cluster: every workflow's keys share one slot
// (its hash tag), the fleet indexes another, so each script runs on one node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { createRedisStore, type RedisStore } from '../../core/store/redis/redis-store.ts';
import { scanKeys, startRedisCluster, type RedisClusterServers } from '../helpers/redis.ts';
import { runStoreContract } from './contract.ts';

let cluster: RedisClusterServers | undefined;
let admin: Cluster | undefined;
let stores = 0;

before(async () => {
  cluster = await startRedisCluster(3);
  admin = new Cluster(cluster.nodes);
});

after(async () => {
  await admin?.quit();
  await cluster?.stop();
});

function nodes(): { host: string; port: number }[] {
  if (!cluster) throw new Error('cluster not started');
  return cluster.nodes;
}

runStoreContract(
  'redis cluster',
  () => createRedisStore({ clusterNodes: nodes(), prefix: `wr:c${++stores}:` }),
  {
    workflowKeys: (store: RedisStore, key) => {
      if (!admin) throw new Error('cluster not started');
      return scanKeys(admin, `${store.keys.workflowPrefix(key)}*`);
    },
  },
);

test('a workflow lives in one slot and workflows spread over the masters', async () => {
  const client = admin;
  if (!client) throw new Error('cluster not started');
  const store = await createRedisStore({ clusterNodes: nodes(), prefix: 'wr:slots:' });
  try {
    const init = { strategy: 'auto' as const, priority: 50, ttlSeconds: 60 };
    const now = Date.now();
    const owners = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const key = { tenant: 't', id: `w${i}` };
      await store.workflows.ensure(key, init, now, 1000);
      await store.contexts.append(key, { agent: 'a', text: 'x', tokens: 1, at: now }, 100);
      await store.messages.send(key, 'a', { from: 'b', payload: i, ttlSeconds: 60 }, now, 10);
      const keys = await scanKeys(client, `${store.keys.workflowPrefix(key)}*`);
      assert.equal(keys.length, 5);
      const slotOf = (k: string): Promise<number> => client.cluster('KEYSLOT', k);
      const slotSet = new Set<number>(await Promise.all(keys.map(slotOf)));
      assert.equal(slotSet.size, 1, `one slot for ${keys.join(', ')}`);
      const [slot] = slotSet;
      const node = client.slots[Number(slot)]?.[0];
      if (node) owners.add(node);
    }
    assert.ok(owners.size >= 2, 'workflows are spread over several masters');
    assert.equal((await store.workflows.list()).length, 12);
  } finally {
    await store.close();
  }
});
