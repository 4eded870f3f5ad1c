// The fleet on a three-master Redis Cluster, end to end (router processes started with
// --redis-cluster-nodes): new workflows whose first calls race on several replicas end with one
// pin each and every later call reaches it, a message sent through one replica is read through
// the others (cursor, long-poll, SSE), and each replica reports the whole fleet's statistics.
// Workflows hash to slots on every master, so this crosses all three nodes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { RedisKeys } from '../../core/redis-keys.ts';
import { startRedisCluster, type RedisClusterServers } from '../helpers/redis.ts';
import { agentCall, chat, http, type StatusView } from '../helpers/router.ts';
import { eventually, openSse, seededRandom, startFleet, type Fleet } from '../helpers/fleet.ts';

const PREFIX = 'wr:cluster:';
const WORKFLOWS = 60;

interface ListView {
  data: { id: string; payload: unknown }[];
}

describe('fleet: router processes on a three-master Redis Cluster', () => {
  let cluster: RedisClusterServers;
  let admin: Cluster;
  let fleet: Fleet;
  const keys = new RedisKeys(PREFIX);

  before(async () => {
    cluster = await startRedisCluster(3);
    admin = new Cluster(cluster.nodes);
    fleet = await startFleet({
      redis: { clusterNodes: cluster.nodes },
      prefix: PREFIX,
      args: ['--batching-preference', '1'],
    });
  });

  after(async () => {
    await fleet?.close();
    await admin?.quit();
    await cluster?.stop();
  });

  test('racing first calls end with one pin each; later calls through every replica reach it', async () => {
    const random = seededRandom(3);
    const ids = Array.from({ length: WORKFLOWS }, (_, i) => `cl-${i}`);
    const first = await Promise.all(
      ids.flatMap((id) =>
        [0, 1, 2].map(async (agent) => {
          const router = fleet.router(Math.floor(random() * fleet.routers.length));
          const { pod, headers } = await chat(
            router.client,
            agentCall(id, `agent-${agent}`, `[${id}] first`),
          );
          return { id, pod, placement: headers.get('x-workflow-router-placement') };
        }),
      ),
    );
    const slots = new Set<number>();
    for (const id of ids) {
      const mine = first.filter((a) => a.id === id);
      const pin = await admin.hget(keys.record({ tenant: 'default', id }), 'pod');
      assert.ok(pin, `${id} has no pin`);
      assert.equal(mine.filter((a) => a.placement === 'new').length, 1, `${id}: not exactly one claim won`);
      assert.deepEqual([...new Set(mine.map((a) => a.pod))], [pin], `${id}: first calls`);
      for (const router of fleet.routers) {
        const { pod } = await chat(router.client, agentCall(id, 'later', `[${id}] later`));
        assert.equal(pod, pin, `${id}: a later call through ${router.url}`);
      }
      slots.add(Number(await admin.cluster('KEYSLOT', keys.record({ tenant: 'default', id }))));
    }
    const nodes = (await admin.cluster('SLOTS')) as [number, number, ...unknown[]][];
    const masters = new Set(
      slots.size > 0 ? [...slots].map((s) => nodes.findIndex(([a, b]) => s >= a && s <= b)) : [],
    );
    assert.equal(masters.size, 3, 'the workflows live on every master');

    const view = await eventually('six calls of cl-0 seen through every replica', async () => {
      const views = await Promise.all(
        fleet.routers.map((r) => http<StatusView>('GET', `${r.url}/v1/workflows/cl-0/status`)),
      );
      return views.every((v) => v.body.calls === 6) ? views[0]?.body : undefined;
    });
    assert.equal(view.pinned_pod, await admin.hget(keys.record({ tenant: 'default', id: 'cl-0' }), 'pod'));
  });

  test('a message sent through one replica is read through the others by cursor, long-poll and SSE', async () => {
    const [a, b, c] = [fleet.router(0), fleet.router(1), fleet.router(2)];
    const inbox = (url: string): string => `${url}/v1/workflows/cl-talk/agents/reader/messages`;
    const sse = await openSse(`${inbox(c.url)}/stream`);
    assert.equal(sse.status, 200);
    const poll = http<ListView>('GET', `${inbox(b.url)}?wait_ms=30000`);
    await new Promise((r) => setTimeout(r, 300));
    const sent = await http<{ id: string }>('POST', inbox(a.url), {
      from_agent: 'writer',
      payload: 'hello cluster',
    });
    assert.equal(sent.status, 201, sent.text);
    const polled = await poll;
    assert.deepEqual(
      polled.body.data.map((m) => [m.id, m.payload]),
      [[sent.body.id, 'hello cluster']],
    );
    const event = await eventually('the SSE event', () => sse.events.find((e) => e.event === 'message'));
    sse.stop();
    assert.equal(event.id, sent.body.id);
    const read = await http<ListView>('GET', inbox(c.url));
    assert.deepEqual(
      read.body.data.map((m) => m.id),
      [sent.body.id],
    );
    await eventually('message statistics through replica B', async () => {
      const res = await http<StatusView>('GET', `${b.url}/v1/workflows/cl-talk/status`);
      return res.body.messages?.sent === 1 && res.body.messages.delivered >= 1 ? true : undefined;
    });
  });
});
