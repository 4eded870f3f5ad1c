// The router on Redis (issue 5's benchmark): `node bench/fleet.ts [--seconds S] [--rounds N]`.
//
//  1. Redis commands per call for a known workflow: before the call reaches the pod (a stub pod
//     notes when the call arrives; MONITOR's timestamps say what Redis executed until then;
//     target 0: the workflow and its pin come from the near-cache), then in all once the call's
//     statistics are written: commands the router sent (MONITOR) and commands Redis executed,
//     those inside Lua scripts included (INFO commandstats).
//  2. Router capacity with Redis against the in-memory store: the same router, pods and closed
//     loop (K connections, calls of 100 known workflows), rounds alternated so that a busy
//     machine weighs on both alike; target: Redis ≥ 90% of in-memory calls/s.
//  3. Agent messages through one router: 10 workflows × 10 agents, each agent's inbox read by an
//     SSE stream; messages POSTed one per request (point-to-point), as workflow broadcasts
//     (one request, every agent) or in batches (one request, --batch-size messages to one
//     workflow's agents in turn, POST /v1/workflows/{wid}/messages/batch). Delivery latency is from the POST's start to the SSE event, on
//     one clock. Capacity (closed loop), then a fixed rate: 10,000 messages/s, or 80% of the
//     capacity when that is lower. Target ≥ 10,000/s with p99 delivery under 10 ms.
//
// Children: redis-server (no persistence, a free port), the simulated pods (time scale 0: the
// router is the bottleneck) and router processes, each as a user runs it. Writes
// bench/results/fleet.json and prints the figures as a markdown table.

import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import { keepAliveAgent, postCompletion, type CallOutcome } from './client.ts';
import { startPods, startServerChild, type ServerChild } from './procs/children.ts';
import { summarize, type Summary } from './stats.ts';

export const MESSAGE_SENDS = ['point-to-point', 'broadcast', 'batch'] as const;
export type MessageSend = (typeof MESSAGE_SENDS)[number];

export interface FleetBenchOptions {
  /** Seconds of each timed measurement. */
  seconds: number;
  /** Alternated rounds of the capacity comparison (each store once per round). */
  rounds: number;
  /** Closed-loop connections of the capacity comparison. */
  connections: number;
  /** Calls measured one by one for the commands per call. */
  commandCalls: number;
  /** Workflows × agents of the message benchmark: one inbox and one SSE stream per agent. */
  messageWorkflows: number;
  agentsPerWorkflow: number;
  /** Closed-loop senders of the message capacity measurement. */
  senders: number;
  /** Messages per request of the batch mode. */
  batchSize: number;
  /** The send modes of the message measurement (all by default). */
  sends: readonly MessageSend[];
  /** Messages per second of the fixed-rate message measurement. */
  messageRate: number;
  /** The measurements to run (all by default): a rerun of one part skips the others' minutes. */
  only: readonly FleetPart[];
}

export const FLEET_PARTS = ['commands', 'capacity', 'messages'] as const;
export type FleetPart = (typeof FLEET_PARTS)[number];

export const DEFAULT_FLEET_OPTIONS: FleetBenchOptions = {
  seconds: 5,
  rounds: 3,
  connections: 32,
  commandCalls: 200,
  messageWorkflows: 10,
  agentsPerWorkflow: 10,
  senders: 64,
  batchSize: 100,
  sends: MESSAGE_SENDS,
  messageRate: 10_000,
  only: FLEET_PARTS,
};

export interface CommandsPerCall {
  calls: number;
  /**
   * Commands Redis executed between the request leaving the client and the pod receiving it,
   * counting those run inside Lua scripts (MONITOR timestamps: an INFO commandstats read at
   * the pod's arrival can come late enough to count the call's own statistics, flushed 50 ms on).
   */
  beforeProxying: { mean: number; max: number };
  /** Per call, once its statistics are written: commands the router sent (a script call is one). */
  sent: { mean: number; max: number };
  /** Per call: what Redis executed (INFO commandstats), counting each command inside a script. */
  executed: { mean: number; max: number };
  /** The same under load (closed loop): the batches group many calls. */
  underLoad: {
    calls: number;
    sentPerCall: number;
    executedPerCall: number;
    sentByCommand: Record<string, number>;
  };
}

export interface CapacityRound {
  store: 'memory' | 'redis';
  callsPerSec: number;
  failed: number;
  cpuMsPerCall: number;
  latency: Summary;
}

export interface CapacityComparison {
  rounds: CapacityRound[];
  memory: { callsPerSec: number; cpuMsPerCall: number };
  redis: { callsPerSec: number; cpuMsPerCall: number };
  /** Median Redis calls/s over median in-memory calls/s. */
  ratio: number;
}

export interface MessageMeasurement {
  /** One POST per message, one broadcast POST reaching every agent of a workflow, or one batch POST. */
  send: MessageSend;
  /** Closed loop (as fast as it goes) or a fixed offered rate. */
  mode: 'capacity' | 'fixed-rate';
  /** Offered messages/s (fixed-rate), NaN for the closed loop. */
  offered: number;
  /** Messages stored (201s, times the recipients of a broadcast). */
  sent: number;
  /** Requests refused (429) or failed (anything else, or no answer). */
  refused: number;
  failed: number;
  /** Messages read by the SSE streams. */
  delivered: number;
  /** Messages delivered per second over the measurement. */
  perSec: number;
  /** POST start → SSE event, ms. */
  delivery: Summary;
  routerCpuMsPerMessage: number;
}

export interface FleetBenchReport {
  startedAt: string;
  machine: { cpu: string; cores: number; node: string; loadAverageBefore: number[] };
  options: FleetBenchOptions;
  /** Absent when --only left the part out. */
  commands: CommandsPerCall | undefined;
  capacity: CapacityComparison | undefined;
  messages: MessageMeasurement[];
  targets: { name: string; target: string; measured: string; met: boolean }[];
}

const STUB_MODEL = 'stub-model';

function median(values: readonly number[]): number {
  return summarize(values).p50;
}

/** Commands executed so far, per command (INFO commandstats; INFO itself left out). */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] && m[1] !== 'info') counts.set(m[1], Number(m[2]));
  }
  return counts;
}

const total = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);

function difference(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [name, n] of after) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) diff[name] = d;
  }
  return diff;
}

function routerArgs(backends: readonly string[], model: string, extra: readonly string[]): string[] {
  return [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--static-backends',
    backends.join(','),
    '--static-models',
    model,
    '--log-level',
    'error',
    ...extra,
  ];
}

function startRouter(
  label: string,
  backends: readonly string[],
  model: string,
  extra: readonly string[],
): Promise<ServerChild> {
  return startServerChild('bin/workflow-router.js', routerArgs(backends, model, extra), { label });
}

/**
 * A stub pod: answers every completion at once, and tells `onArrival` when a call arrives
 * (before answering), so the benchmark can read Redis's counters at that moment.
 */
async function startStubPod(
  onArrival: () => Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const answer = JSON.stringify({
    id: 'cmpl-stub',
    object: 'chat.completion',
    created: 0,
    model: STUB_MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
  });
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    if (req.url === '/metrics') return void res.end('');
    req.resume();
    req.on('end', () => {
      void onArrival().then(() => {
        res.setHeader('content-type', 'application/json');
        res.end(answer);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function callBody(model: string, workflow: string, i: number): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: `Step ${i % 1000} of the plan.` }],
    max_tokens: 4,
    workflow_metadata: { workflow_id: workflow, agent_id: `agent-${i % 3}`, context_sharing: 'auto' },
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Counts, through MONITOR, the commands clients send (a script call is one; the commands it runs
 * show as `lua`), and keeps the server's timestamp (epoch ms) of every command executed while
 * `record` is on.
 */
async function monitorCommands(url: string): Promise<{
  sent: () => number;
  sentByCommand: () => Map<string, number>;
  /** Commands (sent or run by scripts) Redis executed in [from, to] (epoch ms), of those recorded. */
  executedBetween: (from: number, to: number) => number;
  record: (on: boolean) => void;
  stop: () => void;
}> {
  const client = new Redis(url);
  const monitor = await client.monitor();
  let sent = 0;
  let recording = false;
  const times: number[] = [];
  const byCommand = new Map<string, number>();
  monitor.on('monitor', (time: string, args: string[], source: string) => {
    const name = (args[0] ?? '').toLowerCase();
    if (name === 'info' || name === 'monitor') return;
    if (recording) times.push(Number(time) * 1000);
    if (source === 'lua') return;
    sent += 1;
    byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
  });
  return {
    sent: () => sent,
    sentByCommand: () => new Map(byCommand),
    executedBetween: (from, to) => times.filter((t) => t >= from && t <= to).length,
    record: (on) => {
      recording = on;
      if (!on) times.length = 0;
    },
    stop: () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

async function measureCommands(redisServer: RedisServer, o: FleetBenchOptions): Promise<CommandsPerCall> {
  let arrivedAt = 0;
  const stub = await startStubPod(() => {
    arrivedAt = Date.now();
    return Promise.resolve();
  });
  const router = await startRouter('router (commands per call)', [stub.url], STUB_MODEL, [
    '--redis-url',
    redisServer.url,
    '--redis-prefix',
    'wr:bench-commands:',
  ]);
  const monitor = await monitorCommands(redisServer.url);
  const redis = new Redis(redisServer.url);
  const agent = keepAliveAgent();
  const url = new URL('/v1/chat/completions', router.url);
  const send = (workflow: string, i: number): Promise<CallOutcome> =>
    postCompletion({ agent, url, body: callBody(STUB_MODEL, workflow, i), headers: {}, stream: false });
  try {
    // The workflow becomes known: created and pinned by its first call, then in the near-cache.
    for (let i = 0; i < 3; i++) await send('known', i);
    await sleep(200);
    const before: number[] = [];
    const sent: number[] = [];
    const executed: number[] = [];
    for (let i = 0; i < o.commandCalls; i++) {
      const [sent0, executed0] = [monitor.sent(), total(await commandStats(redis))];
      monitor.record(true);
      const sentAt = Date.now();
      const outcome = await send('known', i);
      if (!outcome.ok) throw new Error(`call failed: ${outcome.error ?? outcome.status}`);
      // The statistics batch flushes 50 ms after the call; wait it out so it is counted here.
      await sleep(120);
      // Redis's clock and ours are the machine's; a millisecond of slack either side.
      before.push(monitor.executedBetween(sentAt - 1, arrivedAt + 1));
      monitor.record(false);
      sent.push(monitor.sent() - sent0);
      executed.push(total(await commandStats(redis)) - executed0);
    }
    // Under load: 100 known workflows in a closed loop.
    for (let w = 0; w < 100; w++) await send(`load-${w}`, w);
    await sleep(200);
    const [sent0, executed0, byCommand0] = [
      monitor.sent(),
      total(await commandStats(redis)),
      monitor.sentByCommand(),
    ];
    let calls = 0;
    const end = performance.now() + o.seconds * 1000;
    await Promise.all(
      Array.from({ length: o.connections }, async (_, c) => {
        for (let i = c; performance.now() < end; i += o.connections) {
          if ((await send(`load-${i % 100}`, i)).ok) calls += 1;
        }
      }),
    );
    await sleep(300);
    const stat = (v: number[]) => ({ mean: summarize(v).mean, max: summarize(v).max });
    return {
      calls: o.commandCalls,
      beforeProxying: stat(before),
      sent: stat(sent),
      executed: stat(executed),
      underLoad: {
        calls,
        sentPerCall: (monitor.sent() - sent0) / calls,
        executedPerCall: (total(await commandStats(redis)) - executed0) / calls,
        sentByCommand: difference(monitor.sentByCommand(), byCommand0),
      },
    };
  } finally {
    monitor.stop();
    agent.destroy();
    await router.close();
    await stub.close();
    await redis.quit();
  }
}

async function closedLoop(
  model: string,
  routerUrl: string,
  connections: number,
  seconds: number,
  workflows: number,
): Promise<{ outcomes: CallOutcome[]; seconds: number }> {
  const agent = keepAliveAgent();
  const url = new URL('/v1/chat/completions', routerUrl);
  const outcomes: CallOutcome[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      for (let i = c; performance.now() < end; i += connections) {
        outcomes.push(
          await postCompletion({
            agent,
            url,
            body: callBody(model, `cap-${i % workflows}`, i),
            headers: {},
            stream: false,
          }),
        );
      }
    }),
  );
  agent.destroy();
  return { outcomes, seconds: (performance.now() - start) / 1000 };
}

async function measureCapacity(redisServer: RedisServer, o: FleetBenchOptions): Promise<CapacityComparison> {
  const pods = await startPods({ pods: 2, host: '127.0.0.1', sim: { timeScale: 0, logLevel: 'error' } });
  const model = pods.models[0] ?? '';
  const routers: Record<CapacityRound['store'], ServerChild> = {
    memory: await startRouter('router (memory)', pods.urls, model, []),
    redis: await startRouter('router (redis)', pods.urls, model, [
      '--redis-url',
      redisServer.url,
      '--redis-prefix',
      'wr:bench-capacity:',
    ]),
  };
  const rounds: CapacityRound[] = [];
  try {
    for (const store of ['memory', 'redis'] as const) {
      // Warm-up: the workflows exist, are pinned and (Redis) sit in the near-cache.
      await closedLoop(model, routers[store].url, o.connections, Math.max(1, o.seconds / 3), 100);
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const store of ['memory', 'redis'] as const) {
        const router = routers[store];
        const cpu0 = router.cpuSeconds();
        const { outcomes, seconds } = await closedLoop(model, router.url, o.connections, o.seconds, 100);
        const cpu = router.cpuSeconds() - cpu0;
        const ok = outcomes.filter((c) => c.ok);
        rounds.push({
          store,
          callsPerSec: ok.length / seconds,
          failed: outcomes.length - ok.length,
          cpuMsPerCall: (cpu * 1000) / outcomes.length,
          latency: summarize(ok.map((c) => c.endAt - c.sentAt)),
        });
      }
    }
  } finally {
    await Promise.all(Object.values(routers).map((r) => r.close()));
    await pods.close();
  }
  const of = (store: CapacityRound['store']) => {
    const mine = rounds.filter((r) => r.store === store);
    return {
      callsPerSec: median(mine.map((r) => r.callsPerSec)),
      cpuMsPerCall: median(mine.map((r) => r.cpuMsPerCall)),
    };
  };
  const memory = of('memory');
  const redis = of('redis');
  return { rounds, memory, redis, ratio: redis.callsPerSec / memory.callsPerSec };
}

/** One SSE stream of an inbox; calls `onMessage` with each message's payload as it arrives. */
function openInboxStream(
  url: URL,
  agent: http.Agent,
  onMessage: (payload: { t: number }) => void,
): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE ${url.pathname}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!event.includes('event: message')) continue;
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (data) onMessage((JSON.parse(data.slice(6)) as { payload: { t: number } }).payload);
        }
      });
      res.on('error', () => undefined);
      resolve(() => req.destroy());
    });
    req.on('error', (e) => reject(e));
  });
}

/** POSTs a JSON body; resolves with the status and the parsed answer (never rejects). */
function postJson(agent: http.Agent, url: URL, body: string): Promise<{ status: number; answer: unknown }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let answer: unknown;
          try {
            answer = JSON.parse(text);
          } catch {
            answer = undefined;
          }
          resolve({ status: res.statusCode ?? 0, answer });
        });
        res.on('error', () => resolve({ status: 0, answer: undefined }));
      },
    );
    req.on('error', () => resolve({ status: 0, answer: undefined }));
    req.end(body);
  });
}

async function measureMessages(
  redisServer: RedisServer,
  o: FleetBenchOptions,
): Promise<MessageMeasurement[]> {
  const pods = await startPods({ pods: 1, host: '127.0.0.1', sim: { timeScale: 0, logLevel: 'error' } });
  const router = await startRouter('router (messages)', pods.urls, pods.models[0] ?? '', [
    '--redis-url',
    redisServer.url,
    '--redis-prefix',
    'wr:bench-messages:',
    '--max-message-queue-size',
    '1000000',
  ]);
  const workflows = Array.from({ length: o.messageWorkflows }, (_, w) => `msg-${w}`);
  const inboxes = workflows.flatMap((workflow) =>
    Array.from({ length: o.agentsPerWorkflow }, (_, a) => ({ workflow, agent: `reader-${a}` })),
  );
  const streamAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const sendAgent = keepAliveAgent();
  let latencies: number[] = [];
  const closers = await Promise.all(
    inboxes.map((box) =>
      openInboxStream(
        new URL(`/v1/workflows/${box.workflow}/agents/${box.agent}/messages/stream`, router.url),
        streamAgent,
        (payload) => latencies.push(performance.now() - payload.t),
      ),
    ),
  );
  const targets = {
    'point-to-point': inboxes.map(
      (box) => new URL(`/v1/workflows/${box.workflow}/agents/${box.agent}/messages`, router.url),
    ),
    broadcast: workflows.map((workflow) => new URL(`/v1/workflows/${workflow}/messages`, router.url)),
    batch: workflows.map((workflow) => new URL(`/v1/workflows/${workflow}/messages/batch`, router.url)),
  };
  /** The body of one request: one message, or a batch to the workflow's agents in turn. */
  const bodyOf = (kind: MessageSend): string => {
    const message = { from_agent: 'writer', payload: { t: performance.now() }, ttl_seconds: 60 };
    if (kind !== 'batch') return JSON.stringify(message);
    const messages = Array.from({ length: o.batchSize }, (_, j) => ({
      to_agent: `reader-${j % o.agentsPerWorkflow}`,
      ...message,
    }));
    return JSON.stringify({ messages });
  };
  /** Messages a 201 stored: one, a broadcast's recipients, or a batch's messages. */
  const storedBy = (kind: MessageSend, answer: unknown): number => {
    if (kind === 'point-to-point') return 1;
    if (kind === 'broadcast') return Object.keys((answer as { ids?: object } | undefined)?.ids ?? {}).length;
    return ((answer as { data?: unknown[] } | undefined)?.data ?? []).length;
  };
  let sent = 0;
  let refused = 0;
  let failed = 0;
  let inflight = 0;
  const post = async (kind: MessageMeasurement['send'], i: number): Promise<void> => {
    const urls = targets[kind];
    inflight += 1;
    const { status, answer } = await postJson(sendAgent, urls[i % urls.length] as URL, bodyOf(kind));
    inflight -= 1;
    if (status === 201) sent += storedBy(kind, answer);
    else if (status === 429) refused += 1;
    else failed += 1;
  };
  const measure = async (
    send: MessageMeasurement['send'],
    mode: MessageMeasurement['mode'],
    offered: number,
    run: () => Promise<void>,
  ): Promise<MessageMeasurement> => {
    latencies = [];
    sent = 0;
    refused = 0;
    failed = 0;
    const cpu0 = router.cpuSeconds();
    const start = performance.now();
    await run();
    const sending = (performance.now() - start) / 1000;
    // What was sent in the last moments is still on its way: wait for it (bounded).
    const deadline = performance.now() + 3000;
    while (latencies.length < sent && performance.now() < deadline) await sleep(5);
    const cpu = router.cpuSeconds() - cpu0;
    return {
      send,
      mode,
      offered,
      sent,
      refused,
      failed,
      delivered: latencies.length,
      perSec: latencies.length / Math.max(sending, (performance.now() - start) / 1000 - 0.05),
      delivery: summarize(latencies),
      routerCpuMsPerMessage: (cpu * 1000) / Math.max(1, sent),
    };
  };
  const closedLoop = async (kind: MessageMeasurement['send'], connections: number, seconds: number) => {
    const end = performance.now() + seconds * 1000;
    let i = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) await post(kind, i++);
      }),
    );
  };
  /** Open loop at `rate` POSTs/s; a POST due while 512 are unanswered is skipped (the offered rate says so). */
  const fixedRate = async (kind: MessageMeasurement['send'], rate: number, seconds: number) => {
    const due = Math.round(rate * seconds);
    const gap = 1000 / rate;
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let fired = 0;
    let skipped = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (fired < due && start + fired * gap <= now) {
          if (inflight < 512) pending.push(post(kind, fired));
          else skipped += 1;
          fired += 1;
        }
        if (fired < due) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    await Promise.all(pending);
    return skipped;
  };
  const results: MessageMeasurement[] = [];
  try {
    // Every inbox exists before the broadcasts (a broadcast reaches the agents a workflow knows).
    await Promise.all(targets['point-to-point'].map((_, i) => post('point-to-point', i)));
    await closedLoop('point-to-point', o.senders, Math.max(1, o.seconds / 3));
    for (const kind of o.sends) {
      const fanOut = { 'point-to-point': 1, broadcast: o.agentsPerWorkflow, batch: o.batchSize }[kind];
      // A batch carries many messages: a few connections keep the router busy (8 for 64 senders).
      const connections =
        kind === 'batch'
          ? Math.max(2, Math.round(o.senders / 8))
          : Math.max(1, Math.round(o.senders / fanOut));
      await sleep(500);
      const capacity = await measure(kind, 'capacity', NaN, () => closedLoop(kind, connections, o.seconds));
      results.push(capacity);
      // At the target rate if the router sustains it, else at 80% of what it sustained.
      const rate = Math.min(o.messageRate, 0.8 * capacity.perSec);
      await sleep(500);
      let skipped = 0;
      const fixed = await measure(kind, 'fixed-rate', rate, async () => {
        skipped = await fixedRate(kind, rate / fanOut, o.seconds);
      });
      fixed.offered = rate * (1 - skipped / Math.max(1, Math.round((rate / fanOut) * o.seconds)));
      results.push(fixed);
    }
    return results;
  } finally {
    for (const close of closers) close();
    streamAgent.destroy();
    sendAgent.destroy();
    await router.close();
    await pods.close();
  }
}

function checkTargets(r: Omit<FleetBenchReport, 'targets'>): FleetBenchReport['targets'] {
  const fixedRuns = r.messages.filter((m) => m.mode === 'fixed-rate');
  const fixed = fixedRuns.find((m) => m.send === 'point-to-point');
  const fanOut = fixedRuns.find((m) => m.send === 'broadcast');
  const batched = fixedRuns.find((m) => m.send === 'batch');
  const f1 = (n: number): string => n.toFixed(1);
  const { commands, capacity } = r;
  return [
    ...(commands
      ? [
          {
            name: 'Redis commands before proxying, known workflow',
            target: '0',
            measured: `${f1(commands.beforeProxying.mean)} (max ${commands.beforeProxying.max})`,
            met: commands.beforeProxying.max === 0,
          },
        ]
      : []),
    ...(capacity
      ? [
          {
            name: 'router calls/s with Redis vs in-memory',
            target: '≥ 90%',
            measured: `${(capacity.ratio * 100).toFixed(0)}% (${capacity.redis.callsPerSec.toFixed(0)} vs ${capacity.memory.callsPerSec.toFixed(0)})`,
            met: capacity.ratio >= 0.9,
          },
        ]
      : []),
    ...(r.messages.length === 0 ? [] : [fixed, fanOut, batched]).map((m) => ({
      name: `messages/s through one router (${m?.send ?? '?'}), SSE delivery`,
      target: '≥ 10,000/s, p99 < 10 ms',
      measured: m ? `${m.perSec.toFixed(0)}/s, p99 ${f1(m.delivery.p99)} ms` : 'not run',
      met: m !== undefined && m.perSec >= 10_000 * 0.98 && m.delivery.p99 < 10,
    })),
  ];
}

/** Runs the three measurements, each on a fresh Redis. */
export async function runFleetBench(
  options: FleetBenchOptions,
  onProgress: (label: string) => void = () => undefined,
): Promise<FleetBenchReport> {
  const startedAt = new Date().toISOString();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    loadAverageBefore: loadavg(),
  };
  const withRedis = async <T>(run: (redis: RedisServer) => Promise<T>): Promise<T> => {
    const redis = await startRedis();
    try {
      return await run(redis);
    } finally {
      await redis.stop();
    }
  };
  const part = async <T>(
    name: FleetPart,
    label: string,
    run: (redis: RedisServer) => Promise<T>,
  ): Promise<T | undefined> => {
    if (!options.only.includes(name)) return undefined;
    onProgress(label);
    return withRedis(run);
  };
  const commands = await part('commands', 'Redis commands per call', (redis) =>
    measureCommands(redis, options),
  );
  const capacity = await part('capacity', 'router capacity: Redis vs in-memory', (redis) =>
    measureCapacity(redis, options),
  );
  const messages =
    (await part('messages', 'messages through one router', (redis) => measureMessages(redis, options))) ?? [];
  const report = { startedAt, machine, options, commands, capacity, messages };
  return { ...report, targets: checkTargets(report) };
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '–');

function commandsMarkdown(c: CommandsPerCall, connections: number): string[] {
  const byCommand = Object.entries(c.underLoad.sentByCommand)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return [
    `Redis commands per call of a known workflow (${c.calls} calls one at a time): ${f1(c.beforeProxying.mean)} before the call reaches the pod; ${f1(c.sent.mean)} sent by the router once its statistics are written (${f1(c.executed.mean)} executed, counting those inside Lua scripts). Under load (${connections} connections, ${c.underLoad.calls} calls over 100 workflows): ${c.underLoad.sentPerCall.toFixed(2)} sent per call (${byCommand}), ${c.underLoad.executedPerCall.toFixed(1)} executed.`,
    '',
  ];
}

function capacityMarkdown(c: CapacityComparison): string[] {
  return [
    '| store | calls/s (median) | router CPU ms/call | rounds (calls/s) |',
    '|---|---|---|---|',
    ...(['memory', 'redis'] as const).map((store) => {
      const m = c[store];
      const rounds = c.rounds.filter((x) => x.store === store);
      return `| ${store} | ${f0(m.callsPerSec)} | ${m.cpuMsPerCall.toFixed(3)} | ${rounds.map((x) => f0(x.callsPerSec)).join(', ')} |`;
    }),
    '',
  ];
}

/** The report as markdown: targets, then the details. */
export function fleetMarkdown(r: FleetBenchReport): string {
  const lines = [
    '| target | goal | measured | |',
    '|---|---|---|---|',
    ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'met' : 'missed'} |`),
    '',
    ...(r.commands ? commandsMarkdown(r.commands, r.options.connections) : []),
    ...(r.capacity ? capacityMarkdown(r.capacity) : []),
    '| messages | load | offered/s | delivered/s | p50 ms | p99 ms | max ms | refused | failed | router CPU ms/msg |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.messages.map(
      (m) =>
        `| ${m.send} | ${m.mode} | ${Number.isFinite(m.offered) ? f0(m.offered) : 'closed loop'} | ${f0(m.perSec)} | ${f1(m.delivery.p50)} | ${f1(m.delivery.p99)} | ${f1(m.delivery.max)} | ${m.refused} | ${m.failed} | ${m.routerCpuMsPerMessage.toFixed(3)} |`,
    ),
    '',
    `${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, ${r.startedAt.slice(0, 10)}, load average ${r.machine.loadAverageBefore[0]?.toFixed(1)} at the start.`,
  ];
  return lines.join('\n');
}

const USAGE = `Usage: node bench/fleet.ts [options]

The router on Redis: commands per call, capacity against in-memory, messages through SSE.

  --seconds <s>        seconds of each timed measurement [${DEFAULT_FLEET_OPTIONS.seconds}]
  --rounds <n>         alternated capacity rounds per store [${DEFAULT_FLEET_OPTIONS.rounds}]
  --connections <n>    closed-loop connections for calls [${DEFAULT_FLEET_OPTIONS.connections}]
  --workflows <n>      workflows of the message benchmark [${DEFAULT_FLEET_OPTIONS.messageWorkflows}]
  --agents <n>         agents (inboxes, SSE streams) per workflow [${DEFAULT_FLEET_OPTIONS.agentsPerWorkflow}]
  --senders <n>        closed-loop message senders [${DEFAULT_FLEET_OPTIONS.senders}]
  --sends <modes>      comma-separated send modes: ${MESSAGE_SENDS.join(', ')} [all]
  --batch-size <n>     messages per request of the batch mode (≤ 1000) [${DEFAULT_FLEET_OPTIONS.batchSize}]
  --message-rate <n>   messages/s of the fixed-rate measurement [${DEFAULT_FLEET_OPTIONS.messageRate}]
  --only <parts>       comma-separated parts to run: ${FLEET_PARTS.join(', ')} [all]
  --out <dir>          results directory [bench/results]
  -h, --help           this help
`;

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      workflows: { type: 'string' },
      agents: { type: 'string' },
      senders: { type: 'string' },
      'batch-size': { type: 'string' },
      sends: { type: 'string' },
      'message-rate': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const number = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!(n > 0)) {
      process.stderr.write(
        `bench/fleet: --${name} must be a positive number, got ${JSON.stringify(value)}\n`,
      );
      process.exit(2);
    }
    return n;
  };
  const parts = (value: string | undefined): readonly FleetPart[] => {
    if (value === undefined) return FLEET_PARTS;
    const names = value.split(',').map((p) => p.trim());
    const known = (p: string): p is FleetPart => (FLEET_PARTS as readonly string[]).includes(p);
    const unknown = names.filter((p) => !known(p));
    if (unknown.length > 0 || names.length === 0) {
      process.stderr.write(
        `bench/fleet: --only takes ${FLEET_PARTS.join(', ')}; got ${JSON.stringify(value)}\n`,
      );
      process.exit(2);
    }
    return names.filter(known);
  };
  const sends = (value: string | undefined): readonly MessageSend[] => {
    if (value === undefined) return MESSAGE_SENDS;
    const names = value.split(',').map((p) => p.trim());
    const known = (p: string): p is MessageSend => (MESSAGE_SENDS as readonly string[]).includes(p);
    if (names.some((p) => !known(p))) {
      process.stderr.write(
        `bench/fleet: --sends takes ${MESSAGE_SENDS.join(', ')}; got ${JSON.stringify(value)}\n`,
      );
      process.exit(2);
    }
    return names.filter(known);
  };
  const d = DEFAULT_FLEET_OPTIONS;
  const options: FleetBenchOptions = {
    ...d,
    seconds: number('seconds', values.seconds, d.seconds),
    rounds: number('rounds', values.rounds, d.rounds),
    connections: number('connections', values.connections, d.connections),
    messageWorkflows: number('workflows', values.workflows, d.messageWorkflows),
    agentsPerWorkflow: number('agents', values.agents, d.agentsPerWorkflow),
    senders: number('senders', values.senders, d.senders),
    batchSize: Math.min(1000, Math.round(number('batch-size', values['batch-size'], d.batchSize))),
    messageRate: number('message-rate', values['message-rate'], d.messageRate),
    only: parts(values.only),
    sends: sends(values.sends),
  };
  const report = await runFleetBench(options, (label) => process.stdout.write(`… ${label}\n`));
  const out = values.out ?? 'bench/results';
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'fleet.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = fleetMarkdown(report);
  writeFileSync(join(out, 'fleet.md'), `${markdown}\n`);
  process.stdout.write(`\n${markdown}\n\nresults: ${join(out, 'fleet')}.{json,md}\n`);
  process.exit(0);
}
