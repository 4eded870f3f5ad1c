// Starting and stopping the benchmark's child processes: the simulated pods (IPC-driven),
// the router under test and the minimal pass-through proxy (HTTP servers that print their URL).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage, PodsChildConfig, PodsRunReport } from './protocol.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Command = ParentMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface PodsHandle {
  urls: string[];
  models: string[];
  pid: number;
  reset(): Promise<void>;
  start(sampleMs: number, kvSampleMs: number): Promise<void>;
  collect(): Promise<PodsRunReport>;
  close(): Promise<void>;
}

/** Forks bench/procs/pods-child.ts and waits until its pods listen. */
export async function startPods(config: PodsChildConfig): Promise<PodsHandle> {
  const child = fork(fileURLToPath(new URL('./pods-child.ts', import.meta.url)), [], {
    env: { ...process.env, BENCH_PODS_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<{ urls: string[]; models: string[] }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`simulator child exited (${code}) before it was ready`)));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve({ urls: message.urls, models: message.models });
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error(`simulator child: ${message.error}`));
      }
    });
  });
  child.on('exit', () => {
    for (const w of pending.values()) w.reject(new Error('simulator child exited'));
    pending.clear();
  });
  const { urls, models } = await ready;
  const call = (command: Command): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ ...command, id } satisfies ParentMessage);
    });
  return {
    urls,
    models,
    pid: child.pid ?? 0,
    reset: async () => {
      await call({ cmd: 'reset' });
    },
    start: async (sampleMs, kvSampleMs) => {
      await call({ cmd: 'start', sampleMs, kvSampleMs });
    },
    collect: async () => (await call({ cmd: 'collect' })) as PodsRunReport,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call({ cmd: 'close' }).catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface ServerChild {
  url: string;
  pid: number;
  /** CPU seconds (user + system) the process has used so far; NaN where /proc is missing. */
  cpuSeconds(): number;
  close(): Promise<void>;
}

/** Runs `node <script> ...args` and waits for it to print `listening on <url>`. */
export async function startServerChild(
  script: string,
  args: readonly string[],
  options: { nodeArgs?: readonly string[]; label: string },
): Promise<ServerChild> {
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${options.label} did not start in 20 s\n${stderr}`)),
      20_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited (${code}) before listening\n${stderr}`));
    });
  });
  child.stdout?.resume();
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const CLOCK_TICKS = 100;

/** utime + stime of a process from /proc/<pid>/stat, in seconds (Linux); NaN elsewhere. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

export interface RouterChildOptions {
  logic: string;
  backends: readonly string[];
  models: readonly string[];
  sessionKey: string;
  healthCheckIntervalS: number;
  batchingPreference?: number;
  extraArgs?: readonly string[];
  nodeArgs?: readonly string[];
}

/** The router under test, as a user runs it: bin/workflow-router.js with flags. */
export function startRouterChild(o: RouterChildOptions): Promise<ServerChild> {
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--routing-logic',
    o.logic,
    '--static-backends',
    o.backends.join(','),
    '--static-models',
    o.models.join(','),
    '--session-key',
    o.sessionKey,
    '--health-check-interval',
    String(o.healthCheckIntervalS),
    '--log-level',
    'error',
    ...(o.batchingPreference !== undefined ? ['--batching-preference', String(o.batchingPreference)] : []),
    ...(o.extraArgs ?? []),
  ];
  return startServerChild('bin/workflow-router.js', args, {
    label: `router (${o.logic})`,
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
  });
}

/** The minimal Node pass-through proxy (bench/procs/proxy-child.ts): the floor of any Node proxy. */
export function startProxyChild(
  backends: readonly string[],
  nodeArgs?: readonly string[],
): Promise<ServerChild> {
  return startServerChild('bench/procs/proxy-child.ts', ['--backends', backends.join(',')], {
    label: 'pass-through proxy',
    ...(nodeArgs ? { nodeArgs } : {}),
  });
}
