// Programmatic entry: start one simulated pod, or several on consecutive ports, in this
// process. Used by the CLI, the router's tests, the benchmarks and the e2e suite.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimApp } from './api.ts';
import { faultsSchema } from './faults.ts';
import type { Faults } from './faults.ts';
import { resolveSimOptions } from './options.ts';
import type { ResolvedSimOptions, SimOptions } from './options.ts';
import { PodRuntime } from './pod.ts';
import type { SimStats, SnapshotQuery } from './pod.ts';

export type { SimOptions, ResolvedSimOptions } from './options.ts';
export type { SimStats, SnapshotQuery } from './pod.ts';
export type { Faults } from './faults.ts';
export type { RequestRecord } from './stats.ts';

export interface SimPodOptions extends Partial<SimOptions> {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Any local address, e.g. 127.0.0.2; default 127.0.0.1. */
  host?: string;
  /** The pod's number in /sim/stats and logs; default 0. */
  index?: number;
}

export interface SimPod {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:9001 (OpenAI base is url + '/v1'). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly index: number;
  readonly options: ResolvedSimOptions;
  /** What GET /sim/stats answers. */
  stats(query?: SnapshotQuery): SimStats;
  /** Current faults (GET /sim/faults). */
  faults(): Faults;
  /** Replaces the faults (POST /sim/faults); `{}` clears. Throws on an invalid value. */
  setFaults(faults: Faults): Faults;
  /** DELETE /sim/stats: records, totals and metrics zeroed; the cache stays warm. */
  clearStats(): void;
  /** POST /sim/reset: a cold restart (statistics and the KV cache). */
  reset(): void;
  /** Stops listening, cuts every open connection and aborts requests in flight. */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    // A router opens thousands of connections at once under load: a deep accept queue.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Starts one simulated vLLM pod; resolves once it accepts connections. */
export async function startSimPod(options: SimPodOptions = {}): Promise<SimPod> {
  const { port = 0, host = DEFAULT_HOST, index = 0, ...simOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port ${port}`);
  const resolved = resolveSimOptions(simOptions);
  const pod = new PodRuntime(resolved, index);
  const server = createServer({ noDelay: true }, createSimApp(pod));
  let bound: number;
  try {
    bound = await listen(server, port, host);
  } catch (error) {
    await pod.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await pod.close();
    await closed;
  };

  return {
    url: formatUrl(host, bound),
    port: bound,
    host,
    index,
    options: resolved,
    stats: (query) => pod.snapshot(query),
    faults: () => pod.faults.current,
    setFaults: (faults) => pod.faults.set(faultsSchema.parse(faults)),
    clearStats: () => pod.clearStats(),
    reset: () => pod.reset(),
    close: () => (closing ??= close()),
  };
}

/**
 * Starts `n` independent pods. With a non-zero `port` they listen on port .. port+n-1;
 * with port 0 each gets a free port. If one fails to start, the others are closed.
 */
export async function startSimPods(n: number, options: SimPodOptions = {}): Promise<SimPod[]> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`invalid pod count ${n}`);
  const base = options.port ?? 0;
  if (base > 0 && base + n - 1 > 65535) throw new RangeError(`ports ${base}..${base + n - 1} exceed 65535`);
  const pods: SimPod[] = [];
  try {
    for (let i = 0; i < n; i++) {
      pods.push(
        await startSimPod({ ...options, port: base > 0 ? base + i : 0, index: (options.index ?? 0) + i }),
      );
    }
  } catch (error) {
    await Promise.all(pods.map((p) => p.close()));
    throw error;
  }
  return pods;
}
