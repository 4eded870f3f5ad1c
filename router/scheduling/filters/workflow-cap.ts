/**
 * workflow-cap: a pool's `routing.maxWorkflowsPerPod`. Pods holding that many pinned workflows
 * take no new one, so the workflows spread before any pod is crowded; the workflow's own pin is
 * always kept (its calls are not new). Soft: when every pod is at the cap the set is returned
 * whole, since refusing a call is worse than one more workflow on a full pod. No cap: a no-op.
 */
import type { Filter, PodSnapshot, SchedulingRequest } from '../types.ts';

export const workflowCapFilter: Filter = {
  name: 'workflow-cap',
  filter(request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot[] {
    const cap = request.maxWorkflowsPerPod;
    if (cap === undefined) return [...pods];
    const kept: PodSnapshot[] = [];
    for (const pod of pods) if (pod.id === request.pinnedPod || pod.pinnedWorkflows < cap) kept.push(pod);
    return kept.length > 0 ? kept : [...pods];
  },
};
