// Pieces of the operator e2e suites: simulated vLLM pods on loopback addresses sharing one
// port (as pods of a pool share theirs), the Pod objects a kubelet would report for them,
// and operator and router processes started from bin/.
import type { KubeObject } from '../kube-api/server.ts';
import { startSimPod, type SimPod, type SimPodOptions } from '../../sim/server.ts';
import { spawnNode, type Child } from './processes.ts';

export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
/** The labels examples/k8s/vllmpool.yaml selects. */
export const POOL_LABELS = { app: 'vllm', model: 'llama-3-1-8b' };

/**
 * Starts a simulated pod on each host (127.0.0.x), all on one port that is free on every one
 * of them; `also` starts another on the same port later (a pod that joins).
 */
export async function startSimsOnLoopback(
  hosts: string[],
  options: SimPodOptions = {},
): Promise<{
  port: number;
  sims: Map<string, SimPod>;
  also(host: string): Promise<SimPod>;
  close(): Promise<void>;
}> {
  const sims = new Map<string, SimPod>();
  const start = (host: string, port: number, index: number): Promise<SimPod> =>
    startSimPod({ timeScale: 0.02, logLevel: 'error', ...options, host, port, index });
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      for (const [i, host] of hosts.entries()) sims.set(host, await start(host, port, i));
    } catch {
      await Promise.all([...sims.values()].map((s) => s.close()));
      sims.clear();
      continue;
    }
    return {
      port,
      sims,
      also: async (host) => {
        const sim = await start(host, port, sims.size);
        sims.set(host, sim);
        return sim;
      },
      close: async () => {
        await Promise.all([...sims.values()].map((s) => s.close()));
      },
    };
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

/** A vLLM Pod as the kubelet reports it: Running with an IP, Ready or not. */
export function vllmPod(name: string, ip: string, ready: boolean, namespace = 'default'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { ...POOL_LABELS } },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.10.0' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False' },
      ],
    },
  };
}

export interface OperatorProcess extends Child {
  identity: string;
}

/** Starts `workflow-operator` against a kubeconfig and a Redis; resolves once it runs. */
export async function startOperatorProcess(
  identity: string,
  kubeconfig: string,
  redisUrl: string,
  args: string[] = [],
): Promise<OperatorProcess> {
  const child = spawnNode(identity, 'bin/workflow-operator.js', [
    '--kubeconfig',
    kubeconfig,
    '--redis-url',
    redisUrl,
    '--identity',
    identity,
    '--metrics-host',
    '127.0.0.1',
    '--metrics-port',
    '0',
    '--status-interval',
    '0.5',
    ...args,
  ]);
  try {
    await child.waitFor(/workflow-operator: \S+ running/);
  } catch (error) {
    await child.kill();
    throw error;
  }
  return Object.assign(child, { identity });
}

export interface RouterProcess extends Child {
  url: string;
}

/** Starts `workflow-router --service-discovery k8s` on a free port; resolves once it listens. */
export async function startRouterProcess(
  name: string,
  redisUrl: string,
  args: string[] = [],
): Promise<RouterProcess> {
  const child = spawnNode(name, 'bin/workflow-router.js', [
    '--service-discovery',
    'k8s',
    '--redis-url',
    redisUrl,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'warn',
    ...args,
  ]);
  try {
    const match = await child.waitFor(/listening on (http:\/\/\S+)/);
    return Object.assign(child, { url: match[1] ?? '' });
  } catch (error) {
    await child.kill();
    throw error;
  }
}
