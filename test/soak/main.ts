// Soak (`make soak`, not in CI): one router process on Redis in front of two simulated pods,
// driven for 10 minutes at a steady rate with a mix of non-streamed calls, streams and agent
// messages (sends, cursor reads and long polls) over workflows that live a while and are
// replaced. The router's resident memory is sampled every 2 s. The garbage collector makes it a
// sawtooth: V8 lets the heap grow up to a limit it derives from the live data, collects, and
// sometimes gives pages back. What a leak raises is that ceiling, and it is what a memory limit
// must cover, so the peak of the two minutes after the 2-minute warm-up is compared with the
// peak of the last two minutes: it must grow by less than 10%, with zero failed requests.
// The floors and a least-squares trend are reported too. Prints a summary and the RSS series
// (the README's figures come from it) and exits 1 on failure.
//
//   node test/soak/main.ts [--seconds 600] [--warmup 120] [--rate 40]

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { startRedis } from '../helpers/redis.ts';
import { MODEL } from '../helpers/router.ts';
import { spawnRouter, spawnSims } from '../reliability/helpers.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.SOAK_SECONDS ?? '600' },
    warmup: { type: 'string', default: process.env.SOAK_WARMUP ?? '120' },
    rate: { type: 'string', default: process.env.SOAK_RATE ?? '40' },
  },
});
const SECONDS = Number(values.seconds);
const WARMUP = Math.min(Number(values.warmup), SECONDS / 2);
/** Operations per second, all kinds together. */
const RATE = Number(values.rate);
const WORKFLOWS = 100;
/** Operations a workflow lives for before it is deleted and replaced (a steady state). */
const LIFETIME = 40;
const AGENTS = ['planner', 'researcher', 'writer', 'critic'];

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Least-squares line through (x, y) points: y = a + b x. */
function fit(points: readonly { x: number; y: number }[]): { a: number; b: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { a: my - b * mx, b };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const redis = await startRedis();
const sims = await spawnSims(2, ['--time-scale', '0.05']);
const router = await spawnRouter([
  '--static-backends',
  sims.urls.join(','),
  '--static-models',
  MODEL,
  '--redis-url',
  redis.url,
  '--redis-prefix',
  'wr:soak:',
  '--log-level',
  'warn',
  '--message-ttl',
  '60',
  '--workflow-ttl',
  '300',
]);
const pid = router.child.pid ?? 0;
// Idle sockets are dropped well before the router's keep-alive timeout (65 s), so a request
// never goes out on a connection the router is closing at that moment.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 20_000 });

interface Outcome {
  kind: string;
  ok: boolean;
  ms: number;
  detail: string;
}

function request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: router.port,
        method,
        path,
        agent,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => resolve({ status: 0, text: e.message }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(payload);
  });
}

let sequence = 0;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/**
 * One operation of the mix: 40% calls, 20% streams, 25% message sends, 15% reads and long
 * polls, over 100 live workflows; each lives for 40 operations, then is deleted and replaced,
 * so shared contexts, inboxes and statistics reach a steady state as in a real fleet.
 */
async function operation(): Promise<Outcome> {
  const n = (sequence += 1);
  const slot = n % WORKFLOWS;
  const generation = Math.floor(n / WORKFLOWS / LIFETIME);
  const wf = `soak-${slot}-g${generation}`;
  if (generation > 0 && Math.floor(n / WORKFLOWS) % LIFETIME === 0) {
    const started = performance.now();
    const res = await request('DELETE', `/v1/workflows/soak-${slot}-g${generation - 1}`);
    const ok = res.status === 200 || res.status === 404;
    return { kind: 'delete', ok, ms: performance.now() - started, detail: res.text };
  }
  const from = pick(AGENTS);
  const to = pick(AGENTS.filter((a) => a !== from));
  const roll = Math.random();
  const started = performance.now();
  const done = (kind: string, ok: boolean, detail: string): Outcome => ({
    kind,
    ok,
    ms: performance.now() - started,
    detail,
  });
  const call = {
    model: MODEL,
    messages: [
      { role: 'system', content: `Workflow ${wf}, topic ${slot}. ${'Shared background. '.repeat(30)}` },
      { role: 'user', content: `${from}: step ${n}` },
    ],
    max_tokens: 16,
    workflow_metadata: {
      workflow_id: wf,
      agent_id: from,
      context_sharing: slot % 3 === 0 ? 'broadcast' : 'auto',
    },
  };
  if (roll < 0.4) {
    const res = await request('POST', '/v1/chat/completions', call);
    return done('call', res.status === 200, res.text.slice(0, 200));
  }
  if (roll < 0.6) {
    const res = await request('POST', '/v1/chat/completions', { ...call, stream: true });
    const ok = res.status === 200 && res.text.includes('data: [DONE]') && !res.text.includes('event: error');
    return done('stream', ok, res.text.slice(-200));
  }
  if (roll < 0.85) {
    const res = await request('POST', `/v1/workflows/${wf}/agents/${to}/messages`, {
      from_agent: from,
      payload: { step: n, note: 'x'.repeat(200) },
    });
    // A full inbox is a correct answer under a steady rate (readers are slower than senders).
    return done('send', res.status === 201 || res.status === 429, res.text.slice(0, 200));
  }
  const wait = roll < 0.93 ? 0 : 200;
  const res = await request('GET', `/v1/workflows/${wf}/agents/${to}/messages?limit=50&wait_ms=${wait}`);
  return done(wait > 0 ? 'poll' : 'read', res.status === 200, res.text.slice(0, 200));
}

const outcomes: Outcome[] = [];
const samples: { at: number; rss: number }[] = [];
const start = Date.now();
const failures: Outcome[] = [];
const pending = new Set<Promise<void>>();
const sampler = setInterval(() => samples.push({ at: (Date.now() - start) / 1000, rss: rssKiB(pid) }), 2000);
let lastReport = start;

process.stdout.write(
  `soak: ${SECONDS} s at ${RATE} ops/s (warm-up ${WARMUP} s), router pid ${pid}, ${WORKFLOWS} workflows\n`,
);
// A steady rate: operations start on a fixed schedule whatever their latency.
for (let i = 0; Date.now() - start < SECONDS * 1000; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const p = operation().then((o) => {
    outcomes.push(o);
    if (!o.ok) failures.push(o);
  });
  pending.add(p);
  void p.finally(() => pending.delete(p));
  if (Date.now() - lastReport >= 60_000) {
    lastReport = Date.now();
    const last = samples.at(-1);
    process.stdout.write(
      `  ${Math.round((Date.now() - start) / 1000)} s: ${outcomes.length} ops, ${failures.length} failed, rss ${Math.round((last?.rss ?? 0) / 1024)} MiB\n`,
    );
  }
}
await Promise.all(pending);
clearInterval(sampler);
samples.push({ at: (Date.now() - start) / 1000, rss: rssKiB(pid) });

const afterWarmup = samples.filter((s) => s.at >= WARMUP && s.at < WARMUP + 60).map((s) => s.rss);
const lastMinute = samples.filter((s) => s.at >= SECONDS - 60).map((s) => s.rss);
const line = fit(samples.filter((s) => s.at >= WARMUP).map((s) => ({ x: s.at, y: s.rss })));
const trendBase = line.a + line.b * WARMUP;
const trendEnd = line.a + line.b * SECONDS;
const steady = samples.filter((s) => s.at >= WARMUP).map((s) => s.rss);
const window = Math.min(120, (SECONDS - WARMUP) / 2);
const first = samples.filter((s) => s.at >= WARMUP && s.at < WARMUP + window).map((s) => s.rss);
const last = samples.filter((s) => s.at >= SECONDS - window).map((s) => s.rss);
const base = Math.max(...first);
const end = Math.max(...last);
const growth = base > 0 ? (end - base) / base : 0;
const byKind = new Map<string, number[]>();
for (const o of outcomes) byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o.ms]);

process.stdout.write(`\nsoak summary (${SECONDS} s, ${RATE} ops/s):\n`);
process.stdout.write(`| kind | count | p50 ms | p99 ms |\n|---|---|---|---|\n`);
for (const [kind, ms] of [...byKind].sort()) {
  process.stdout.write(
    `| ${kind} | ${ms.length} | ${percentile(ms, 50).toFixed(1)} | ${percentile(ms, 99).toFixed(1)} |\n`,
  );
}
process.stdout.write(
  `\noperations: ${outcomes.length}, failed: ${failures.length}\n` +
    `router RSS: ${((samples[0]?.rss ?? 0) / 1024).toFixed(0)} MiB at start; after warm-up min ` +
    `${(Math.min(...steady) / 1024).toFixed(0)}, max ${(Math.max(...steady) / 1024).toFixed(0)} MiB; medians ` +
    `${(median(afterWarmup) / 1024).toFixed(0)} MiB (first minute after warm-up), ` +
    `${(median(lastMinute) / 1024).toFixed(0)} MiB (last minute)\n` +
    `trend after warm-up (least squares): ${(trendBase / 1024).toFixed(1)} -> ${(trendEnd / 1024).toFixed(1)} MiB\n` +
    `floor (lowest sample): ${(Math.min(...first) / 1024).toFixed(0)} MiB in ${WARMUP}-${WARMUP + window} s, ` +
    `${(Math.min(...last) / 1024).toFixed(0)} MiB in the last ${window} s\n` +
    `peak (highest sample): ${(base / 1024).toFixed(1)} MiB in ${WARMUP}-${WARMUP + window} s, ` +
    `${(end / 1024).toFixed(1)} MiB in the last ${window} s: ${(growth * 100).toFixed(1)}% growth (limit 10%)\n` +
    `RSS every 2 s, MiB: ${samples.map((s) => Math.round(s.rss / 1024)).join(' ')}\n`,
);
for (const f of failures.slice(0, 5)) process.stdout.write(`  failed ${f.kind}: ${f.detail}\n`);

agent.destroy();
await router.kill('SIGTERM');
await sims.kill();
await redis.stop();
const ok = failures.length === 0 && growth < 0.1;
process.stdout.write(ok ? 'soak: PASS\n' : 'soak: FAIL\n');
process.exit(ok ? 0 : 1);
