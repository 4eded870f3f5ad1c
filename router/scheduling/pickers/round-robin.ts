/** round-robin: candidates ordered by id, pick number `sequence mod n`; ignores scores. */
import type { Picker, PodSnapshot, SchedulingRequest } from '../types.ts';

function byId(a: PodSnapshot, b: PodSnapshot): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export const roundRobinPicker: Picker = {
  name: 'round-robin',
  pick(request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot | undefined {
    const n = pods.length;
    if (n === 0) return undefined;
    const seq = Number.isFinite(request.sequence) ? Math.floor(request.sequence) : 0;
    const index = ((seq % n) + n) % n;
    if (n === 1) return pods[0];
    // Ordering by id keeps the rotation stable when the pod list arrives in another order.
    return [...pods].sort(byId)[index];
  },
};
