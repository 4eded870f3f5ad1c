/** capacity: keeps the pods below their hard cap, inflight < maxInflight. Empties the set → 'all-saturated'. */
import type { Filter, PodSnapshot, SchedulingRequest } from '../types.ts';

export const capacityFilter: Filter = {
  name: 'capacity',
  filter(_request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot[] {
    const kept: PodSnapshot[] = [];
    for (const pod of pods) if (pod.inflight < pod.maxInflight) kept.push(pod);
    return kept;
  },
};
