// Small builders for scheduling tests: a pod and a request with neutral defaults.
import type { PodSnapshot, SchedulingRequest } from '../../router/scheduling/types.ts';

export function pod(id: string, fields: Partial<PodSnapshot> = {}): PodSnapshot {
  return {
    id,
    url: `http://${id}:8000`,
    models: ['m'],
    healthy: true,
    draining: false,
    inflight: 0,
    maxInflight: 16,
    inflightUncachedTokens: 0,
    running: 0,
    waiting: 0,
    kvUsage: 0,
    pinnedWorkflows: 0,
    ...fields,
  };
}

/** Pods `pod-0` … `pod-(n-1)`, all equal. */
export function pods(n: number, fields: Partial<PodSnapshot> = {}): PodSnapshot[] {
  return Array.from({ length: n }, (_, i) => pod(`pod-${i}`, fields));
}

export function request(fields: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return {
    model: 'm',
    workflowKey: undefined,
    sessionKey: undefined,
    pinnedPod: undefined,
    promptTokens: 1000,
    promptChunks: 0,
    prefixMatches: new Map(),
    sequence: 0,
    requestKey: 'req-1',
    ...fields,
  };
}

export function ids(list: readonly PodSnapshot[]): string[] {
  return list.map((p) => p.id);
}
