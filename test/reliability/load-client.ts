// The client side of the load suite, run as its own process (its file-descriptor limit raised
// by the parent): opens the idle keep-alive connections and the concurrent streams against one
// router and prints one JSON report line. Usage: load-client.ts <port> <idle> <streams> <together>

import http from 'node:http';
import { connect, type Socket } from 'node:net';

const [portArg, idleArg, streamsArg, togetherArg] = process.argv.slice(2);
const PORT = Number(portArg);
const IDLE = Number(idleArg);
const STREAMS = Number(streamsArg);
const TOGETHER = togetherArg === 'true';
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** The line this process prints, read by load.test.ts. */
export interface LoadReport {
  idle: {
    opened: number;
    firstOk: number;
    secondOk: number;
    errors: string[];
    heldMs: number;
    routerConnections: number;
  };
  streams: {
    ok: number;
    concurrent: number;
    errors: string[];
    rampMs: number;
    durationMs: number;
    routerConnections: number;
  };
  together: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One keep-alive connection that sends GET /healthz requests on demand. */
class IdleConnection {
  readonly socket: Socket;
  private buffer = '';
  private waiting: ((ok: boolean) => void) | undefined;

  constructor() {
    this.socket = connect({ host: '127.0.0.1', port: PORT });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buffer += d;
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(this.buffer.slice(0, end))?.[1] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const ok = this.buffer.startsWith('HTTP/1.1 200');
      this.buffer = this.buffer.slice(end + 4 + length);
      this.waiting?.(ok);
      this.waiting = undefined;
    });
    this.socket.on('error', () => this.waiting?.(false));
    this.socket.on('close', () => this.waiting?.(false));
  }

  connected(): Promise<boolean> {
    return new Promise((resolve) => {
      this.socket.once('connect', () => resolve(true));
      this.socket.once('error', () => resolve(false));
    });
  }

  get(): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve(false);
        return;
      }
      this.waiting = resolve;
      this.socket.write('GET /healthz HTTP/1.1\r\nHost: router\r\n\r\n');
    });
  }
}

async function inBatches<T>(n: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => make(i + j)))));
  }
  return out;
}

async function routerConnections(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${PORT}/metrics`);
  const text = await res.text();
  return Number(/^workflow_router_client_connections (\d+)/m.exec(text)?.[1] ?? -1);
}

interface StreamResult {
  ok: boolean;
  error: string | undefined;
  firstAt: number;
  endAt: number;
}

function stream(agent: http.Agent, i: number): Promise<StreamResult> {
  return new Promise((resolve) => {
    const body = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: `load stream ${i}` }],
      max_tokens: 60,
      stream: true,
    });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: PORT,
        method: 'POST',
        path: '/v1/chat/completions',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        let firstAt = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (firstAt === 0) firstAt = Date.now();
          text += chunk;
        });
        res.on('end', () => {
          const ok =
            res.statusCode === 200 && text.includes('data: [DONE]') && !text.includes('event: error');
          resolve({
            ok,
            error: ok ? undefined : `${res.statusCode}: ${text.slice(-200)}`,
            firstAt,
            endAt: Date.now(),
          });
        });
        res.on('error', (e) => resolve({ ok: false, error: e.message, firstAt, endAt: Date.now() }));
      },
    );
    req.on('error', (e) => resolve({ ok: false, error: e.message, firstAt: 0, endAt: Date.now() }));
    req.end(body);
  });
}

const report: LoadReport = {
  idle: { opened: 0, firstOk: 0, secondOk: 0, errors: [], heldMs: 0, routerConnections: 0 },
  streams: { ok: 0, concurrent: 0, errors: [], rampMs: 0, durationMs: 0, routerConnections: 0 },
  together: TOGETHER,
};

// Phase 1: idle keep-alive connections, each with one request, then held.
const idle = await inBatches(IDLE, 500, async () => {
  const c = new IdleConnection();
  if (!(await c.connected())) {
    report.idle.errors.push('connect failed');
    return c;
  }
  report.idle.opened += 1;
  if (await c.get()) report.idle.firstOk += 1;
  else report.idle.errors.push('first request failed');
  return c;
});
const heldSince = Date.now();

const closeIdle = async (): Promise<void> => {
  report.idle.heldMs = Date.now() - heldSince;
  const results = await inBatches(idle.length, 1000, (i) => idle[i]?.get() ?? Promise.resolve(false));
  report.idle.secondOk = results.filter(Boolean).length;
  if (report.idle.secondOk < results.length)
    report.idle.errors.push(`${results.length - report.idle.secondOk} idle connections lost`);
  for (const c of idle) c.socket.destroy();
};

await sleep(2000);
report.idle.routerConnections = await routerConnections();
if (!TOGETHER) {
  await closeIdle();
  await sleep(500);
}

// Phase 2: concurrent streams, each on its own connection.
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const started = Date.now();
const calls: Promise<StreamResult>[] = [];
for (let i = 0; i < STREAMS; i++) {
  calls.push(stream(agent, i));
  // Paced like a burst of real clients, not one SYN flood: 500 new connections every 100 ms.
  if (i % 500 === 499) await sleep(100);
}
let ended = 0;
for (const c of calls) void c.then(() => (ended += 1));
// The peak, as the router counts its client connections: every stream (and the idle ones, when
// held together) open at once, measured until the first stream ends.
const target = STREAMS + (TOGETHER ? IDLE : 0);
while (ended === 0 && Date.now() - started < 90_000) {
  await sleep(200);
  const open = await routerConnections();
  report.streams.routerConnections = Math.max(report.streams.routerConnections, open);
  if (open >= target) break;
}
const results = await Promise.all(calls);
report.streams.durationMs = Date.now() - started;
report.streams.rampMs = Math.max(...results.map((r) => r.firstAt)) - started;
report.streams.ok = results.filter((r) => r.ok).length;
const firstEnd = Math.min(...results.map((r) => r.endAt));
report.streams.concurrent = results.filter((r) => r.firstAt > 0 && r.firstAt <= firstEnd).length;
report.streams.errors = results
  .filter((r) => !r.ok)
  .slice(0, 10)
  .map((r) => r.error ?? '?');
if (TOGETHER) await closeIdle();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
