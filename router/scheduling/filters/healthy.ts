/** healthy: keeps the pods that are healthy and not draining. Empties the set → 'no-healthy-pods'. */
import type { Filter, PodSnapshot, SchedulingRequest } from '../types.ts';

export const healthyFilter: Filter = {
  name: 'healthy',
  filter(_request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot[] {
    const kept: PodSnapshot[] = [];
    for (const pod of pods) if (pod.healthy && !pod.draining) kept.push(pod);
    return kept;
  },
};
