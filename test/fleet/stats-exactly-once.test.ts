// Per-workflow statistics on Redis count each call exactly once, and a replica's calls in
// flight stop counting when it dies:
// - the reply to a statistics batch is lost after Redis ran it (a TCP proxy between the store
//   and Redis forwards the script and cuts the connection when the answer comes back): the
//   router cannot know the batch was applied, re-sends it, and Redis skips it; nothing counts
//   twice and nothing is lost;
// - a router process is SIGKILLed while a streamed call runs: the workflow shows the call in
//   flight for at most one --inflight-lease, then none, and it can be evicted again.
// (The store-level rules, the same batch applied twice or partly, and a share whose lease ends,
// are in the store contract, which runs on the memory store, standalone Redis and a Cluster.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisStore } from '../../core/store/redis/redis-store.ts';
import type { WorkflowEvent } from '../../core/store/records.ts';
import { createLogger } from '../../router/logger.ts';
import { RouterMetrics } from '../../router/metrics.ts';
import { StatsBatcher } from '../../router/workflows/stats-batcher.ts';
import { eventually, redisArgs, startRouterProcess, type RouterProcess } from '../helpers/fleet.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { ReplyDroppingProxy } from '../helpers/reply-dropping-proxy.ts';
import { MODEL } from '../helpers/router.ts';
import { spawnSims, type SimProc } from '../reliability/helpers.ts';

const INIT = { strategy: 'auto' as const, priority: 50, ttlSeconds: 3600 };
const usage = { promptTokens: 100, cachedTokens: 40, completionTokens: 10 };

describe('a statistics batch whose reply is lost counts once', () => {
  let redis: RedisServer;
  let proxy: ReplyDroppingProxy;
  let store: RedisStore;
  let admin: Redis;

  before(async () => {
    redis = await startRedis();
    proxy = await ReplyDroppingProxy.start({ host: '127.0.0.1', port: redis.port });
    store = await createRedisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: 'wr:once:' });
    admin = new Redis(redis.url);
  });

  after(async () => {
    await store.close();
    await admin.quit();
    await proxy.close();
    await redis.stop();
  });

  test('Redis runs the batch, the connection dies before the reply, the router re-sends it', async () => {
    const metrics = new RouterMetrics();
    const batcher = new StatsBatcher(
      store.workflows,
      10,
      createLogger('error'),
      metrics,
      () => store.health() === 'degraded',
    );
    try {
      const rounds = 3;
      for (let round = 0; round < rounds; round++) {
        const key = { tenant: 'default', id: `lost-reply-${round}` };
        const now = Date.now();
        await store.workflows.ensure(key, INIT, now, 1000);
        const cut = proxy.loseReplyTo(store.keys.record(key));
        const events: WorkflowEvent[] = [
          { type: 'call-start', key, agent: 'a', at: now },
          { type: 'call', key, agent: 'a', at: now + 1, ok: true, usage },
          { type: 'spill', key, at: now + 1 },
        ];
        for (const event of events) batcher.add(event);
        await batcher.flush();
        await cut;
        const record = store.keys.record(key);
        assert.equal(await admin.hget(record, 'calls'), '1', 'Redis ran the batch: only its reply was lost');
        assert.ok(batcher.backlog() > 0, 'the router cannot know that, so it keeps the batch');

        await eventually('the batch re-sent and acknowledged', () =>
          batcher.backlog() === 0 ? true : undefined,
        );
        const stored = await store.workflows.get(key);
        assert.equal(stored?.calls, 1, 'counted once');
        assert.equal(stored?.promptTokens, 100);
        assert.equal(stored?.spills, 1);
        assert.equal(stored?.agents.a?.calls, 1);
        assert.equal(stored?.inflight, 0);

        // Later batches of the same router still count.
        batcher.add({ type: 'call', key, agent: 'a', at: now + 2, ok: true, usage });
        await batcher.flush();
        assert.equal((await store.workflows.get(key))?.calls, 2);
      }
      const errors = await metrics.registry.getSingleMetricAsString('workflow_router_store_errors_total');
      assert.match(errors, /operation="apply"/, 'each lost reply is a store error of apply');
      const dropped = (await metrics.statsDropped.get()).values.reduce((n, v) => n + v.value, 0);
      assert.equal(dropped, 0, 'no statistic dropped');
    } finally {
      await batcher.close();
    }
  });
});

/** Opens a streamed call of `workflow` and resolves once its first chunk arrived. */
function openStream(url: string, workflow: string): Promise<http.ClientRequest> {
  const body = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: `a long answer for ${workflow}` }],
    max_tokens: 3000,
    stream: true,
    workflow_metadata: { workflow_id: workflow, agent_id: 'writer' },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v1/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.once('data', () => resolve(req));
        res.on('error', () => undefined);
      },
    );
    req.on('error', (error) => reject(error));
    req.end(body);
  });
}

describe('a router SIGKILLed mid-call does not leave its workflow busy', () => {
  const LEASE_SECONDS = 2;
  let redis: RedisServer;
  let sims: SimProc;
  let router: RouterProcess;
  let store: RedisStore;

  before(async () => {
    redis = await startRedis();
    // Real-time pods: a 3,000-token answer streams for about 20 s.
    sims = await spawnSims(1);
    router = await startRouterProcess([
      '--static-backends',
      sims.urls.join(','),
      '--static-models',
      MODEL,
      '--log-level',
      'error',
      '--inflight-lease',
      String(LEASE_SECONDS),
      ...redisArgs({ url: redis.url }, 'wr:kill:'),
    ]);
    store = await createRedisStore({ url: redis.url, prefix: 'wr:kill:' });
  });

  after(async () => {
    await store.close();
    await router.kill();
    await sims.kill();
    await redis.stop();
  });

  test('inflight returns to 0 within the lease and the workflow is evictable', async () => {
    const key = { tenant: 'default', id: 'killed-mid-call' };
    const req = await openStream(router.url, key.id);
    req.on('error', () => undefined);
    await eventually('the call in flight reaches Redis', async () =>
      (await store.workflows.get(key))?.inflight === 1 ? true : undefined,
    );
    // Held past several renewals: the share stays while the router lives.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1500));
    assert.equal((await store.workflows.get(key))?.inflight, 1, 'renewed while the call runs');
    const busy = await store.workflows.ensure({ tenant: 'default', id: 'probe-1' }, INIT, Date.now(), 1);
    assert.deepEqual(busy.evicted, [], 'mid-call: not evicted');
    await store.workflows.delete({ tenant: 'default', id: 'probe-1' });

    await router.kill();
    const killedAt = Date.now();
    const cleared = await eventually(
      "the dead router's call stops counting",
      async () => ((await store.workflows.get(key))?.inflight === 0 ? Date.now() : undefined),
      LEASE_SECONDS * 1000 + 10_000,
    );
    const after = await store.workflows.ensure({ tenant: 'default', id: 'probe-2' }, INIT, Date.now(), 1);
    assert.deepEqual(after.evicted, [key], 'evictable again');
    console.log(`inflight back to 0 ${cleared - killedAt} ms after the SIGKILL (lease ${LEASE_SECONDS} s)`);
    assert.ok(cleared - killedAt <= LEASE_SECONDS * 1000 + 1000, 'within one lease (and a poll)');
  });
});
