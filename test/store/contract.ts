// The StateStore contract (DESIGN section 6): every implementation passes these tests. The
// in-memory store is the reference semantics; the Redis store runs them standalone and on a
// three-master Cluster. Workflow tests use a synthetic clock (T0); long-poll tests use the
// real one, because wait() measures its timeout on the wall clock.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowKey } from '../../core/ids.ts';
import { compareMessageIds, messageIdSchema } from '../../core/message-id.ts';
import type { WorkflowEvent } from '../../core/store/records.ts';
import type { StateStore, WorkflowInit } from '../../core/store/state-store.ts';
import type { StatsBatch } from '../../core/store/stats-batch.ts';
import { workflowSpecSchema } from '../../core/workflow-spec.ts';
import { statsBatch } from '../helpers/stats-batch.ts';

export interface ContractHooks<S extends StateStore> {
  /** Every key the backing store holds for one workflow (Redis: SCAN); used to prove delete leaves nothing. */
  workflowKeys?(store: S, key: WorkflowKey): Promise<string[]>;
}

const T0 = 1_700_000_000_000;
const INIT: WorkflowInit = { strategy: 'auto', priority: 50, ttlSeconds: 60 };
const MAX = 1000;

const wf = (id: string, tenant = 't1'): WorkflowKey => ({ tenant, id });
const byKey = (a: WorkflowKey, b: WorkflowKey): number =>
  `${a.tenant}/${a.id}`.localeCompare(`${b.tenant}/${b.id}`);
const sortedKeys = (keys: readonly WorkflowKey[]): WorkflowKey[] =>
  keys.map((k) => ({ tenant: k.tenant, id: k.id })).sort(byKey);

export function runStoreContract<S extends StateStore>(
  name: string,
  makeStore: () => Promise<S>,
  hooks: ContractHooks<S> = {},
): void {
  async function withStore(body: (store: S) => Promise<void>): Promise<void> {
    const store = await makeStore();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  }

  const it = (title: string, body: (store: S) => Promise<void>): void => {
    test(title, () => withStore(body));
  };

  describe(`${name} store contract`, () => {
    describe('pins', () => {
      it('claim pins an unpinned workflow; later claims get the first pin', async (store) => {
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        assert.equal(await store.pins.get(wf('w')), undefined);
        assert.deepEqual(await store.pins.claim(wf('w'), 'pod-a'), { pod: 'pod-a', won: true });
        assert.deepEqual(await store.pins.claim(wf('w'), 'pod-b'), { pod: 'pod-a', won: false });
        assert.equal(await store.pins.get(wf('w')), 'pod-a');
        assert.equal((await store.workflows.get(wf('w')))?.pinnedPod, 'pod-a');
        assert.equal((await store.workflows.ensure(wf('w'), INIT, T0 + 1, MAX)).record.pinnedPod, 'pod-a');
      });

      it('an unknown workflow is never pinned', async (store) => {
        assert.deepEqual(await store.pins.claim(wf('nope'), 'pod-a'), { pod: 'pod-a', won: false });
        assert.equal(await store.pins.get(wf('nope')), undefined);
        assert.deepEqual(await store.pins.countsByPod(), {});
        assert.equal(await store.workflows.get(wf('nope')), undefined);
      });

      it('concurrent claims on one workflow: exactly one winner, and everyone sees its pod', async (store) => {
        await store.workflows.ensure(wf('race'), INIT, T0, MAX);
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.pins.claim(wf('race'), `pod-${i}`)),
        );
        const winners = results.filter((r) => r.won);
        assert.equal(winners.length, 1);
        const pod = winners[0]?.pod;
        assert.ok(pod);
        for (const result of results) assert.equal(result.pod, pod);
        assert.equal(await store.pins.get(wf('race')), pod);
        assert.deepEqual(await store.pins.countsByPod(), { [pod]: 1 });
      });

      it('move is a compare-and-set on the current pin', async (store) => {
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        assert.deepEqual(await store.pins.move(wf('w'), 'pod-a', 'pod-b'), { pod: undefined, moved: false });
        await store.pins.claim(wf('w'), 'pod-a');
        assert.deepEqual(await store.pins.move(wf('w'), 'pod-x', 'pod-b'), { pod: 'pod-a', moved: false });
        assert.equal(await store.pins.get(wf('w')), 'pod-a');
        assert.deepEqual(await store.pins.move(wf('w'), 'pod-a', 'pod-b'), { pod: 'pod-b', moved: true });
        assert.equal(await store.pins.get(wf('w')), 'pod-b');
        assert.deepEqual(await store.pins.move(wf('w'), 'pod-a', 'pod-c'), { pod: 'pod-b', moved: false });
        assert.deepEqual(await store.pins.move(wf('nope'), 'pod-a', 'pod-b'), {
          pod: undefined,
          moved: false,
        });
      });

      it('concurrent moves from the same pod: exactly one wins', async (store) => {
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        await store.pins.claim(wf('w'), 'pod-a');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.pins.move(wf('w'), 'pod-a', `pod-${i}`)),
        );
        const moved = results.filter((r) => r.moved);
        assert.equal(moved.length, 1);
        assert.equal(await store.pins.get(wf('w')), moved[0]?.pod);
        assert.deepEqual(await store.pins.countsByPod(), { [moved[0]?.pod ?? '']: 1 });
      });

      it('countsByPod counts live pinned workflows per pod', async (store) => {
        for (const id of ['w1', 'w2', 'w3', 'w4']) await store.workflows.ensure(wf(id), INIT, T0, MAX);
        await store.pins.claim(wf('w1'), 'a');
        await store.pins.claim(wf('w2'), 'a');
        await store.pins.claim(wf('w3'), 'b');
        assert.deepEqual(await store.pins.countsByPod(), { a: 2, b: 1 });
        await store.pins.move(wf('w2'), 'a', 'b');
        assert.deepEqual(await store.pins.countsByPod(), { a: 1, b: 2 });
        await store.workflows.delete(wf('w1'));
        assert.deepEqual(await store.pins.countsByPod(), { b: 2 });
      });
    });

    describe('workflows', () => {
      it('ensure creates a workflow once, then returns it touched', async (store) => {
        const first = await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        assert.equal(first.created, true);
        assert.deepEqual(first.evicted, []);
        assert.deepEqual(first.record.key, wf('w'));
        assert.equal(first.record.spec, undefined);
        assert.equal(first.record.strategy, 'auto');
        assert.equal(first.record.priority, 50);
        assert.equal(first.record.createdAt, T0);
        assert.equal(first.record.lastActiveAt, T0);
        assert.equal(first.record.ttlSeconds, 60);
        assert.equal(first.record.expiresAt, T0 + 60_000);
        assert.equal(first.record.calls, 0);
        assert.equal(first.record.inflight, 0);
        assert.deepEqual(first.record.agents, {});
        assert.deepEqual(first.record.messages, { sent: 0, delivered: 0, refused: 0 });
        assert.equal(first.record.contextBudgetReached, false);

        const again = await store.workflows.ensure(
          wf('w'),
          { ...INIT, strategy: 'none', priority: 1 },
          T0 + 5,
          MAX,
        );
        assert.equal(again.created, false);
        assert.equal(again.record.strategy, 'auto', 'an existing workflow keeps its strategy');
        assert.equal(again.record.priority, 50);
        assert.equal(again.record.createdAt, T0);
        assert.equal(again.record.lastActiveAt, T0 + 5);
        assert.equal(again.record.expiresAt, T0 + 5 + 60_000);
        const earlier = await store.workflows.ensure(wf('w'), INIT, T0 + 1, MAX);
        assert.equal(earlier.record.lastActiveAt >= T0 + 1, true, 'activity never goes back');
      });

      it('declare applies the declaration, which ensure then reports', async (store) => {
        const spec = workflowSpecSchema.parse({
          contextSharing: 'broadcast',
          priority: 80,
          ttlSeconds: 120,
          agents: [{ name: 'planner' }, { name: 'writer', contextFrom: ['planner'] }],
          maxMessageQueueSize: 7,
        });
        const declared = await store.workflows.declare(wf('w'), spec, INIT, T0, MAX);
        assert.equal(declared.created, true);
        assert.deepEqual(declared.record.spec, spec);
        assert.equal(declared.record.strategy, 'broadcast');
        assert.equal(declared.record.priority, 80);
        assert.equal(declared.record.ttlSeconds, 120);
        assert.equal(declared.record.expiresAt, T0 + 120_000);

        const ensured = await store.workflows.ensure(wf('w'), INIT, T0 + 10, MAX);
        assert.equal(ensured.created, false);
        assert.deepEqual(ensured.record.spec, spec);
        assert.equal(ensured.record.strategy, 'broadcast');
        assert.equal(ensured.record.priority, 80);
        assert.equal(ensured.record.ttlSeconds, 120);

        const respec = workflowSpecSchema.parse({ contextSharing: 'selective', priority: 10 });
        const redeclared = await store.workflows.declare(wf('w'), respec, INIT, T0 + 20, MAX);
        assert.equal(redeclared.created, false);
        assert.deepEqual(redeclared.record.spec, respec);
        assert.equal(redeclared.record.strategy, 'selective');
        assert.equal(redeclared.record.priority, 10);
        assert.equal(redeclared.record.ttlSeconds, 60, 'no ttl in the declaration: the default');
        assert.equal(
          (await store.workflows.ensure(wf('w'), INIT, T0 + 30, MAX)).record.strategy,
          'selective',
        );
        assert.deepEqual((await store.workflows.get(wf('w')))?.spec, respec);
      });

      it('declaring a running workflow keeps its pin, counters and creation time', async (store) => {
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        await store.pins.claim(wf('w'), 'pod-a');
        await store.workflows.apply(
          statsBatch([{ type: 'call', key: wf('w'), agent: 'a', at: T0 + 1, ok: true, usage: undefined }]),
        );
        const spec = workflowSpecSchema.parse({ contextSharing: 'none' });
        const { record } = await store.workflows.declare(wf('w'), spec, INIT, T0 + 2, MAX);
        assert.equal(record.pinnedPod, 'pod-a');
        assert.equal(record.calls, 1);
        assert.equal(record.createdAt, T0);
        assert.equal(record.strategy, 'none');
      });

      it('get returns a fresh copy and undefined for unknown workflows', async (store) => {
        assert.equal(await store.workflows.get(wf('nope')), undefined);
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        const record = await store.workflows.get(wf('w'));
        assert.ok(record);
        record.calls = 99;
        assert.equal((await store.workflows.get(wf('w')))?.calls, 0);
      });

      it('list returns the live workflows, of one tenant or of all', async (store) => {
        await store.workflows.ensure(wf('a', 't1'), INIT, T0, MAX);
        await store.workflows.ensure(wf('b', 't1'), INIT, T0 + 1, MAX);
        await store.workflows.ensure(wf('a', 't2'), INIT, T0 + 2, MAX);
        const all = await store.workflows.list();
        assert.deepEqual(
          sortedKeys(all.map((r) => r.key)),
          [wf('a', 't1'), wf('b', 't1'), wf('a', 't2')].sort(byKey),
        );
        assert.deepEqual(sortedKeys((await store.workflows.list('t1')).map((r) => r.key)), [
          wf('a', 't1'),
          wf('b', 't1'),
        ]);
        assert.deepEqual(
          (await store.workflows.list('t2')).map((r) => r.key),
          [wf('a', 't2')],
        );
        assert.deepEqual(await store.workflows.list('t3'), []);
      });

      it('apply folds call, spill, migration and message events into the record', async (store) => {
        await store.workflows.ensure(wf('w'), INIT, T0, MAX);
        const key = wf('w');
        const events: WorkflowEvent[] = [
          { type: 'call-start', key, agent: 'a1', at: T0 + 10 },
          { type: 'call-start', key, agent: 'a2', at: T0 + 11 },
          { type: 'call-start', key, agent: undefined, at: T0 + 12 },
          {
            type: 'call',
            key,
            agent: 'a1',
            at: T0 + 20,
            ok: true,
            usage: { promptTokens: 100, cachedTokens: 60, completionTokens: 7 },
          },
          { type: 'call', key, agent: 'a2', at: T0 + 21, ok: false, usage: undefined },
          { type: 'call', key, agent: undefined, at: T0 + 22, ok: true, usage: undefined },
          { type: 'spill', key, at: T0 + 23 },
          { type: 'migration', key, at: T0 + 24, from: 'pod-a', to: 'pod-b' },
          { type: 'messages', key, at: T0 + 25, sent: 3, delivered: 2, refused: 1 },
          { type: 'call-start', key: wf('unknown'), agent: 'x', at: T0 + 26 },
        ];
        await store.workflows.apply(statsBatch(events));
        const record = await store.workflows.get(key);
        assert.ok(record);
        assert.equal(record.calls, 2);
        assert.equal(record.errors, 1);
        assert.equal(record.promptTokens, 100);
        assert.equal(record.cachedTokens, 60);
        assert.equal(record.completionTokens, 7);
        assert.equal(record.spills, 1);
        assert.equal(record.migrations, 1);
        assert.deepEqual(record.messages, { sent: 3, delivered: 2, refused: 1 });
        assert.equal(record.inflight, 0);
        assert.equal(record.lastActiveAt, T0 + 25);
        assert.equal(record.expiresAt, T0 + 25 + 60_000);
        assert.deepEqual(record.agents, {
          a1: {
            calls: 1,
            promptTokens: 100,
            cachedTokens: 60,
            completionTokens: 7,
            errors: 0,
            lastSeenAt: T0 + 20,
          },
          a2: {
            calls: 0,
            promptTokens: 0,
            cachedTokens: 0,
            completionTokens: 0,
            errors: 1,
            lastSeenAt: T0 + 21,
          },
        });
        assert.equal(await store.workflows.get(wf('unknown')), undefined, 'events never create workflows');
        await store.workflows.apply(statsBatch([]));
      });

      it("calls in flight are the sum of the replicas' latest shares, not of call events", async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        await store.workflows.apply(
          statsBatch([{ type: 'call-start', key, agent: 'a', at: T0 + 1 }], {
            writer: 'r1',
            seq: 1,
            inflight: [{ key, calls: 2 }],
          }),
        );
        await store.workflows.apply(statsBatch([], { writer: 'r2', seq: 1, inflight: [{ key, calls: 1 }] }));
        assert.equal((await store.workflows.get(key))?.inflight, 3);
        await store.workflows.apply(
          statsBatch([{ type: 'call', key, agent: 'a', at: T0 + 3, ok: true, usage: undefined }], {
            writer: 'r1',
            seq: 2,
            inflight: [{ key, calls: 0 }],
          }),
        );
        assert.equal((await store.workflows.get(key))?.inflight, 1, "a share replaces its writer's last one");
        await store.workflows.apply(
          statsBatch([{ type: 'spill', key, at: T0 + 4 }], { writer: 'r2', seq: 2 }),
        );
        assert.equal((await store.workflows.get(key))?.inflight, 1, 'a batch without a share keeps it');
        assert.equal((await store.workflows.list())[0]?.inflight, 1);
      });

      it('a batch re-sent after it was applied counts once; later batches and other writers count', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const usage = { promptTokens: 10, cachedTokens: 4, completionTokens: 2 };
        const call = (at: number): WorkflowEvent => ({ type: 'call', key, agent: 'a', at, ok: true, usage });
        const first = statsBatch([call(T0 + 1), { type: 'spill', key, at: T0 + 1 }], {
          writer: 'r1',
          seq: 7,
        });
        await store.workflows.apply(first);
        await store.workflows.apply(first);
        await Promise.all([store.workflows.apply(first), store.workflows.apply(first)]);
        let record = await store.workflows.get(key);
        assert.equal(record?.calls, 1);
        assert.equal(record?.promptTokens, 10);
        assert.equal(record?.spills, 1);
        assert.equal(record?.agents.a?.calls, 1);
        await store.workflows.apply(statsBatch([call(T0 + 2)], { writer: 'r1', seq: 6 }));
        assert.equal(
          (await store.workflows.get(key))?.calls,
          1,
          'an older batch of the writer was applied before',
        );
        await store.workflows.apply(statsBatch([call(T0 + 3)], { writer: 'r1', seq: 8 }));
        await store.workflows.apply(statsBatch([call(T0 + 4)], { writer: 'r2', seq: 7 }));
        record = await store.workflows.get(key);
        assert.equal(record?.calls, 3);
        assert.equal(record?.promptTokens, 30);
        assert.equal(record?.lastActiveAt, T0 + 4);
      });

      it('a batch re-sent after a partial failure applies only where it had not been applied', async (store) => {
        const [a, b] = [wf('a'), wf('b')];
        await store.workflows.ensure(a, INIT, T0, MAX);
        await store.workflows.ensure(b, INIT, T0, MAX);
        const call = (key: WorkflowKey): WorkflowEvent => ({
          type: 'call',
          key,
          agent: undefined,
          at: T0 + 1,
          ok: true,
          usage: undefined,
        });
        // The first attempt reached a's slot only (b's node was down): the retry is the whole batch.
        await store.workflows.apply(
          statsBatch([call(a)], { writer: 'r1', seq: 3, inflight: [{ key: a, calls: 1 }] }),
        );
        await store.workflows.apply(
          statsBatch([call(a), call(b)], {
            writer: 'r1',
            seq: 3,
            inflight: [
              { key: a, calls: 1 },
              { key: b, calls: 2 },
            ],
          }),
        );
        assert.equal((await store.workflows.get(a))?.calls, 1);
        assert.equal((await store.workflows.get(b))?.calls, 1);
        assert.equal((await store.workflows.get(b))?.inflight, 2);
        assert.equal((await store.workflows.totals()).calls, 2);
      });

      it("a replica's share of calls in flight ends with its lease: the workflow is then evictable", async (store) => {
        const key = wf('crashed');
        await store.workflows.ensure(key, INIT, T0, 1);
        await store.workflows.apply(
          statsBatch([{ type: 'call-start', key, agent: 'a', at: T0 }], {
            writer: 'dead-replica',
            seq: 1,
            inflight: [{ key, calls: 1 }],
            leaseMs: 400,
          }),
        );
        assert.equal((await store.workflows.get(key))?.inflight, 1);
        const busy = await store.workflows.ensure(wf('other'), INIT, T0 + 1, 1);
        assert.deepEqual(busy.evicted, [], 'mid-call while the lease runs');
        await store.workflows.delete(wf('other'));
        await sleep(600);
        // Nobody renewed the share (the replica was killed): the call no longer counts.
        assert.equal((await store.workflows.get(key))?.inflight, 0);
        assert.equal((await store.workflows.list()).find((r) => r.key.id === 'crashed')?.inflight, 0);
        const after = await store.workflows.ensure(wf('next'), INIT, T0 + 2, 1);
        assert.deepEqual(sortedKeys(after.evicted), [key]);
      });

      it('apply: counters add up whatever the order of batches, activity is the latest', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const call = (at: number): WorkflowEvent => ({
          type: 'call',
          key,
          agent: 'a',
          at,
          ok: true,
          usage: { promptTokens: 10, cachedTokens: 1, completionTokens: 2 },
        });
        await store.workflows.apply(statsBatch([call(T0 + 300), call(T0 + 100)]));
        await store.workflows.apply(statsBatch([call(T0 + 200)]));
        const record = await store.workflows.get(key);
        assert.equal(record?.calls, 3);
        assert.equal(record?.promptTokens, 30);
        assert.equal(record?.lastActiveAt, T0 + 300);
        assert.equal(record?.agents.a?.lastSeenAt, T0 + 300);
      });

      it('beyond maxWorkflows, ensure evicts the least recently active workflow', async (store) => {
        await store.workflows.ensure(wf('w1'), INIT, T0, 3);
        await store.workflows.ensure(wf('w2'), INIT, T0 + 1, 3);
        await store.workflows.ensure(wf('w3'), INIT, T0 + 2, 3);
        await store.pins.claim(wf('w2'), 'pod-a');
        await store.workflows.apply(statsBatch([{ type: 'spill', key: wf('w1'), at: T0 + 3 }]));
        const result = await store.workflows.ensure(wf('w4'), INIT, T0 + 4, 3);
        assert.equal(result.created, true);
        assert.deepEqual(sortedKeys(result.evicted), [wf('w2')]);
        assert.equal(await store.workflows.get(wf('w2')), undefined);
        assert.equal(await store.pins.get(wf('w2')), undefined);
        assert.deepEqual(await store.pins.countsByPod(), {});
        assert.deepEqual(sortedKeys((await store.workflows.list()).map((r) => r.key)), [
          wf('w1'),
          wf('w3'),
          wf('w4'),
        ]);
        const totals = await store.workflows.totals();
        assert.equal(totals.live, 3);
        assert.equal(totals.evicted, 1);
        assert.deepEqual((await store.workflows.ensure(wf('w1'), INIT, T0 + 5, 3)).evicted, []);
      });

      it('eviction never removes a workflow with a call in flight', async (store) => {
        await store.workflows.ensure(wf('busy'), INIT, T0, 2);
        const share = (key: WorkflowKey, calls: number): StatsBatch =>
          statsBatch([], { writer: 'r1', inflight: [{ key, calls }] });
        await store.workflows.apply(share(wf('busy'), 1));
        await store.workflows.ensure(wf('idle'), INIT, T0 + 1, 2);
        const first = await store.workflows.ensure(wf('new1'), INIT, T0 + 2, 2);
        assert.deepEqual(sortedKeys(first.evicted), [wf('idle')]);
        assert.ok(await store.workflows.get(wf('busy')));

        await store.workflows.apply(share(wf('new1'), 1));
        const second = await store.workflows.ensure(wf('new2'), INIT, T0 + 4, 2);
        assert.deepEqual(second.evicted, [], 'every other workflow is mid-call: none is evicted');
        assert.equal((await store.workflows.list()).length, 3);

        await store.workflows.apply(share(wf('busy'), 0));
        const third = await store.workflows.ensure(wf('new3'), INIT, T0 + 6, 2);
        assert.deepEqual(sortedKeys(third.evicted), [wf('new2'), wf('busy')].sort(byKey));
        assert.equal((await store.workflows.totals()).evicted, 3);
      });

      it('a lower maxWorkflows evicts down to the bound, oldest first', async (store) => {
        for (let i = 0; i < 5; i++) await store.workflows.ensure(wf(`w${i}`), INIT, T0 + i, MAX);
        const result = await store.workflows.ensure(wf('new'), INIT, T0 + 10, 2);
        assert.deepEqual(sortedKeys(result.evicted), [wf('w0'), wf('w1'), wf('w2'), wf('w3')]);
        assert.deepEqual(sortedKeys((await store.workflows.list()).map((r) => r.key)), [wf('new'), wf('w4')]);
      });

      it('declare creates within maxWorkflows too', async (store) => {
        await store.workflows.ensure(wf('old'), INIT, T0, 1);
        const spec = workflowSpecSchema.parse({});
        const result = await store.workflows.declare(wf('declared'), spec, INIT, T0 + 1, 1);
        assert.deepEqual(sortedKeys(result.evicted), [wf('old')]);
        assert.equal((await store.workflows.list()).length, 1);
      });

      it('expire removes the workflows idle past their ttl and counts them', async (store) => {
        await store.workflows.ensure(wf('short'), INIT, T0, MAX);
        await store.workflows.ensure(wf('long'), { ...INIT, ttlSeconds: 600 }, T0, MAX);
        await store.workflows.ensure(wf('active'), INIT, T0, MAX);
        const spec = workflowSpecSchema.parse({ ttlSeconds: 300 });
        await store.workflows.declare(wf('declared'), spec, INIT, T0, MAX);
        await store.pins.claim(wf('short'), 'pod-a');
        await store.workflows.apply(statsBatch([{ type: 'spill', key: wf('active'), at: T0 + 50_000 }]));

        assert.deepEqual(await store.workflows.expire(T0 + 59_999), []);
        assert.deepEqual(sortedKeys(await store.workflows.expire(T0 + 60_000)), [wf('short')]);
        assert.equal(await store.workflows.get(wf('short')), undefined);
        assert.equal(await store.pins.get(wf('short')), undefined);
        assert.deepEqual(await store.pins.countsByPod(), {});
        assert.deepEqual(await store.workflows.expire(T0 + 60_000), []);
        assert.deepEqual(sortedKeys(await store.workflows.expire(T0 + 110_000)), [wf('active')]);
        assert.deepEqual(sortedKeys(await store.workflows.expire(T0 + 300_000)), [wf('declared')]);
        assert.deepEqual(
          (await store.workflows.list()).map((r) => r.key),
          [wf('long')],
        );
        const totals = await store.workflows.totals();
        assert.equal(totals.expired, 3);
        assert.equal(totals.live, 1);
        assert.deepEqual(sortedKeys(await store.workflows.expire(T0 + 10_000_000)), [wf('long')]);
        assert.equal((await store.workflows.totals()).live, 0);
      });

      it('totals sums the live workflows, of one tenant or of all', async (store) => {
        const usage = { promptTokens: 100, cachedTokens: 40, completionTokens: 5 };
        for (const key of [wf('a', 't1'), wf('b', 't1'), wf('a', 't2')]) {
          await store.workflows.ensure(key, INIT, T0, MAX);
          await store.workflows.apply(
            statsBatch([
              { type: 'call', key, agent: 'x', at: T0 + 1, ok: true, usage },
              { type: 'spill', key, at: T0 + 2 },
              { type: 'migration', key, at: T0 + 3, from: 'p', to: 'q' },
              { type: 'messages', key, at: T0 + 4, sent: 2, delivered: 1, refused: 1 },
            ]),
          );
        }
        const all = await store.workflows.totals();
        assert.deepEqual(all, {
          live: 3,
          evicted: 0,
          expired: 0,
          calls: 3,
          promptTokens: 300,
          cachedTokens: 120,
          completionTokens: 15,
          migrations: 3,
          spills: 3,
          messages: { sent: 6, delivered: 3, refused: 3 },
        });
        const t1 = await store.workflows.totals('t1');
        assert.equal(t1.live, 2);
        assert.equal(t1.calls, 2);
        assert.equal(t1.promptTokens, 200);
        assert.deepEqual(t1.messages, { sent: 4, delivered: 2, refused: 2 });
        assert.equal((await store.workflows.totals('t3')).live, 0);
      });

      it('delete removes the workflow and everything it owns', async (store) => {
        const key = wf('w');
        const now = Date.now();
        await store.workflows.ensure(key, INIT, T0, MAX);
        await store.pins.claim(key, 'pod-a');
        await store.contexts.append(key, { agent: 'a', text: 'hello', tokens: 2, at: T0 }, 100);
        await store.messages.send(key, 'a1', { from: 'b', payload: { x: 1 }, ttlSeconds: 60 }, now, 10);
        await store.messages.send(key, 'a2', { from: 'b', payload: 'y', ttlSeconds: 60 }, now, 10);
        if (hooks.workflowKeys) assert.ok((await hooks.workflowKeys(store, key)).length >= 5);

        assert.equal(await store.workflows.delete(key), true);
        assert.equal(await store.workflows.get(key), undefined);
        assert.equal(await store.pins.get(key), undefined);
        assert.deepEqual(await store.pins.countsByPod(), {});
        assert.deepEqual(await store.contexts.read(key), []);
        assert.deepEqual(await store.messages.read(key, 'a1', undefined, 10, now), []);
        assert.equal(await store.messages.depth(key, 'a1', now), 0);
        assert.deepEqual(await store.messages.inboxes(key), []);
        assert.deepEqual(await store.workflows.list(), []);
        assert.equal((await store.workflows.totals()).live, 0);
        if (hooks.workflowKeys) assert.deepEqual(await hooks.workflowKeys(store, key), []);
        assert.equal(await store.workflows.delete(key), false);

        const again = await store.workflows.ensure(key, INIT, T0 + 1, MAX);
        assert.equal(again.created, true);
        assert.equal(again.record.pinnedPod, undefined);
        assert.equal(again.record.contextTokens, 0);
        assert.deepEqual(await store.messages.read(key, 'a1', undefined, 10, now), []);
      });

      it('tenants are isolated: the same id in two tenants is two workflows', async (store) => {
        const a = wf('same', 'tenant-a');
        const b = wf('same', 'tenant-b');
        const now = Date.now();
        await store.workflows.ensure(a, INIT, T0, MAX);
        await store.workflows.ensure(b, { ...INIT, strategy: 'broadcast' }, T0, MAX);
        await store.pins.claim(a, 'pod-a');
        await store.pins.claim(b, 'pod-b');
        await store.contexts.append(a, { agent: 'x', text: 'only a', tokens: 1, at: T0 }, 100);
        await store.messages.send(a, 'agent', { from: 'x', payload: 'for a', ttlSeconds: 60 }, now, 10);
        await store.workflows.apply(
          statsBatch([{ type: 'call', key: a, agent: 'x', at: T0 + 1, ok: true, usage: undefined }]),
        );

        assert.equal(await store.pins.get(a), 'pod-a');
        assert.equal(await store.pins.get(b), 'pod-b');
        assert.equal((await store.workflows.get(b))?.strategy, 'broadcast');
        assert.equal((await store.workflows.get(b))?.calls, 0);
        assert.deepEqual(await store.contexts.read(b), []);
        assert.deepEqual(await store.messages.read(b, 'agent', undefined, 10, now), []);
        assert.equal((await store.messages.read(a, 'agent', undefined, 10, now)).length, 1);
        assert.equal((await store.workflows.list('tenant-a')).length, 1);

        await store.workflows.delete(a);
        assert.equal(await store.pins.get(b), 'pod-b');
        assert.equal((await store.workflows.list('tenant-b')).length, 1);
        assert.equal((await store.workflows.list('tenant-a')).length, 0);
      });
    });

    describe('contexts', () => {
      it('append respects the token budget and marks it reached', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const e1 = { agent: 'planner', text: 'plan: step one', tokens: 4, at: T0 + 1 };
        const e2 = { agent: 'writer', text: 'draft ✓ ünïcode', tokens: 5, at: T0 + 2 };
        assert.deepEqual(await store.contexts.append(key, e1, 10), { appended: true, totalTokens: 4 });
        assert.deepEqual(await store.contexts.append(key, e2, 10), { appended: true, totalTokens: 9 });
        assert.equal((await store.workflows.get(key))?.contextBudgetReached, false);
        assert.deepEqual(await store.contexts.append(key, { ...e1, tokens: 2 }, 10), {
          appended: false,
          totalTokens: 9,
        });
        const record = await store.workflows.get(key);
        assert.equal(record?.contextBudgetReached, true);
        assert.equal(record?.contextTokens, 9);
        assert.equal(record?.contextEntries, 2);
        assert.deepEqual(await store.contexts.read(key), [e1, e2]);
        assert.deepEqual(await store.contexts.append(key, { ...e1, tokens: 1 }, 10), {
          appended: true,
          totalTokens: 10,
        });
      });

      it('an unknown workflow has no context and accepts none', async (store) => {
        assert.deepEqual(
          await store.contexts.append(wf('nope'), { agent: 'a', text: 't', tokens: 1, at: T0 }, 10),
          {
            appended: false,
            totalTokens: 0,
          },
        );
        assert.deepEqual(await store.contexts.read(wf('nope')), []);
      });
    });

    describe('messages', () => {
      it('send and read: ids increase, the cursor is exclusive, limit caps', async (store) => {
        const key = wf('w');
        const now = Date.now();
        await store.workflows.ensure(key, INIT, now, MAX);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const sent = await store.messages.send(
            key,
            'reader',
            { from: `s${i}`, payload: { i }, ttlSeconds: 60 },
            now,
            100,
          );
          assert.equal(sent.ok, true);
          if (sent.ok) ids.push(sent.id);
        }
        for (const id of ids) assert.ok(messageIdSchema.safeParse(id).success, id);
        for (let i = 1; i < ids.length; i++) assert.ok(compareMessageIds(ids[i - 1] ?? '', ids[i] ?? '') < 0);

        const all = await store.messages.read(key, 'reader', undefined, 10, now);
        assert.deepEqual(
          all.map((m) => m.id),
          ids,
        );
        assert.deepEqual(all[0], {
          id: ids[0],
          from: 's0',
          to: 'reader',
          payload: { i: 0 },
          createdAt: now,
          expiresAt: now + 60_000,
        });
        assert.deepEqual(
          (await store.messages.read(key, 'reader', ids[1], 2, now)).map((m) => m.id),
          [ids[2], ids[3]],
        );
        assert.deepEqual(await store.messages.read(key, 'reader', ids[4], 10, now), []);
        assert.deepEqual(await store.messages.read(key, 'reader', undefined, 0, now), []);
        assert.deepEqual(await store.messages.read(key, 'other', undefined, 10, now), []);
        assert.equal(await store.messages.depth(key, 'reader', now), 5);
      });

      it('payloads round-trip as JSON values', async (store) => {
        const key = wf('w');
        const now = Date.now();
        await store.workflows.ensure(key, INIT, now, MAX);
        const payloads: unknown[] = [
          null,
          0,
          'text',
          [1, 'two', { three: 3 }],
          { nested: { deep: [true, false] } },
        ];
        for (const payload of payloads)
          await store.messages.send(key, 'r', { from: 'x', payload, ttlSeconds: 60 }, now, 100);
        assert.deepEqual(
          (await store.messages.read(key, 'r', undefined, 10, now)).map((m) => m.payload),
          payloads,
        );
      });

      it('expired messages are never returned nor counted', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const short = await store.messages.send(key, 'r', { from: 'x', payload: 1, ttlSeconds: 1 }, T0, 10);
        const long = await store.messages.send(key, 'r', { from: 'x', payload: 2, ttlSeconds: 100 }, T0, 10);
        assert.ok(short.ok && long.ok);
        assert.equal((await store.messages.read(key, 'r', undefined, 10, T0 + 999)).length, 2);
        const later = await store.messages.read(key, 'r', undefined, 10, T0 + 1000);
        assert.deepEqual(
          later.map((m) => m.payload),
          [2],
        );
        assert.equal(await store.messages.depth(key, 'r', T0 + 1000), 1);
        assert.deepEqual(await store.messages.read(key, 'r', undefined, 10, T0 + 100_000), []);
        assert.equal(await store.messages.depth(key, 'r', T0 + 100_000), 0);
      });

      it('a full inbox refuses new messages (never drops) until some expire', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const msg = { from: 'x', payload: 'p', ttlSeconds: 10 };
        assert.equal((await store.messages.send(key, 'r', msg, T0, 2)).ok, true);
        assert.equal((await store.messages.send(key, 'r', msg, T0 + 1, 2)).ok, true);
        assert.deepEqual(await store.messages.send(key, 'r', msg, T0 + 2, 2), { ok: false, depth: 2 });
        assert.equal(
          (await store.messages.read(key, 'r', undefined, 10, T0 + 2)).length,
          2,
          'nothing dropped',
        );
        assert.equal(
          (await store.messages.send(key, 'other', msg, T0 + 2, 2)).ok,
          true,
          'inboxes are separate',
        );
        assert.equal(
          (await store.messages.send(key, 'r', msg, T0 + 10_000, 2)).ok,
          true,
          'the first has expired',
        );
        assert.deepEqual(await store.messages.send(key, 'r', msg, T0 + 10_000, 2), { ok: false, depth: 2 });
        assert.equal(await store.messages.depth(key, 'r', T0 + 10_001), 1);
      });

      it('sending to an unknown workflow is refused', async (store) => {
        assert.deepEqual(
          await store.messages.send(wf('nope'), 'r', { from: 'x', payload: 1, ttlSeconds: 10 }, T0, 10),
          { ok: false, depth: 0 },
        );
        assert.deepEqual(await store.messages.read(wf('nope'), 'r', undefined, 10, T0), []);
        assert.deepEqual(await store.messages.inboxes(wf('nope')), []);
      });

      it('sendBatch stores a batch in order, across inboxes, ids increasing in each', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const batch = [
          { to: 'a', from: 'x', payload: { n: 1 }, ttlSeconds: 60 },
          { to: 'b', from: 'y', payload: 'two', ttlSeconds: 10 },
          { to: 'a', from: 'x', payload: [3], ttlSeconds: 60 },
        ];
        const result = await store.messages.sendBatch(key, batch, T0, 10);
        assert.ok(result.ok, JSON.stringify(result));
        assert.equal(result.ids.length, 3);
        assert.ok(compareMessageIds(result.ids[0] ?? '', result.ids[2] ?? '') < 0);
        assert.deepEqual(await store.messages.read(key, 'a', undefined, 10, T0), [
          { id: result.ids[0], from: 'x', to: 'a', payload: { n: 1 }, createdAt: T0, expiresAt: T0 + 60_000 },
          { id: result.ids[2], from: 'x', to: 'a', payload: [3], createdAt: T0, expiresAt: T0 + 60_000 },
        ]);
        assert.deepEqual(
          (await store.messages.read(key, 'b', undefined, 10, T0)).map((m) => [m.id, m.payload, m.expiresAt]),
          [[result.ids[1], 'two', T0 + 10_000]],
        );
        assert.deepEqual((await store.messages.inboxes(key)).sort(), ['a', 'b']);
        // A single send afterwards gets a greater id than the batch's to that inbox.
        const next = await store.messages.send(key, 'b', { from: 'x', payload: 4, ttlSeconds: 60 }, T0, 10);
        assert.ok(next.ok && compareMessageIds(result.ids[1] ?? '', next.id) < 0);
      });

      it('sendBatch is refused whole when a message would overflow its inbox', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        const msg = (to: string, payload: unknown) => ({ to, from: 'x', payload, ttlSeconds: 10 });
        assert.ok((await store.messages.send(key, 'r', msg('r', 'old'), T0, 3)).ok);
        // r holds 1 of 3: the batch's first two to r fit, its third (index 3) would be the 4th.
        const refused = await store.messages.sendBatch(
          key,
          [msg('r', 1), msg('fresh', 2), msg('r', 3), msg('r', 4), msg('fresh', 5)],
          T0 + 1,
          3,
        );
        assert.deepEqual(refused, { ok: false, reason: 'inbox-full', index: 3, to: 'r', depth: 1 });
        assert.deepEqual(
          (await store.messages.read(key, 'r', undefined, 10, T0 + 1)).map((m) => m.payload),
          ['old'],
          'nothing of the batch stored, nothing dropped',
        );
        assert.deepEqual(await store.messages.inboxes(key), ['r'], 'no inbox created');
        // (A reader registers its inbox, so this read comes last.)
        assert.deepEqual(await store.messages.read(key, 'fresh', undefined, 10, T0 + 1), []);
        // Once the old message expired, the same batch without its last message to r fits.
        const later = await store.messages.sendBatch(
          key,
          [msg('r', 1), msg('fresh', 2), msg('r', 3), msg('r', 4)],
          T0 + 10_000,
          3,
        );
        assert.ok(later.ok, JSON.stringify(later));
        assert.equal(await store.messages.depth(key, 'r', T0 + 10_000), 3);
        assert.deepEqual(await store.messages.sendBatch(key, [msg('r', 5)], T0 + 10_001, 3), {
          ok: false,
          reason: 'inbox-full',
          index: 0,
          to: 'r',
          depth: 3,
        });
      });

      it('sendBatch to an unknown workflow stores nothing and creates nothing', async (store) => {
        assert.deepEqual(
          await store.messages.sendBatch(
            wf('nope'),
            [{ to: 'r', from: 'x', payload: 1, ttlSeconds: 10 }],
            T0,
            10,
          ),
          { ok: false, reason: 'workflow-not-found' },
        );
        assert.equal(await store.workflows.get(wf('nope')), undefined);
        assert.deepEqual(await store.messages.inboxes(wf('nope')), []);
      });

      it('sendBatch wakes a waiting reader', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const waiting = store.messages.wait(key, 'r', undefined, 10, 10_000, new AbortController().signal);
        await sleep(50);
        const started = Date.now();
        const sent = await store.messages.sendBatch(
          key,
          [
            { to: 'r', from: 'x', payload: 1, ttlSeconds: 60 },
            { to: 'r', from: 'x', payload: 2, ttlSeconds: 60 },
          ],
          Date.now(),
          10,
        );
        assert.ok(sent.ok);
        const got = await waiting;
        assert.ok(got.length >= 1 && got[0]?.payload === 1, JSON.stringify(got));
        assert.ok(Date.now() - started < 5000, 'woken by the batch, not by the timeout');
      });

      it('inboxes lists the agents that were sent to or read their inbox', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, T0, MAX);
        await store.messages.send(key, 'a1', { from: 'x', payload: 1, ttlSeconds: 10 }, T0, 10);
        await store.messages.send(key, 'a2', { from: 'x', payload: 1, ttlSeconds: 10 }, T0, 10);
        // A reader is a known recipient, so a broadcast to the workflow reaches an agent that polls.
        await store.messages.read(key, 'a3', undefined, 10, T0);
        assert.deepEqual((await store.messages.inboxes(key)).sort(), ['a1', 'a2', 'a3']);
      });

      it('wait returns at once when messages are there', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const sent = await store.messages.send(
          key,
          'r',
          { from: 'x', payload: 1, ttlSeconds: 60 },
          Date.now(),
          10,
        );
        const started = Date.now();
        const got = await store.messages.wait(key, 'r', undefined, 10, 10_000, new AbortController().signal);
        assert.deepEqual(
          got.map((m) => m.id),
          [sent.ok ? sent.id : ''],
        );
        assert.ok(Date.now() - started < 5000);
      });

      it('wait wakes when a message arrives, and returns only what is after the cursor', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const old = await store.messages.send(
          key,
          'r',
          { from: 'x', payload: 'old', ttlSeconds: 60 },
          Date.now(),
          10,
        );
        assert.ok(old.ok);
        const started = Date.now();
        const waiting = store.messages.wait(key, 'r', old.id, 10, 10_000, new AbortController().signal);
        await sleep(50);
        await store.messages.send(key, 'r', { from: 'y', payload: 'new', ttlSeconds: 60 }, Date.now(), 10);
        const got = await waiting;
        assert.deepEqual(
          got.map((m) => m.payload),
          ['new'],
        );
        assert.equal(got[0]?.from, 'y');
        assert.ok(Date.now() - started < 5000, 'woken by the message, not by the timeout');
      });

      it('wait ignores messages that arrive already expired', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const started = Date.now();
        const waiting = store.messages.wait(key, 'r', undefined, 10, 10_000, new AbortController().signal);
        await sleep(30);
        await store.messages.send(key, 'r', { from: 'x', payload: 'expired', ttlSeconds: 0 }, Date.now(), 10);
        await sleep(30);
        await store.messages.send(key, 'r', { from: 'x', payload: 'live', ttlSeconds: 60 }, Date.now(), 10);
        assert.deepEqual(
          (await waiting).map((m) => m.payload),
          ['live'],
        );
        assert.ok(Date.now() - started < 5000);
      });

      it('wait times out with nothing when nothing arrives', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const started = Date.now();
        assert.deepEqual(
          await store.messages.wait(key, 'r', undefined, 10, 250, new AbortController().signal),
          [],
        );
        assert.ok(Date.now() - started >= 240, 'waited for the timeout');
      });

      it('wait resolves promptly when its signal aborts', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const controller = new AbortController();
        const started = Date.now();
        const waiting = store.messages.wait(key, 'r', undefined, 10, 30_000, controller.signal);
        await sleep(50);
        controller.abort();
        assert.deepEqual(await waiting, []);
        assert.ok(Date.now() - started < 5000, 'not held until the timeout');

        const aborted = new AbortController();
        aborted.abort();
        assert.deepEqual(await store.messages.wait(key, 'r', undefined, 10, 30_000, aborted.signal), []);
        // The store still serves waits afterwards.
        await store.messages.send(key, 'r', { from: 'x', payload: 1, ttlSeconds: 60 }, Date.now(), 10);
        assert.equal(
          (await store.messages.wait(key, 'r', undefined, 10, 1000, new AbortController().signal)).length,
          1,
        );
      });

      it('wait ends when the workflow is deleted, and at once for an unknown workflow', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const started = Date.now();
        const waiting = store.messages.wait(key, 'r', undefined, 10, 30_000, new AbortController().signal);
        await sleep(50);
        await store.workflows.delete(key);
        assert.deepEqual(await waiting, []);
        assert.ok(Date.now() - started < 5000);
        const unknown = Date.now();
        assert.deepEqual(
          await store.messages.wait(wf('nope'), 'r', undefined, 10, 30_000, new AbortController().signal),
          [],
        );
        assert.ok(Date.now() - unknown < 5000);
      });

      it('follow: each next() continues after the last message, waiting for new ones', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const send = (payload: unknown, ttlSeconds = 60) =>
          store.messages.send(key, 'r', { from: 'x', payload, ttlSeconds }, Date.now(), 100);
        const first = await send('before');
        assert.ok(first.ok);
        await send('after');
        const follower = store.messages.follow(key, 'r', first.id, new AbortController().signal);
        try {
          assert.deepEqual(
            (await follower.next(10, 5000)).map((m) => m.payload),
            ['after'],
          );
          const started = Date.now();
          const waiting = follower.next(10, 10_000);
          await sleep(50);
          await send('expired', 0);
          await sleep(20);
          await store.messages.sendBatch(
            key,
            [1, 2, 3].map((n) => ({ to: 'r', from: 'y', payload: n, ttlSeconds: 60 })),
            Date.now(),
            100,
          );
          const got = (await waiting).map((m) => m.payload);
          assert.ok(Date.now() - started < 5000, 'woken by the messages, not by the timeout');
          // The expired one is skipped; the batch may come in one read or more.
          const rest = got.length < 3 ? (await follower.next(10, 5000)).map((m) => m.payload) : [];
          assert.deepEqual([...got, ...rest], [1, 2, 3]);
          const timeout = Date.now();
          assert.deepEqual(await follower.next(10, 200), [], 'nothing new: [] once the time is up');
          assert.ok(Date.now() - timeout >= 190);
        } finally {
          follower.close();
        }
      });

      it('follow: next() answers [] promptly when the workflow is deleted or the signal aborts', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const controller = new AbortController();
        const aborted = store.messages.follow(key, 'r', undefined, controller.signal);
        const deleted = store.messages.follow(key, 'q', undefined, new AbortController().signal);
        try {
          const started = Date.now();
          const waits = [aborted.next(10, 30_000), deleted.next(10, 30_000)];
          await sleep(50);
          controller.abort();
          assert.deepEqual(await waits[0], []);
          await store.workflows.delete(key);
          assert.deepEqual(await waits[1], []);
          assert.ok(Date.now() - started < 5000, 'not held until the timeout');
          assert.deepEqual(await deleted.next(10, 30_000), []);
          assert.ok(Date.now() - started < 5000);
        } finally {
          aborted.close();
          deleted.close();
        }
        // The store still serves readers afterwards.
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        await store.messages.send(key, 'r', { from: 'x', payload: 'again', ttlSeconds: 60 }, Date.now(), 10);
        const again = store.messages.follow(key, 'r', undefined, new AbortController().signal);
        try {
          assert.deepEqual(
            (await again.next(10, 5000)).map((m) => m.payload),
            ['again'],
          );
        } finally {
          again.close();
        }
      });

      it('many readers wait at once and each gets its own message', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const agents = Array.from({ length: 6 }, (_, i) => `agent-${i}`);
        const waits = agents.map((agent) =>
          store.messages.wait(key, agent, undefined, 10, 10_000, new AbortController().signal),
        );
        await sleep(50);
        for (const agent of agents) {
          await store.messages.send(
            key,
            agent,
            { from: 'x', payload: agent, ttlSeconds: 60 },
            Date.now(),
            10,
          );
        }
        const results = await Promise.all(waits);
        assert.deepEqual(
          results.map((r) => r.map((m) => m.payload)),
          agents.map((a) => [a]),
        );
      });
    });

    describe('delivery and tenant counts', () => {
      it('acknowledge counts a message delivered once, however often it is read', async (store) => {
        const key = wf('w');
        const now = Date.now();
        await store.workflows.ensure(key, INIT, now, MAX);
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          const sent = await store.messages.send(
            key,
            'r',
            { from: 's', payload: i, ttlSeconds: 60 },
            now,
            100,
          );
          if (sent.ok) ids.push(sent.id);
        }
        assert.equal(await store.messages.acknowledge(key, 'r', ids.slice(0, 2)), 2);
        assert.equal(await store.messages.acknowledge(key, 'r', ids.slice(0, 2)), 0, 're-read');
        assert.equal(await store.messages.acknowledge(key, 'r', ids), 2, 'only the two new ones');
        assert.equal(await store.messages.acknowledge(key, 'other', ids.slice(0, 1)), 1, 'per inbox');
        assert.equal((await store.workflows.get(key))?.messages.delivered, 5);
        assert.equal(await store.messages.acknowledge(wf('nope'), 'r', ids), 0);
      });

      it('countLive counts one tenant, following creation and removal', async (store) => {
        await store.workflows.ensure(wf('a', 'x'), INIT, T0, MAX);
        await store.workflows.ensure(wf('b', 'x'), INIT, T0, MAX);
        await store.workflows.ensure(wf('a', 'y'), INIT, T0, MAX);
        await store.workflows.ensure(wf('a', 'x'), INIT, T0 + 1, MAX);
        assert.equal(await store.workflows.countLive('x'), 2);
        assert.equal(await store.workflows.countLive('y'), 1);
        assert.equal(await store.workflows.countLive('z'), 0);
        await store.workflows.delete(wf('a', 'x'));
        assert.equal(await store.workflows.countLive('x'), 1);
        await store.workflows.expire(T0 + 3_600_000);
        assert.equal(await store.workflows.countLive('x'), 0);
        assert.equal(await store.workflows.countLive('y'), 0);
      });
    });

    describe('tenant quotas', () => {
      const limits = { callsPerSecond: 0, maxConcurrent: 2, leaseMs: 1000 };

      it('concurrency: leases up to the limit, freed by release or expiry', async (store) => {
        const q = store.quotas;
        assert.deepEqual(await q.acquireCall('x', 'l1', T0, limits), { ok: true });
        assert.deepEqual(await q.acquireCall('x', 'l2', T0, limits), { ok: true });
        const refused = await q.acquireCall('x', 'l3', T0, limits);
        assert.equal(refused.ok, false);
        if (!refused.ok) assert.equal(refused.reason, 'concurrency');
        assert.deepEqual(await q.acquireCall('y', 'l1', T0, limits), { ok: true }, 'per tenant');
        await q.releaseCall('x', 'l1');
        assert.deepEqual(await q.acquireCall('x', 'l3', T0, limits), { ok: true });
        // Renewed leases outlive their first expiry; the others lapse.
        await q.renewCalls('x', ['l2'], T0 + 900, 1000);
        assert.deepEqual(await q.acquireCall('x', 'l4', T0 + 1500, limits), { ok: true }, 'l3 lapsed');
        assert.equal((await q.acquireCall('x', 'l5', T0 + 1500, limits)).ok, false, 'l2 renewed, l4 held');
      });

      it('calls per second: a burst of one second, then the rate, with Retry-After', async (store) => {
        const q = store.quotas;
        const rate = { callsPerSecond: 5, maxConcurrent: 0, leaseMs: 1000 };
        for (let i = 0; i < 5; i++)
          assert.deepEqual(await q.acquireCall('r', `c${i}`, T0, rate), { ok: true });
        const refused = await q.acquireCall('r', 'c5', T0, rate);
        assert.equal(refused.ok, false);
        if (!refused.ok) {
          assert.equal(refused.reason, 'rate');
          assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 200, String(refused.retryAfterMs));
        }
        assert.deepEqual(
          await q.acquireCall('r', 'c6', T0 + 200, rate),
          { ok: true },
          'one more after 1/rate',
        );
        assert.equal((await q.acquireCall('r', 'c7', T0 + 200, rate)).ok, false);
        assert.deepEqual(await q.acquireCall('r', 'c8', T0 + 1400, rate), { ok: true });
      });

      it('a refused call consumes neither limit', async (store) => {
        const q = store.quotas;
        const both = { callsPerSecond: 1, maxConcurrent: 1, leaseMs: 10_000 };
        assert.deepEqual(await q.acquireCall('b', 'a', T0, both), { ok: true });
        assert.equal((await q.acquireCall('b', 'b', T0 + 5000, both)).ok, false, 'concurrency');
        await q.releaseCall('b', 'a');
        assert.deepEqual(await q.acquireCall('b', 'c', T0 + 5000, both), { ok: true }, 'rate not consumed');
      });

      it('queued messages: reservations up to the limit, freed by release, expiry or forgetWorkflow', async (store) => {
        const q = store.quotas;
        assert.deepEqual(await q.reserveMessage('m', 'w1/a/1', T0 + 1000, T0, 3), { ok: true });
        assert.deepEqual(await q.reserveMessage('m', 'w1/b/2', T0 + 5000, T0, 3), { ok: true });
        assert.deepEqual(await q.reserveMessage('m', 'w2/a/3', T0 + 5000, T0, 3), { ok: true });
        assert.deepEqual(await q.reserveMessage('m', 'w2/a/4', T0 + 5000, T0, 3), { ok: false, queued: 3 });
        assert.deepEqual(
          await q.reserveMessage('m', 'w2/a/4', T0 + 5000, T0 + 1000, 3),
          { ok: true },
          'expired',
        );
        await q.releaseMessage('m', 'w2/a/4');
        await q.forgetWorkflow('m', 'w1');
        assert.deepEqual(await q.reserveMessage('m', 'w3/a/5', T0 + 5000, T0 + 1000, 2), { ok: true });
        assert.deepEqual(await q.reserveMessage('m', 'w3/a/6', T0 + 5000, T0 + 1000, 2), {
          ok: false,
          queued: 2,
        });
      });
    });

    describe('lifecycle', () => {
      it('health is ok while the backing store answers', (store) => {
        assert.equal(store.health(), 'ok');
        return Promise.resolve();
      });

      it('close ends pending waits', async (store) => {
        const key = wf('w');
        await store.workflows.ensure(key, INIT, Date.now(), MAX);
        const started = Date.now();
        const waiting = store.messages.wait(key, 'r', undefined, 10, 30_000, new AbortController().signal);
        await sleep(50);
        await store.close();
        assert.deepEqual(await waiting, []);
        assert.ok(Date.now() - started < 5000);
      });
    });
  });
}
