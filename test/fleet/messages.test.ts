// Messages and statistics across a router fleet (issue 5, second "Done when"): three router
// processes on one Redis. A message sent through replica A is read through replica B by cursor,
// by long-poll and by SSE; a replica restarted mid-run (SIGTERM, as Kubernetes stops a pod)
// loses no message and no statistic; a replica killed mid-run (SIGKILL) loses no message.
//
// Statistics are batched per replica (50 ms) and flushed when a router closes, so a graceful
// restart loses none; a SIGKILL can lose the last batch of the killed replica, which is why the
// SIGKILL test checks messages only. Replicas' statistics meet in Redis within a flush
// interval, so status is polled with a deadline.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIConnectionError } from 'openai';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { agentCall, chat, http, type StatusView } from '../helpers/router.ts';
import {
  eventually,
  openSse,
  startFleet,
  type Fleet,
  type RouterProcess,
  type SseReader,
} from '../helpers/fleet.ts';

interface MessageView {
  id: string;
  from_agent: string;
  to_agent: string;
  payload: unknown;
}

interface ListView {
  data: MessageView[];
  next_cursor: string | null;
}

const inbox = (r: RouterProcess, wf: string, agent: string): string =>
  `${r.url}/v1/workflows/${wf}/agents/${agent}/messages`;

describe('fleet: messages and statistics across replicas', () => {
  let redis: RedisServer;
  let fleet: Fleet;

  before(async () => {
    redis = await startRedis();
    fleet = await startFleet({ redis: { url: redis.url }, prefix: 'wr:msg:' });
  });

  after(async () => {
    await fleet?.close();
    await redis?.stop();
  });

  test('sent through replica A, read through replica B by cursor, long-poll and SSE', async () => {
    const [a, b] = [fleet.router(0), fleet.router(1)];
    const sse = await openSse(`${inbox(b, 'relay', 'reader')}/stream`);
    assert.equal(sse.status, 200);
    let pollDone = false;
    const poll = http<ListView>('GET', `${inbox(b, 'relay', 'reader')}?wait_ms=30000`).finally(() => {
      pollDone = true;
    });
    // Give the long-poll time to block in Redis (not a timing assertion: it only orders the steps).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pollDone, false, 'the long-poll answered before anything was sent');

    const sent = await http<{ id: string }>('POST', inbox(a, 'relay', 'reader'), {
      from_agent: 'writer',
      payload: { text: 'across replicas' },
    });
    assert.equal(sent.status, 201, sent.text);
    const id = sent.body.id;

    const polled = await poll;
    assert.equal(polled.status, 200, polled.text);
    assert.deepEqual(
      polled.body.data.map((m) => [m.id, m.from_agent, m.payload]),
      [[id, 'writer', { text: 'across replicas' }]],
    );

    const pushed = await eventually('the SSE event on replica B', () =>
      sse.events.find((e) => e.event === 'message'),
    );
    sse.stop();
    assert.equal(pushed.id, id);
    assert.deepEqual((JSON.parse(pushed.data) as MessageView).payload, { text: 'across replicas' });

    const read = await http<ListView>('GET', inbox(b, 'relay', 'reader'));
    assert.deepEqual(
      read.body.data.map((m) => m.id),
      [id],
    );
    assert.equal(read.body.next_cursor, id);
    const after = await http<ListView>('GET', `${inbox(b, 'relay', 'reader')}?after=${id}`);
    assert.deepEqual(after.body.data, []);

    // A third replica reports what the other two did.
    const view = await eventually('the statistics of both replicas seen through a third', async () => {
      const res = await http<StatusView>('GET', `${fleet.router(2).url}/v1/workflows/relay/status`);
      return res.body.messages?.sent === 1 && res.body.messages.delivered >= 1 ? res.body : undefined;
    });
    assert.equal(view.messages.refused, 0);
  });

  test('a workflow deleted through one replica ends the inbox streams open on the others', async () => {
    const [a, b, c] = [fleet.router(0), fleet.router(1), fleet.router(2)];
    const sse = await openSse(`${inbox(b, 'doomed', 'reader')}/stream`);
    assert.equal(sse.status, 200);
    const sent = await http<{ id: string }>('POST', inbox(a, 'doomed', 'reader'), {
      from_agent: 'writer',
      payload: 'last words',
    });
    assert.equal(sent.status, 201, sent.text);
    await eventually('the message on replica B', () => sse.events.find((e) => e.id === sent.body.id));
    const deleted = await http('DELETE', `${c.url}/v1/workflows/doomed`);
    assert.equal(deleted.status, 200, deleted.text);
    await sse.closed;
    const end = sse.events.at(-1);
    assert.equal(end?.event, 'end');
    assert.deepEqual(JSON.parse(end.data), { reason: 'workflow deleted' });
  });

  /**
   * A producer that spreads calls and messages over the replicas that are up, `workers` at a
   * time, moving to the next replica when one refuses the connection (stopping or stopped), as a
   * Service would. `during` runs alongside (restarts), given a promise of the i-th step's start.
   */
  async function produce(
    wf: string,
    count: number,
    during: (reached: (i: number) => Promise<void>) => Promise<void>,
    workers = 4,
  ): Promise<{ acked: string[] }> {
    const acked: string[] = [];
    let next = 0;
    const up = (i: number): RouterProcess[] => {
      const order = fleet.routers.map((_, k) => fleet.router((i + k) % fleet.routers.length));
      return order.filter((r) => r.running());
    };
    const step = async (i: number): Promise<void> => {
      const agent = `agent-${i % 3}`;
      let called = false;
      for (const router of up(i)) {
        try {
          await chat(router.client, agentCall(wf, agent, `[${wf}] step ${i} of ${agent}`));
          called = true;
          break;
        } catch (error) {
          if (!(error instanceof APIConnectionError)) throw error;
        }
      }
      assert.ok(called, `step ${i}: no replica took the call`);
      for (const router of up(i + 1)) {
        let res;
        try {
          res = await http<{ id: string }>('POST', inbox(router, wf, 'sink'), {
            from_agent: agent,
            payload: { i },
          });
        } catch {
          continue; // refused or cut before an answer: never acknowledged, so try the next replica
        }
        assert.equal(res.status, 201, res.text);
        acked.push(res.body.id);
        return;
      }
      assert.fail(`step ${i}: no replica took the message`);
    };
    const reached = (i: number): Promise<void> =>
      eventually(`step ${i}`, () => (next >= i ? true : undefined), 120_000).then(() => undefined);
    await Promise.all([
      during(reached),
      ...Array.from({ length: workers }, async () => {
        while (next < count) await step(next++);
      }),
    ]);
    return { acked };
  }

  /** Reads the sink inbox by SSE, moving to the next running replica (with Last-Event-ID) when a stream ends. */
  function consume(wf: string): { ids: string[]; stop: () => Promise<void> } {
    const ids: string[] = [];
    let stopped = false;
    let current: SseReader | undefined;
    const loop = (async () => {
      for (let turn = 0; !stopped; turn++) {
        const router = fleet.router(turn % fleet.routers.length);
        if (!router.running()) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const last = ids.at(-1);
        try {
          current = await openSse(
            `${inbox(router, wf, 'sink')}/stream`,
            last ? { 'last-event-id': last } : {},
          );
        } catch {
          continue; // that replica went away between the check and the request
        }
        let seen = 0;
        const drain = (): void => {
          for (; seen < (current?.events.length ?? 0); seen++) {
            const e = current?.events[seen];
            if (e?.event === 'message' && e.id) ids.push(e.id);
          }
        };
        const timer = setInterval(drain, 10);
        await current.closed;
        clearInterval(timer);
        drain();
      }
    })();
    return {
      ids,
      stop: async () => {
        stopped = true;
        current?.stop();
        await loop;
      },
    };
  }

  /** What the pods did for workflow `wf`: calls and tokens, from their own records. */
  async function served(
    wf: string,
  ): Promise<{ calls: number; prompt: number; completion: number; byAgent: Map<string, number> }> {
    const all = (await Promise.all(fleet.pods.urls.map((_, i) => fleet.pods.records(i)))).flat();
    const mine = all.filter((r) => r.promptText.includes(`[${wf}] `) && r.status === 200 && !r.cancelled);
    const byAgent = new Map<string, number>();
    for (const r of mine) {
      const agent = /of (agent-\d)/.exec(r.promptText)?.[1] ?? '?';
      byAgent.set(agent, (byAgent.get(agent) ?? 0) + 1);
    }
    return {
      byAgent,
      calls: mine.length,
      prompt: mine.reduce((n, r) => n + r.promptTokens, 0),
      completion: mine.reduce((n, r) => n + r.completionTokens, 0),
    };
  }

  async function inboxIds(wf: string): Promise<string[]> {
    const res = await http<ListView>('GET', `${inbox(fleet.router(2), wf, 'sink')}?limit=1000`);
    assert.equal(res.status, 200, res.text);
    return res.body.data.map((m) => m.id);
  }

  test('a replica restarted mid-run (SIGTERM) loses no message and no statistic', async () => {
    const wf = 'restart-term';
    const total = 240;
    const consumer = consume(wf);
    // Calls and messages keep flowing (four at a time) while replicas stop and start.
    const { acked } = await produce(wf, total, async (reached) => {
      await reached(60);
      await fleet.router(0).stop();
      await reached(110);
      await fleet.router(0).start();
      await reached(150);
      await fleet.router(1).restart();
    });
    assert.equal(acked.length, total, 'every message was acknowledged by some replica');
    const stored = await inboxIds(wf);
    assert.deepEqual(
      acked.filter((id) => !stored.includes(id)),
      [],
      'acknowledged messages missing from the inbox',
    );
    await eventually('the SSE reader has every message', () =>
      acked.every((id) => consumer.ids.includes(id)) ? true : undefined,
    );
    await consumer.stop();
    assert.equal(new Set(consumer.ids).size, consumer.ids.length, 'SSE delivered a message twice');
    assert.deepEqual([...consumer.ids].sort(), [...stored].sort());

    // The pods' own records are the truth: a call cut by a stopping replica may have been served.
    const truth = await served(wf);
    assert.ok(truth.calls >= total, `the pods served ${truth.calls} calls`);
    const view = await eventually('statistics of every replica in Redis', async () => {
      const res = await http<StatusView>('GET', `${fleet.router(2).url}/v1/workflows/${wf}/status`);
      return res.body.calls === truth.calls && res.body.messages.sent === stored.length
        ? res.body
        : undefined;
    });
    assert.equal(view.errors, 0);
    assert.equal(view.inflight, 0, 'a call-start was counted without its end');
    assert.equal(view.prompt_tokens, truth.prompt);
    assert.equal(view.completion_tokens, truth.completion);
    assert.equal(view.messages.refused, 0);
    // Every message was read (by SSE and by the cursor read above): each counts as delivered.
    assert.ok(view.messages.delivered >= stored.length, `delivered ${view.messages.delivered}`);
    for (const [agent, calls] of truth.byAgent) assert.equal(view.agents[agent]?.calls, calls, agent);
  });

  test('a replica killed mid-run (SIGKILL) loses no acknowledged message', async () => {
    const wf = 'restart-kill';
    const total = 150;
    const consumer = consume(wf);
    const { acked } = await produce(wf, total, async (reached) => {
      await reached(50);
      await fleet.router(0).kill();
      await reached(100);
      await fleet.router(0).start();
    });
    const stored = await inboxIds(wf);
    assert.deepEqual(
      acked.filter((id) => !stored.includes(id)),
      [],
      'acknowledged messages missing from the inbox',
    );
    await eventually('the SSE reader has every message', () =>
      acked.every((id) => consumer.ids.includes(id)) ? true : undefined,
    );
    await consumer.stop();
    assert.equal(new Set(consumer.ids).size, consumer.ids.length, 'SSE delivered a message twice');
  });
});
