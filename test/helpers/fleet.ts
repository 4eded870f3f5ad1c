// A router fleet for tests: several `workflow-router` processes (bin/workflow-router.js, as a
// user runs them) sharing one Redis (standalone or Cluster) in front of simulated pods that run
// in one `vllm-sim --pods N` process (not in the test's process: a test that sends a thousand
// calls at once would starve in-process pods, and the routers' probes would time out). Each replica keeps its port across restarts, so a test can stop it
// (SIGTERM: router.close() flushes its statistics), kill it (SIGKILL) and start it again at the
// same URL. Every child is SIGKILLed when the test process exits, so a failing test leaves no
// router behind. Replicas probe their pods at the default interval (5 s): on a machine busy
// with a thousand calls, faster probes time out and take healthy pods out, which re-pins
// workflows and is not what these tests are about.

import { spawn, type ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { Cluster, Redis } from 'ioredis';
import type { RequestRecord } from '../../sim/server.ts';
import type { RedisClusterServers, RedisServer } from './redis.ts';
import { http, MODEL, NODE, REPO_ROOT, records, type HttpAnswer } from './router.ts';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** The test's environment without any WORKFLOW_ROUTER_* variable of the caller's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('WORKFLOW_ROUTER_')),
  );
}

export interface SimPods {
  urls: string[];
  /** The requests pod `i` recorded (its ring buffer holds the last 2,000). */
  records(i: number): Promise<RequestRecord[]>;
  /** Empties every pod's records (the KV caches stay warm). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** Runs `vllm-sim --pods n` (fast: 2% of real time) as its own process. */
export async function startSimProcess(n: number): Promise<SimPods> {
  const proc = spawn(
    NODE,
    ['bin/vllm-sim.js', '--port', '0', '--pods', String(n), '--time-scale', '0.02', '--log-level', 'error'],
    { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let output = '';
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vllm-sim did not start: ${output}`)), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const found = [...output.matchAll(/pod (\d+) listening on (http:\/\/\S+)/g)];
      if (found.length < n) return;
      clearTimeout(timer);
      resolve(found.sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => m[2] ?? ''));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vllm-sim exited (${code}): ${output}`));
    });
  });
  proc.stdout.resume();
  const url = (i: number): string => {
    const u = urls[i];
    if (u === undefined) throw new Error(`no pod ${i}`);
    return u;
  };
  return {
    urls,
    records: (i) => records(url(i)),
    clear: async () => {
      await Promise.all(urls.map((u) => http('DELETE', `${u}/sim/stats`)));
    },
    close: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited(proc);
      clearTimeout(timer);
    },
  };
}

/** Where the fleet keeps its state: one standalone Redis or the nodes of a Redis Cluster. */
export type FleetRedis = { url: string } | { clusterNodes: readonly { host: string; port: number }[] };

/** The `--redis-*` flags for a fleet's Redis. */
export function redisArgs(redis: FleetRedis, prefix: string): string[] {
  const target =
    'url' in redis
      ? ['--redis-url', redis.url]
      : ['--redis-cluster-nodes', redis.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')];
  return [...target, '--redis-prefix', prefix];
}

export interface RouterProcess {
  /** `http://127.0.0.1:<port>`: the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The OpenAI base URL (`url + '/v1'`). */
  readonly baseURL: string;
  /** The official client pointed at this replica, without retries. */
  readonly client: OpenAI;
  /** True between a start and the process's exit. */
  running(): boolean;
  /** What the process wrote (stdout and stderr), most recent last. */
  output(): string;
  /** Spawns the process again on its port; resolves once it prints `listening on`. */
  start(): Promise<void>;
  /** SIGTERM (graceful: the router closes and flushes its statistics); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a router process with `args` (besides host and port). The first start listens on a
 * port the OS picks (`--port 0`, read back from the `listening on` line, so no other process can
 * take it in between); restarts reuse that port.
 */
export async function startRouterProcess(args: readonly string[]): Promise<RouterProcess> {
  let child: ChildProcess | undefined;
  let log = '';
  const keep = (chunk: Buffer): void => {
    log += chunk.toString();
    if (log.length > 64_000) log = log.slice(-32_000);
  };
  /** One spawn on `port`; resolves with the URL it listens on. */
  const spawnOn = async (port: number): Promise<string> => {
    const proc = spawn(
      NODE,
      ['bin/workflow-router.js', '--host', '127.0.0.1', '--port', String(port), ...args],
      {
        cwd: REPO_ROOT,
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    children.add(proc);
    proc.once('exit', () => children.delete(proc));
    proc.stderr.on('data', keep);
    let stdout = '';
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Left running, the process would keep this test file alive after its tests fail.
        proc.kill('SIGKILL');
        reject(new Error(`router did not start in 30 s:\n${log}`));
      }, 30_000);
      proc.stdout.on('data', (chunk: Buffer) => {
        keep(chunk);
        stdout += chunk.toString();
        const m = /workflow-router: listening on (http:\/\/\S+)/.exec(stdout);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`router exited (${code ?? signal}) before listening:\n${log}`));
      });
    });
  };
  const url = await spawnOn(0);
  const port = Number(new URL(url).port);
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async (): Promise<void> => {
    if (running()) throw new Error(`${url} is running`);
    // The port was ours a moment ago; if something grabbed it meanwhile, wait for it to go.
    for (let attempt = 0; ; attempt++) {
      try {
        await spawnOn(port);
        return;
      } catch (error) {
        if (attempt >= 20 || !String(error).includes('EADDRINUSE')) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const stop = async (): Promise<number | null> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    proc.kill('SIGTERM');
    // A router that does not finish closing within 15 s is a bug the test should see, not hang on.
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited(proc);
    clearTimeout(timer);
    return proc.exitCode;
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited(proc);
  };
  return {
    url,
    port,
    baseURL: `${url}/v1`,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 }),
    running,
    output: () => log,
    start,
    stop,
    kill,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

export interface FleetOptions {
  /** Router processes (default 3). */
  replicas?: number;
  /** Simulated pods (default 3), in one vllm-sim process. */
  pods?: number;
  redis: FleetRedis;
  /** Key prefix, so tests sharing a Redis do not see each other (default `wr:`). */
  prefix?: string;
  /** More router flags (e.g. `--batching-preference 1`). */
  args?: readonly string[];
}

export interface Fleet {
  pods: SimPods;
  routers: RouterProcess[];
  /** The flags every replica runs with. */
  args: string[];
  /** `routers[i]`, asserting it exists. */
  router(i: number): RouterProcess;
  /** Index of a pod by the router's pod id (`pod-<i>`). */
  podIndex(podId: string | null | undefined): number;
  /** Stops every replica (SIGTERM) and pod. */
  close(): Promise<void>;
}

/** Starts a vllm-sim process and `replicas` router processes on one Redis. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const pods = await startSimProcess(options.pods ?? 3);
  const routers: RouterProcess[] = [];
  const args = [
    '--static-backends',
    pods.urls.join(','),
    '--static-models',
    MODEL,
    '--log-level',
    'error',
    ...redisArgs(options.redis, options.prefix ?? 'wr:'),
    ...(options.args ?? []),
  ];
  const close = async (): Promise<void> => {
    await Promise.all(routers.map((r) => r.stop()));
    await pods.close();
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.replicas ?? 3 }, () => startRouterProcess(args)),
    );
    for (const result of started) if (result.status === 'fulfilled') routers.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  } catch (error) {
    await close();
    throw error;
  }
  return {
    pods,
    routers,
    args,
    router: (i) => {
      const r = routers[i];
      if (!r) throw new Error(`no replica ${i}`);
      return r;
    },
    podIndex: (podId) => {
      const m = /^pod-(\d+)$/.exec(podId ?? '');
      if (!m) throw new Error(`not a router pod id: ${String(podId)}`);
      return Number(m[1]);
    },
    close,
  };
}

/** A client of the fleet's Redis for assertions (standalone or Cluster). */
export function adminClient(redis: RedisServer | RedisClusterServers): Redis | Cluster {
  return 'nodes' in redis ? new Cluster(redis.nodes) : new Redis(redis.url);
}

/** Polls `check` until it returns a value other than undefined, every 25 ms, up to `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error : new Error(JSON.stringify(error));
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET a JSON document from a replica. */
export function getJson<T>(router: RouterProcess, path: string): Promise<HttpAnswer<T>> {
  return http<T>('GET', `${router.url}${path}`);
}

/** A seeded PRNG (mulberry32): the same "random" replicas on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * An SSE reader over fetch: collects events as they arrive; `closed` resolves when the server
 * ends the stream (or the request fails), `stop()` aborts it.
 */
export interface SseReader {
  status: number;
  events: SseEvent[];
  closed: Promise<void>;
  stop(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const body = res.body;
  const closed = (async () => {
    if (!body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length > 0 || id !== undefined) events.push({ id, event, data: data.join('\n') });
        }
      }
    } catch {
      // Aborted, or the connection was cut (a router stopped): the stream is over.
    }
  })();
  return { status: res.status, events, closed, stop: () => abort.abort() };
}
