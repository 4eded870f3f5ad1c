// The store contract on a standalone Redis, then what only the Redis store has: several
// replicas on one Redis, the near-cache and its invalidation, batching, and outages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../core/store/errors.ts';
import {
  createRedisStore,
  type RedisStore,
  type RedisStoreOptions,
} from '../../core/store/redis/redis-store.ts';
import type { StoreHealth } from '../../core/store/state-store.ts';
import {
  commandCount,
  scanKeys,
  startRedis,
  startRedisSentinel,
  type RedisServer,
} from '../helpers/redis.ts';
import { statsBatch } from '../helpers/stats-batch.ts';
import { runStoreContract } from './contract.ts';

let server: RedisServer | undefined;
let admin: Redis | undefined;
let stores = 0;

before(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});

after(async () => {
  await admin?.quit();
  await server?.stop();
});

function url(): string {
  if (!server) throw new Error('redis not started');
  return server.url;
}

function redis(): Redis {
  if (!admin) throw new Error('redis not started');
  return admin;
}

runStoreContract('redis', () => createRedisStore({ url: url(), prefix: `wr:s${++stores}:` }), {
  workflowKeys: (store: RedisStore, key) => scanKeys(redis(), `${store.keys.workflowPrefix(key)}*`),
});

const INIT = { strategy: 'auto' as const, priority: 50, ttlSeconds: 60 };
const MAX = 1000;
const wf = (id: string): { tenant: string; id: string } => ({ tenant: 't', id });

/** Polls until `check` holds (no fixed sleeps: the machine may be slow). */
async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('redis store: replicas sharing one Redis', () => {
  async function replicas(
    prefix: string,
    options: RedisStoreOptions = {},
  ): Promise<[RedisStore, RedisStore]> {
    return [
      await createRedisStore({ url: url(), prefix, ...options }),
      await createRedisStore({ url: url(), prefix, ...options }),
    ];
  }

  test('a pin claimed through one replica is seen by the other; their claims race to one winner', async () => {
    const [a, b] = await replicas('wr:rep1:');
    try {
      await a.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
      await b.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
      assert.deepEqual(await a.pins.claim(wf('w'), 'pod-a'), { pod: 'pod-a', won: true });
      await eventually('b sees the pin', async () => (await b.pins.get(wf('w'))) === 'pod-a');
      assert.deepEqual(await b.pins.claim(wf('w'), 'pod-b'), { pod: 'pod-a', won: false });

      const racers = Array.from({ length: 10 }, (_, i) => ({ tenant: 't', id: `race-${i}` }));
      for (const key of racers) await a.workflows.ensure(key, INIT, Date.now(), MAX);
      const results = await Promise.all(
        racers.flatMap((key) => [a.pins.claim(key, 'from-a'), b.pins.claim(key, 'from-b')]),
      );
      for (let i = 0; i < racers.length; i++) {
        const [ra, rb] = [results[2 * i], results[2 * i + 1]];
        assert.ok(ra && rb);
        assert.equal(Number(ra.won) + Number(rb.won), 1, 'exactly one replica wins each workflow');
        assert.equal(ra.pod, rb.pod);
      }
      const counts = await b.pins.countsByPod();
      assert.equal((counts['from-a'] ?? 0) + (counts['from-b'] ?? 0), racers.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("another replica's move, declaration and delete invalidate this replica's near-cache", async () => {
    const [a, b] = await replicas('wr:rep2:');
    try {
      await a.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
      await a.pins.claim(wf('w'), 'pod-a');
      assert.equal(await b.pins.get(wf('w')), 'pod-a', 'b now has the workflow in its near-cache');

      await a.pins.move(wf('w'), 'pod-a', 'pod-b');
      await eventually('b sees the move', async () => (await b.pins.get(wf('w'))) === 'pod-b');

      const spec = { contextSharing: 'broadcast' as const, priority: 90, agents: [] };
      await a.workflows.declare(wf('w'), spec, INIT, Date.now(), MAX);
      await eventually(
        'b sees the declaration',
        async () =>
          (await b.workflows.ensure(wf('w'), INIT, Date.now(), MAX)).record.strategy === 'broadcast',
      );

      await a.workflows.delete(wf('w'));
      await eventually('b sees the delete', async () => (await b.pins.get(wf('w'))) === undefined);
      const recreated = await b.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
      assert.equal(recreated.created, true);
      assert.equal(recreated.record.pinnedPod, undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a workflow evicted or expired by one replica is gone for the other', async () => {
    const [a, b] = await replicas('wr:rep3:');
    try {
      const t0 = 1_700_000_000_000;
      await a.workflows.ensure(wf('old'), INIT, t0, 2);
      await b.workflows.ensure(wf('old'), INIT, t0, 2);
      await b.pins.claim(wf('old'), 'pod-a');
      await b.workflows.ensure(wf('mid'), INIT, t0 + 1, 2);
      const { evicted } = await a.workflows.ensure(wf('new'), INIT, t0 + 2, 2);
      assert.deepEqual(evicted, [wf('old')]);
      await eventually(
        'b forgets the evicted workflow',
        async () => (await b.pins.get(wf('old'))) === undefined,
      );
      assert.equal((await b.workflows.totals()).evicted, 1, 'evictions count fleet-wide');
      assert.deepEqual(await b.workflows.expire(t0 + 60_001), [wf('mid')]);
      assert.equal((await a.workflows.totals()).expired, 1, 'expiries count fleet-wide');
      assert.deepEqual(await a.workflows.expire(t0 + 60_002), [wf('new')]);
      assert.equal((await b.workflows.totals()).expired, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('eviction holds the bound fleet-wide when replicas create workflows at the same time', async () => {
    const [a, b] = await replicas('wr:rep4:');
    try {
      const t0 = 1_700_000_000_000;
      for (let i = 0; i < 10; i++) await a.workflows.ensure(wf(`seed-${i}`), INIT, t0 + i, 10);
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).workflows.ensure(wf(`new-${i}`), INIT, t0 + 100 + i, 10),
        ),
      );
      const evicted = created.flatMap((r) => r.evicted.map((k) => k.id)).sort();
      assert.deepEqual(evicted, Array.from({ length: 10 }, (_, i) => `seed-${i}`).sort());
      assert.equal((await a.workflows.list()).length, 10);
      assert.equal((await b.workflows.totals()).evicted, 10);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('redis store: near-cache and batching', () => {
  test('ensure() and pins.get() of a known workflow cost no Redis command', async () => {
    const store = await createRedisStore({ url: url(), prefix: 'wr:cost:' });
    try {
      await store.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
      await store.pins.claim(wf('w'), 'pod-a');
      const before = await commandCount(redis());
      for (let i = 0; i < 50; i++) {
        const { record, created } = await store.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
        assert.equal(created, false);
        assert.equal(record.pinnedPod, 'pod-a');
        assert.equal(await store.pins.get(wf('w')), 'pod-a');
      }
      assert.equal((await commandCount(redis())) - before, 0);

      const unknown = await commandCount(redis());
      assert.equal(await store.pins.get(wf('not-cached')), undefined);
      assert.ok((await commandCount(redis())) - unknown > 0, 'an unknown workflow is read from Redis');
    } finally {
      await store.close();
    }
  });

  test('one apply is one script per workflow plus one index update, in one pipeline', async () => {
    const store = await createRedisStore({ url: url(), prefix: 'wr:batch:' });
    try {
      const now = Date.now();
      const keys = Array.from({ length: 5 }, (_, i) => wf(`w${i}`));
      for (const key of keys) await store.workflows.ensure(key, INIT, now, MAX);
      const events = keys.flatMap((key) =>
        Array.from({ length: 20 }, (_, i) => ({
          type: 'call' as const,
          key,
          agent: 'a',
          at: now + i,
          ok: true,
          usage: { promptTokens: 1, cachedTokens: 0, completionTokens: 1 },
        })),
      );
      const stats = async (): Promise<Map<string, number>> => {
        const info = await redis().info('commandstats');
        return new Map(
          [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1] ?? '', Number(m[2])]),
        );
      };
      const before = await stats();
      await store.workflows.apply(statsBatch(events));
      const after = await stats();
      const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      assert.equal(delta('evalsha') + delta('eval'), keys.length, 'one script call per workflow');
      assert.equal(delta('zadd'), 1, 'one ZADD touches the activity index for the batch');
      for (const key of keys) assert.equal((await store.workflows.get(key))?.calls, 20);
    } finally {
      await store.close();
    }
  });

  test('keys carry the prefix and the workflow hash tag', async () => {
    const store = await createRedisStore({ url: url(), prefix: 'wr:tags:' });
    try {
      const key = { tenant: 'acme', id: 'wf.1:x-y' };
      const now = Date.now();
      await store.workflows.ensure(key, INIT, now, MAX);
      await store.contexts.append(key, { agent: 'a', text: 't', tokens: 1, at: now }, 10);
      await store.messages.send(key, 'agent-1', { from: 'b', payload: 1, ttlSeconds: 60 }, now, 10);
      const keys = await scanKeys(redis(), 'wr:tags:*');
      const own = keys.filter((k) => k.startsWith('wr:tags:{wf:acme/wf.1:x-y}:'));
      assert.deepEqual(own, [
        'wr:tags:{wf:acme/wf.1:x-y}:context',
        'wr:tags:{wf:acme/wf.1:x-y}:inbox-expiry:agent-1',
        'wr:tags:{wf:acme/wf.1:x-y}:inbox:agent-1',
        'wr:tags:{wf:acme/wf.1:x-y}:inboxes',
        'wr:tags:{wf:acme/wf.1:x-y}:record',
      ]);
      for (const k of keys.filter((k) => !own.includes(k))) assert.match(k, /^wr:tags:\{fleet\}:/);
    } finally {
      await store.close();
    }
  });
});

describe('redis store: connections', () => {
  test('through Sentinel: the store finds the master and works', async () => {
    const master = await startRedis();
    const sentinel = await startRedisSentinel(master);
    try {
      const store = await createRedisStore({
        sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
        sentinelName: sentinel.name,
        prefix: 'wr:sentinel:',
      });
      try {
        await store.workflows.ensure(wf('w'), INIT, Date.now(), MAX);
        assert.equal((await store.pins.claim(wf('w'), 'pod-a')).won, true);
        const waiting = store.messages.wait(
          wf('w'),
          'r',
          undefined,
          10,
          10_000,
          new AbortController().signal,
        );
        await sleep(30);
        await store.messages.send(wf('w'), 'r', { from: 'x', payload: 'hi', ttlSeconds: 60 }, Date.now(), 10);
        assert.deepEqual(
          (await waiting).map((m) => m.payload),
          ['hi'],
        );
        const direct = new Redis(master.url);
        assert.equal(
          await direct.hget(store.keys.record(wf('w')), 'pod'),
          'pod-a',
          'the data is on the master',
        );
        await direct.quit();
      } finally {
        await store.close();
      }
    } finally {
      await sentinel.stop();
      await master.stop();
    }
  });
});

describe('redis store: outages', () => {
  test('createRedisStore rejects quickly with StoreUnavailableError when Redis is not there', async () => {
    const started = Date.now();
    await assert.rejects(
      createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 }),
      StoreUnavailableError,
    );
    assert.ok(Date.now() - started < 5000);
  });

  test('Redis killed: degraded, messages fail fast, known pins answer; restarted: recovers by itself', async () => {
    const own = await startRedis();
    const store = await createRedisStore({ url: own.url, prefix: 'wr:outage:' });
    const healths: StoreHealth[] = [];
    store.onHealthChange((h) => healths.push(h));
    try {
      const now = Date.now();
      await store.workflows.ensure(wf('known'), INIT, now, MAX);
      await store.pins.claim(wf('known'), 'pod-a');
      const waiting = store.messages
        .wait(wf('known'), 'r', undefined, 10, 30_000, new AbortController().signal)
        .then(
          () => 'resolved',
          (error: unknown) => error,
        );
      await sleep(50);

      await own.kill();
      await eventually('health is degraded', () => store.health() === 'degraded');
      assert.ok(
        (await waiting) instanceof StoreUnavailableError,
        'a pending long poll fails instead of hanging',
      );
      const errorsBefore = store.errors();
      const started = Date.now();
      await assert.rejects(
        store.messages.send(wf('known'), 'r', { from: 'x', payload: 1, ttlSeconds: 60 }, Date.now(), 10),
        StoreUnavailableError,
      );
      await assert.rejects(
        store.messages.read(wf('known'), 'r', undefined, 10, Date.now()),
        StoreUnavailableError,
      );
      await assert.rejects(
        store.messages.wait(wf('known'), 'r', undefined, 10, 30_000, new AbortController().signal),
        StoreUnavailableError,
      );
      await assert.rejects(
        store.workflows.apply(statsBatch([{ type: 'spill', key: wf('known'), at: now }])),
        StoreUnavailableError,
      );
      assert.ok(Date.now() - started < 2000, 'operations reject at once, they do not wait for Redis');
      assert.ok(store.errors() >= errorsBefore + 4, 'failures are counted');

      assert.equal(await store.pins.get(wf('known')), 'pod-a', 'a known pin answers from the near-cache');
      const known = await store.workflows.ensure(wf('known'), INIT, Date.now(), MAX);
      assert.equal(known.record.pinnedPod, 'pod-a');
      await assert.rejects(
        store.workflows.ensure(wf('unknown'), INIT, Date.now(), MAX),
        StoreUnavailableError,
      );
      await assert.rejects(store.pins.get(wf('unknown')), StoreUnavailableError);

      await own.restart();
      await eventually('health is ok again', () => store.health() === 'ok');
      assert.deepEqual(healths.slice(0, 2), ['degraded', 'ok']);
      // The restarted Redis kept nothing (no persistence): the near-cache was dropped on
      // reconnect, so the store does not keep serving a pin that no longer exists.
      await eventually('the near-cache was revalidated', async () => {
        try {
          return (await store.workflows.ensure(wf('known'), INIT, Date.now(), MAX)).created;
        } catch {
          return false;
        }
      });
      assert.equal(await store.pins.get(wf('known')), undefined);
      assert.equal((await store.pins.claim(wf('known'), 'pod-b')).won, true);
      const sent = await store.messages.send(
        wf('known'),
        'r',
        { from: 'x', payload: 2, ttlSeconds: 60 },
        Date.now(),
        10,
      );
      assert.equal(sent.ok, true);
      assert.equal(
        (await store.messages.wait(wf('known'), 'r', undefined, 10, 1000, new AbortController().signal))
          .length,
        1,
      );
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
