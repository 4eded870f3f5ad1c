/** model: keeps the pods that serve `request.model`. Empties the set → 'no-pods-for-model'. */
import type { Filter, PodSnapshot, SchedulingRequest } from '../types.ts';

export const modelFilter: Filter = {
  name: 'model',
  filter(request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot[] {
    const kept: PodSnapshot[] = [];
    for (const pod of pods) if (pod.models.includes(request.model)) kept.push(pod);
    return kept;
  },
};
